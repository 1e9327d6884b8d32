"""Resolution reduction R (skd eq. 1-4: students see R(I), R(T(I)), R(Y)) and the on-disk low-res cache.

``reduce`` is R: area interpolation (``cv2.INTER_AREA``) to ``size = (H, W)``. Labels follow R with
one documented twist each: masks are reduced then thresholded at 128 (stay binary 0/255); fixation
maps are reduced as point sets (a low-res pixel is 1 if any fixation falls in its footprint), since
area-averaging single-pixel fixations would erase them; density maps are reduced by area and stored
as uint8 scaled to 0..255 (max 255 per frame is not re-imposed).

Cache layout (one folder per video, plain ``.npy`` files so they can be memory-mapped)::

    <root>/<dataset-folder-name>-<hash of dataset root>/<H>x<W>/
        lowres.json                   index: size, task, dataset root, videos, labels
        <video>/meta.json             key = hash(source paths + sizes + mtimes, size, version)
        <video>/frames.npy            (T, H, W, 3) uint8 RGB
        <video>/mask.npy, has_mask.npy            (T, H, W) uint8 0/255, (T,) bool
        <video>/density.npy, has_density.npy      (T, H, W) uint8 0..255
        <video>/fixation.npy, has_fixation.npy    (T, H, W) uint8 0/1

A video folder is written with ``atomic_dir`` and reused while its key matches.
Unlabeled frames hold zeros in the label arrays and ``False`` in ``has_<label>``.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..atomic import atomic_dir, write_json
from ..locks import locked
from .imageio import DatasetError, read_gray, read_rgb, to_binary_mask, to_density, to_fixation
from .layouts import LABEL_KINDS, VideoDataset, aspect_matches

__all__ = ["reduce", "reduce_mask", "reduce_fixation", "cache_lowres", "LowResCache"]

CACHE_VERSION = 1


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"size must be (H, W) with two positive ints, got {size!r}") from exc
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be (H, W) with two positive ints, got {size!r}")
    return h, w


def reduce(img: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Resolution reduction R of skd (eq. 1-4): area interpolation of an HxW or HxWxC array
    (uint8 or float) to ``size = (H, W)``. Returns the input dtype; bool is treated as uint8."""
    h, w = _check_size(size)
    a = np.asarray(img)
    if a.ndim not in (2, 3):
        raise ValueError(f"reduce expects an HxW or HxWxC array, got shape {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    if a.shape[:2] == (h, w):
        return a.copy()
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.ndim == 3 and a.shape[2] > 4:
        return np.stack([cv2.resize(np.ascontiguousarray(a[..., c]), (w, h), interpolation=cv2.INTER_AREA)
                         for c in range(a.shape[2])], axis=2)
    out = cv2.resize(np.ascontiguousarray(a), (w, h), interpolation=cv2.INTER_AREA)
    if a.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def reduce_mask(mask: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """R for a binary 0/255 mask: area reduction then threshold at 128 -> uint8 {0, 255}."""
    return np.where(reduce(mask, size) >= 128, np.uint8(255), np.uint8(0))


def reduce_fixation(fix: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """R for a binary fixation map: each fixation pixel (y, x) maps to (y*h//H, x*w//W) -> uint8 {0, 1}."""
    h, w = _check_size(size)
    H, W = fix.shape[:2]
    ys, xs = np.nonzero(fix)
    out = np.zeros((h, w), np.uint8)
    out[(ys * h) // H, (xs * w) // W] = 1
    return out


# ----------------------------------------------------------------------------- cache

def _video_key(video, size: tuple[int, int], kinds: Sequence[str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([CACHE_VERSION, list(size), list(kinds)]).encode())
    groups = [("frames", video.frames)] + [(k, video.label_paths(k) or []) for k in LABEL_KINDS]
    for tag, paths in groups:
        h.update(tag.encode())
        for p in paths:
            if p is None:
                h.update(b"-")
                continue
            try:
                st = os.stat(p)
            except OSError as exc:
                raise DatasetError(f"cannot stat source file {p}: {exc}") from exc
            h.update(f"{os.fspath(p)}|{st.st_size}|{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _safe(name: str) -> str:
    return name.replace("/", "__").replace("\\", "__")


def _process_frame(video, i: int, size, ref_hw, kinds) -> dict[str, np.ndarray | None]:
    img = read_rgb(video.frames[i])
    if img.shape[:2] != ref_hw:
        raise DatasetError(f"frame {video.frames[i]} is {img.shape[1]}x{img.shape[0]} but frame "
                           f"{video.frames[0].name} of video {video.name!r} is {ref_hw[1]}x{ref_hw[0]}; "
                           "expected all frames of a video to have one size")
    out: dict[str, np.ndarray | None] = {"frames": reduce(img, size)}
    for kind in kinds:
        p = (video.label_paths(kind) or [None] * len(video))[i]
        if p is None:
            out[kind] = None
            continue
        raw = read_gray(p)
        out[f"{kind}_any"] = bool(raw.any())
        if raw.shape[:2] != ref_hw and not aspect_matches(ref_hw, raw.shape[:2]):
            raise DatasetError(f"{kind} {p} is {raw.shape[1]}x{raw.shape[0]} but its frame is "
                               f"{ref_hw[1]}x{ref_hw[0]}; expected the same size or aspect ratio")
        if kind == "mask":
            out[kind] = reduce_mask(to_binary_mask(raw, p), size)
        elif kind == "fixation":
            out[kind] = reduce_fixation(to_fixation(raw), size)
        else:
            d = reduce(to_density(raw, p), size)
            out[kind] = np.clip(d * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def _check_not_empty(video, rows: Sequence[dict], kinds: Sequence[str]) -> None:
    """Refuse a video whose fixation or density maps are all zero (empty labels would train and score
    nothing), naming its first label file. All-zero masks are allowed: a frame may hold no salient object."""
    for kind in kinds:
        if kind == "mask":
            continue
        present = [r for r in rows if r.get(kind) is not None]
        if present and not any(r[f"{kind}_any"] for r in present):
            first = next(p for p in video.label_paths(kind) if p is not None)
            raise DatasetError(f"every {kind} map of video {video.name!r} is all zero (e.g. {first}): the labels are "
                               f"empty; check how they were exported, or remove the video")


def _build_video(video, size, kinds, dest: Path, key: str, workers: int) -> None:
    if len(video) == 0:
        raise DatasetError(f"video {video.name!r} has no frames")
    ref_hw = read_rgb(video.frames[0]).shape[:2]
    fn = lambda i: _process_frame(video, i, size, ref_hw, kinds)  # noqa: E731
    if workers > 1:
        with ThreadPoolExecutor(workers) as ex:
            rows = list(ex.map(fn, range(len(video))))
    else:
        rows = [fn(i) for i in range(len(video))]
    _check_not_empty(video, rows, kinds)
    h, w = size
    with atomic_dir(dest) as tmp:
        np.save(tmp / "frames.npy", np.stack([r["frames"] for r in rows]))
        for kind in kinds:
            has = np.array([r[kind] is not None for r in rows], bool)
            arr = np.zeros((len(rows), h, w), np.uint8)
            for t, r in enumerate(rows):
                if r[kind] is not None:
                    arr[t] = r[kind]
            np.save(tmp / f"{kind}.npy", arr)
            np.save(tmp / f"has_{kind}.npy", has)
        (tmp / "meta.json").write_text(json.dumps({"name": video.name, "key": key, "n_frames": len(video),
                                                   "labels": list(kinds), "size": [h, w]}, indent=1))


def cache_root_for(dataset: VideoDataset, size: Sequence[int], root: str | Path) -> Path:
    """The folder ``cache_lowres`` uses for ``dataset`` at ``size`` under ``root``."""
    h, w = _check_size(size)
    tag = hashlib.sha256(f"{dataset.root}|{dataset.split}".encode()).hexdigest()[:10]
    return Path(root) / f"{dataset.root.name}-{tag}" / f"{h}x{w}"


def cache_lowres(dataset: VideoDataset, size: Sequence[int], root: str | Path, *,
                 progress: bool = True, workers: int = 2) -> "LowResCache":
    """Reduce every frame and label of ``dataset`` to ``size = (H, W)`` with R and cache it under ``root``.

    Each video is (re)computed only when its key (source paths + sizes + mtimes + size) changed.
    ``workers`` threads decode images in parallel (OpenCV releases the GIL). Processes that build the same
    cache take turns (a lock beside it).
    """
    size = _check_size(size)
    if len(dataset) == 0:
        raise DatasetError(f"dataset {dataset.root} has no videos to cache")
    base = cache_root_for(dataset, size, root)
    base.parent.mkdir(parents=True, exist_ok=True)
    # one writer at a time: two processes (salkd.workers) that need the same cache would otherwise rebuild the
    # same video folder and collide in atomic_dir; the second waits, then finds every video fresh
    with locked(base, wait=True, what="low-res cache"):
        return _cache_lowres_locked(dataset, size, base, progress, workers)


def _cache_lowres_locked(dataset: VideoDataset, size: tuple[int, int], base: Path, progress: bool,
                         workers: int) -> "LowResCache":
    from tqdm.auto import tqdm

    kinds = [k for k in LABEL_KINDS if any(v.label_paths(k) is not None for v in dataset)]
    entries, stale = [], []
    for video in dataset.videos:
        key = _video_key(video, size, kinds)
        dest = base / _safe(video.name)
        meta = dest / "meta.json"
        fresh = False
        if meta.is_file():
            try:
                fresh = json.loads(meta.read_text()).get("key") == key
            except (OSError, json.JSONDecodeError):
                fresh = False
        if not fresh:
            stale.append((video, dest, key))
        entries.append({"name": video.name, "dir": dest.name, "key": key})
    # a progress bar only for the videos that are (re)computed (none on a cache hit), shown only when
    # the work takes more than a second
    for video, dest, key in tqdm(stale, desc=f"low-res {size[0]}x{size[1]}", disable=not progress or not stale,
                                 unit="video", delay=1.0):
        _build_video(video, size, kinds, dest, key, max(1, int(workers)))
    # merge with the index of earlier calls (e.g. a subset of the same dataset cached before)
    merged = {}
    try:
        old = json.loads((base / "lowres.json").read_text())
        if old.get("version") == CACHE_VERSION and old.get("labels") == kinds:
            merged = {e["name"]: e for e in old.get("videos", []) if (base / e["dir"] / "meta.json").is_file()}
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        merged = {}
    merged.update({e["name"]: e for e in entries})
    write_json(base / "lowres.json", {
        "version": CACHE_VERSION, "size": list(size), "task": dataset.task, "layout": dataset.layout,
        "dataset_root": str(dataset.root), "split": dataset.split, "labels": kinds,
        "videos": list(merged.values())})
    return LowResCache(base, videos=[e["name"] for e in entries])


class LowResCache:
    """A cached low-resolution copy of a dataset (see module docstring for the files).

    ``video(name)`` returns a dict ``frames``, ``<label>``, ``has_<label>`` of memory-mapped arrays.
    """

    def __init__(self, path: str | Path, videos: Sequence[str] | None = None):
        """Open the cache folder ``path``; ``videos`` restricts it to those names (default: all)."""
        self.path = Path(path)
        index = self.path / "lowres.json"
        if not index.is_file():
            raise DatasetError(f"{index} not found: not a low-res cache folder (run cache_lowres first)")
        self._index = json.loads(index.read_text())
        self.size: tuple[int, int] = tuple(self._index["size"])  # type: ignore[assignment]
        self.task: str = self._index["task"]
        self.labels: list[str] = list(self._index["labels"])
        self.dataset_root = Path(self._index["dataset_root"])
        self._dirs = {e["name"]: self.path / e["dir"] for e in self._index["videos"]}
        if videos is None:
            self.videos: list[str] = [e["name"] for e in self._index["videos"]]
        else:
            missing = [v for v in videos if v not in self._dirs]
            if missing:
                raise DatasetError(f"videos {missing[:5]} are not in low-res cache {self.path}")
            self.videos = list(videos)
            self._dirs = {v: self._dirs[v] for v in self.videos}
        self._loaded: dict[str, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.videos)

    def __contains__(self, name: str) -> bool:
        return name in self._dirs

    def video(self, name: str) -> dict[str, np.ndarray]:
        """Arrays of video ``name``: ``frames`` (T,H,W,3) uint8 and per label ``<label>``, ``has_<label>``."""
        if name not in self._dirs:
            raise KeyError(f"video {name!r} is not in low-res cache {self.path}")
        if name not in self._loaded:
            d = self._dirs[name]
            arrs = {"frames": np.load(d / "frames.npy", mmap_mode="r")}
            for k in self.labels:
                arrs[k] = np.load(d / f"{k}.npy", mmap_mode="r")
                arrs[f"has_{k}"] = np.load(d / f"has_{k}.npy")
            self._loaded[name] = arrs
        return self._loaded[name]

    def n_frames(self, name: str) -> int:
        """Number of frames of video ``name``."""
        return int(self.video(name)["frames"].shape[0])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_loaded"] = {}
        return state

    def __repr__(self) -> str:
        return f"LowResCache({str(self.path)!r}, size={self.size}, task={self.task!r}, videos={len(self)})"
