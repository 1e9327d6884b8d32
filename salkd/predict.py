"""``salkd predict``: run a trained student on a real video file or a frame folder.

Frames are read with OpenCV (a video file) or from a folder of images, reduced with R (area
interpolation) to the student's resolution, run in batches, and the saliency maps are upsampled
back to the frame size. Writes the maps as PNG files and an overlay video (JET colour map over
the frame), and reports the measured frames/s of the network alone and of the whole loop.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import torch

from salkd.atomic import atomic_dir, atomic_path, remove_stale_file_temps, remove_stale_temps, write_bytes

__all__ = ["predict_video", "iter_frames"]

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
#: overlay video suffixes the mp4v writer handles
_VIDEO_EXT = {".mp4", ".m4v", ".mov", ".avi"}
#: the files predict writes into its maps folder
_MAP_NAME = re.compile(r"\d{5}\.png")


def iter_frames(source: str | os.PathLike) -> tuple[Iterator[np.ndarray], int, float]:
    """(RGB uint8 frames, frame count, fps) of a video file or a folder of images (sorted by name)."""
    src = Path(source)
    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.suffix.lower() in _IMAGE_EXT)
        if not files:
            sub = src / "frames"
            if sub.is_dir():
                return iter_frames(sub)
            raise FileNotFoundError(f"{src} holds no image files ({', '.join(sorted(_IMAGE_EXT))})")

        def gen() -> Iterator[np.ndarray]:
            for f in files:
                img = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if img is None:
                    raise ValueError(f"{f} could not be decoded as an image (corrupt or unsupported)")
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

        return gen(), len(files), 30.0
    if not src.is_file():
        raise FileNotFoundError(f"{src} is neither a video file nor a folder of frames")
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise ValueError(f"OpenCV could not open {src} as a video")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0

    def vgen() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()

    return vgen(), n, fps


def predict_video(source: str | os.PathLike, run: str | os.PathLike, out: str | os.PathLike, *,
                  res: int | None = None, batch_size: int = 32, device: str = "auto", maps_dir: str | None = None,
                  progress: bool = True, allow_unfinished: bool = False) -> dict[str, Any]:
    """Run the model of ``run`` over ``source``; write the overlay video ``out`` and the maps.

    ``res`` defaults to the run's training resolution. Maps go to ``maps_dir`` (default: a folder
    next to ``out`` named after it); each call replaces that folder whole, so it only ever holds the
    maps of one video. ``out`` may not be the source (nor the maps folder hold it). An unfinished
    training run is refused unless ``allow_unfinished``. Returns frame count, net and end-to-end
    frames/s, paths.
    """
    from tqdm.auto import tqdm

    from salkd.device import resolve_device
    from salkd.evaluate import pair_index  # noqa: F401  (documented pairing convention)
    from salkd.models import load_for_inference
    from salkd.sizes import as_size

    from salkd.runs import require_finished

    _check_options(res, batch_size)
    out = Path(out)
    maps_path = Path(maps_dir) if maps_dir else out.with_suffix("").with_name(out.stem + "_maps")
    check_outputs(source, out, maps_path)
    run = Path(run)
    require_finished(run, allow_unfinished)
    model, _, size = load_for_inference(run)
    if res is not None:
        size = as_size(int(res) if isinstance(res, float) else res)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    kind = getattr(model, "input_kind", "frame")
    if kind == "flow":
        raise ValueError(f"{run} holds a flow model (a temporal teacher); predict runs students and frame/pair models")
    frames_it, n, fps = iter_frames(source)
    frames = list(tqdm(frames_it, total=n or None, desc="read", disable=not progress, unit="frame"))
    if not frames:
        raise ValueError(f"{source} has no frames")
    small = np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA) for f in frames])
    x_all = torch.from_numpy(small).permute(0, 3, 1, 2).float().div_(255.0)
    t_net = 0.0
    t0 = time.perf_counter()
    maps = []
    with torch.no_grad():
        for s in tqdm(range(0, len(frames), batch_size), desc="predict", disable=not progress, unit="batch"):
            idx = list(range(s, min(s + batch_size, len(frames))))
            x = x_all[idx].to(dev)
            t1 = time.perf_counter()
            if kind == "pair":
                nxt = [pair_index(i, len(frames)) for i in idx]
                y = model(x, x_all[nxt].to(dev))
            else:
                y = model(x)
            if isinstance(y, tuple):
                y = y[0]
            y = torch.sigmoid(y.float())[:, 0].cpu().numpy()
            t_net += time.perf_counter() - t1
            maps.extend(y)
    _write_outputs(frames, maps, out, maps_path, fps)
    total = time.perf_counter() - t0
    report = {"frames": len(frames), "res": list(size), "net_fps": len(frames) / max(t_net, 1e-9),
              "end_to_end_fps": len(frames) / max(total, 1e-9), "video": str(out), "maps": str(maps_path),
              "device": str(dev)}
    return report


def _check_options(res: Any, batch_size: Any) -> None:
    """Refuse a non-positive resolution or batch size before any work, naming the option."""
    sizes = res if isinstance(res, (tuple, list)) else [res]
    if res is not None and not all(isinstance(v, (int, float)) and int(v) == v and v >= 1 for v in sizes):
        raise ValueError(f"--res / res must be a positive integer (or a pair), got {res!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"--batch / batch_size must be a positive integer, got {batch_size!r}")


def _same_path(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name the same file or folder (symlinks and hard links resolved)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or lies under it (after resolving symlinks)."""
    p, f = os.path.realpath(path), os.path.realpath(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def check_outputs(source: str | os.PathLike, out: Path, maps_path: Path) -> None:
    """Refuse outputs that would lose data or fail late, before any work: an overlay ``out`` that is the
    source, a folder or not a video name; a maps folder that holds the source or files predict did not write."""
    src = Path(source)
    if out.suffix.lower() not in _VIDEO_EXT:
        raise ValueError(f"--out {out}: the overlay video needs a video suffix ({', '.join(sorted(_VIDEO_EXT))})")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the overlay video's file name, e.g. {out / 'overlay.mp4'}")
    parent = next(p for p in Path(os.path.abspath(out)).parents if p.exists())
    if not parent.is_dir():
        raise ValueError(f"--out {out}: {parent} is a file, not a folder; choose another --out")
    if _same_path(out, src):
        raise ValueError(f"--out {out} is the input {src}: predict would overwrite its own source; choose another --out")
    if _inside(src, maps_path):
        raise ValueError(f"the maps folder {maps_path} of --out {out} holds the input {src}; choose another --out")
    if maps_path.exists():
        foreign = [p.name for p in maps_path.iterdir()] if maps_path.is_dir() else [maps_path.name]
        foreign = [n for n in foreign if not _MAP_NAME.fullmatch(n)]
        if foreign:
            raise ValueError(f"the maps folder {maps_path} holds files predict did not write ({', '.join(sorted(foreign)[:3])}"
                             f"{' ...' if len(foreign) > 3 else ''}); predict replaces that folder whole: move them "
                             f"or choose another --out")


def _write_outputs(frames: list[np.ndarray], maps: list[np.ndarray], out: Path, maps_path: Path, fps: float) -> None:
    """Write the overlay video and a new maps folder, each atomically: the maps folder of an earlier call
    is replaced whole (never mixed with this video's maps), and a failed predict leaves neither behind.
    Leftover temporary files of killed earlier calls are removed first."""
    remove_stale_file_temps(out)
    remove_stale_temps(maps_path)
    with atomic_dir(maps_path) as tmp_maps:
        _write_video_and_maps(frames, maps, out, tmp_maps, fps, shown=maps_path)


def _imwrite(path: Path, image: np.ndarray, target: Path) -> None:
    """Encode ``image`` as PNG in memory, then write it with Python's file API: a failure (a full disk, no
    permission) is an OSError naming ``target``, with no message of libpng on stderr."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"OpenCV could not encode the map {target} as PNG")
    write_bytes(path, buf.tobytes(), shown=target)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence messages written straight to file descriptor 2 (FFmpeg's, while probing a broken video)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _check_video(path: Path, out: Path, frames: int) -> None:
    """Raise an OSError naming ``out`` unless ``path`` opens as a video of ``frames`` frames: OpenCV's
    writer reports no error, and a full disk leaves a truncated file."""
    with _quiet_stderr():
        cap = cv2.VideoCapture(str(path))
        got = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        cap.release()
    if got != frames:
        raise _write_error(out, f"the video writer wrote {got} of {frames} frames (disk full or not writable?)")


def _write_error(out: Path, reason: str) -> OSError:
    """ENOSPC naming ``out`` when its disk is (nearly) full, else EIO with ``reason``."""
    st = os.statvfs(out.parent)
    if st.f_bavail * st.f_frsize < 1 << 20:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))
    return OSError(errno.EIO, reason, str(out))


def _write_video_and_maps(frames: list[np.ndarray], maps: list[np.ndarray], out: Path, maps_path: Path,
                          fps: float, shown: Path | None = None) -> None:
    """The JET overlay video ``out`` and the maps ``maps_path/00000.png ...`` at the frames' size (errors
    name the maps as in ``shown``, the folder ``maps_path`` becomes)."""
    H, W = frames[0].shape[:2]
    with atomic_path(out) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
        if not writer.isOpened():
            raise _write_error(out, "could not open an OpenCV video writer there (mp4v codec)")
        for i, (f, m) in enumerate(zip(frames, maps)):
            big = cv2.resize(m, (W, H), interpolation=cv2.INTER_LINEAR)
            u8 = np.clip(big * 255 + 0.5, 0, 255).astype(np.uint8)
            _imwrite(maps_path / f"{i:05d}.png", u8, (shown or maps_path) / f"{i:05d}.png")
            heat = cv2.applyColorMap(u8, cv2.COLORMAP_JET)
            overlay = cv2.addWeighted(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), 0.55, heat, 0.45, 0)
            writer.write(overlay)
        writer.release()
        _check_video(tmp, out, len(frames))
