"""``salkd predict``: run a trained student on a real video file or a frame folder.

Frames are read with OpenCV (a video file) or from a folder of images, reduced with R (area
interpolation) to the student's resolution, run in batches, and the saliency maps are upsampled
back to the frame size. Writes the maps as PNG files and an overlay video (JET colour map over
the frame), and reports the measured frames/s of the network alone and of the whole loop.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import torch

from salkd.atomic import atomic_path

__all__ = ["predict_video", "iter_frames"]

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


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
                  progress: bool = True) -> dict[str, Any]:
    """Run the model of ``run`` over ``source``; write the overlay video ``out`` and the maps.

    ``res`` defaults to the run's training resolution. Maps go to ``maps_dir`` (default: a folder
    next to ``out`` named after it). Returns frame count, net and end-to-end frames/s, paths.
    """
    from tqdm.auto import tqdm

    from salkd.device import resolve_device
    from salkd.evaluate import pair_index  # noqa: F401  (documented pairing convention)
    from salkd.models import load_for_inference
    from salkd.sizes import as_size

    _check_options(res, batch_size)
    run = Path(run)
    model, _, size = load_for_inference(run)
    if res is not None:
        size = as_size(int(res) if isinstance(res, float) else res)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    kind = getattr(model, "input_kind", "frame")
    if kind == "flow":
        raise ValueError(f"{run} holds a flow model (a temporal teacher); predict runs students and frame/pair models")
    frames_it, n, fps = iter_frames(source)
    out = Path(out)
    maps_path = Path(maps_dir) if maps_dir else out.with_suffix("").with_name(out.stem + "_maps")
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


def _write_outputs(frames: list[np.ndarray], maps: list[np.ndarray], out: Path, maps_path: Path, fps: float) -> None:
    """Write the overlay video (atomically) and one PNG map per frame; on failure remove a maps
    folder made here, so a failed predict leaves no empty ``*_maps/`` behind."""
    created = not maps_path.exists()
    maps_path.mkdir(parents=True, exist_ok=True)
    try:
        _write_video_and_maps(frames, maps, out, maps_path, fps)
    except BaseException:
        if created:
            shutil.rmtree(maps_path, ignore_errors=True)
        raise


def _write_video_and_maps(frames: list[np.ndarray], maps: list[np.ndarray], out: Path, maps_path: Path,
                          fps: float) -> None:
    """The JET overlay video ``out`` and the maps ``maps_path/00000.png ...`` at the frames' size."""
    H, W = frames[0].shape[:2]
    with atomic_path(out) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
        if not writer.isOpened():
            raise RuntimeError(f"OpenCV could not open a video writer for {out} (mp4v codec)")
        for i, (f, m) in enumerate(zip(frames, maps)):
            big = cv2.resize(m, (W, H), interpolation=cv2.INTER_LINEAR)
            u8 = np.clip(big * 255 + 0.5, 0, 255).astype(np.uint8)
            with atomic_path(maps_path / f"{i:05d}.png") as mp:
                cv2.imwrite(str(mp), u8)
            heat = cv2.applyColorMap(u8, cv2.COLORMAP_JET)
            overlay = cv2.addWeighted(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), 0.55, heat, 0.45, 0)
            writer.write(overlay)
        writer.release()
