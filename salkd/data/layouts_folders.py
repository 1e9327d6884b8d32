"""Layout detection for video folders (``toolkit``, ``dhf1k``, ``generic``, ``frames``) at depth 0..3."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

from .imageio import DatasetError, is_image
from .videos import _ATTR, Video, VideoDataset, _align, _images, _natural_key, _task_of

__all__ = ["FRAME_DIRS", "MASK_DIRS", "DENSITY_DIRS", "FIXATION_DIRS"]

FRAME_DIRS = {"Imgs": "toolkit", "images": "dhf1k", "frames": "generic"}
MASK_DIRS = ("GT_object", "GT", "masks", "gt", "Masks")
DENSITY_DIRS = ("maps",)
FIXATION_DIRS = ("fixation", "fixations")
_MAX_DEPTH = 3


def _first_dir(folder: Path, names: Sequence[str]) -> Path | None:
    for n in names:
        d = folder / n
        if d.is_dir():
            return d
    return None


def _label_dir(d: Path | None) -> Path | None:
    """A label folder, descending into ``<d>/maps`` when ``d`` holds no images itself."""
    if d is None:
        return None
    if not any(is_image(p) for p in d.iterdir()) and (d / "maps").is_dir():
        return d / "maps"
    return d


def _video_from_dir(folder: Path, name: str) -> tuple[Video, str] | None:
    frame_dir = None
    style = None
    for n, s in FRAME_DIRS.items():
        if (folder / n).is_dir():
            frame_dir, style = folder / n, s
            break
    if frame_dir is None:
        return None
    frames = _images(frame_dir)
    if not frames:
        raise DatasetError(f"video folder {frame_dir} holds no images "
                           f"(expected frames with extensions {', '.join(('.jpg', '.png', '.bmp'))})")
    v = Video(name=name, frames=frames)
    labels = {
        "mask": _first_dir(folder, MASK_DIRS),
        "density": _label_dir(_first_dir(folder, DENSITY_DIRS)),
        "fixation": _label_dir(_first_dir(folder, FIXATION_DIRS)),
    }
    for kind, d in labels.items():
        if d is None:
            continue
        files = _images(d)
        if not files:
            warnings.warn(f"label folder {d} is empty; video {name!r} has no {kind} labels", stacklevel=3)
            continue
        setattr(v, _ATTR[kind], _align(frames, files, d))
    if (folder / "fixation_points.csv").is_file():
        v.points_csv = folder / "fixation_points.csv"
    if not any(getattr(v, a) is not None for a in _ATTR.values()):
        style = "frames"
    return v, style


def _walk_videos(root: Path, depth: int, prefix: str, out: list[tuple[Video, str]]) -> None:
    try:
        children = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                          key=_natural_key)
    except OSError as exc:
        raise DatasetError(f"cannot list folder {root}: {exc}") from exc
    for child in children:
        name = f"{prefix}{child.name}"
        found = _video_from_dir(child, name)
        if found is not None:
            out.append(found)
        elif depth < _MAX_DEPTH:
            _walk_videos(child, depth + 1, name + "/", out)

def _open_video_folders(root: Path) -> VideoDataset | None:
    found: list[tuple[Video, str]] = []
    direct = _video_from_dir(root, root.name)
    if direct is not None:
        found.append(direct)
    else:
        _walk_videos(root, 1, "", found)
    if not found:
        return None
    videos = [v for v, _ in found]
    task = _task_of(videos, root)
    styles = sorted({s for _, s in found if s != "frames"} or {"frames"})
    return VideoDataset(root, "+".join(styles), task, videos)
