"""``Video`` and ``VideoDataset`` (what ``open_dataset`` returns), with file listing and label alignment."""
from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .imageio import (
    DatasetError,
    image_size,
    is_image,
    read_gray,
    read_rgb,
    to_binary_mask,
    to_density,
    to_fixation,
)

__all__ = ["Video", "VideoDataset", "LABEL_KINDS", "aspect_matches", "source_video"]

LABEL_KINDS = ("mask", "fixation", "density")
_ATTR = {"mask": "masks", "fixation": "fixations", "density": "density"}


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)]


def _images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and is_image(p)), key=_natural_key)


def _trailing_int(stem: str) -> int | None:
    m = re.search(r"(\d+)$", stem)
    return int(m.group(1)) if m else None


def aspect_matches(frame_hw: tuple[int, int], label_hw: tuple[int, int]) -> bool:
    """True if two (H, W) sizes have the same aspect ratio up to one pixel of rounding."""
    (hf, wf), (hl, wl) = frame_hw, label_hw
    return abs(wl * hf - wf * hl) <= max(hf, hl)


def _align(frames: list[Path], labels: list[Path], folder: Path) -> list[Path | None]:
    """Match label files to frames by stem, falling back to the trailing frame number."""
    by_stem = {p.stem: p for p in labels}
    out: list[Path | None] = [by_stem.get(f.stem) for f in frames]
    if not any(o is not None for o in out) and labels:
        by_num = {}
        for p in labels:
            n = _trailing_int(p.stem)
            if n is not None:
                by_num.setdefault(n, p)
        out = [by_num.get(_trailing_int(f.stem)) if _trailing_int(f.stem) is not None else None
               for f in frames]
    used = {p for p in out if p is not None}
    orphans = [p for p in labels if p not in used]
    if labels and not used:
        raise DatasetError(
            f"no label in {folder} matches a frame by file stem or frame number "
            f"(first label {labels[0].name}, first frame {frames[0].name})")
    if orphans:
        warnings.warn(f"{len(orphans)} label file(s) in {folder} have no matching frame "
                      f"(e.g. {orphans[0].name}); ignored", stacklevel=4)
    return out


_SEGMENT = re.compile(r"@\d{4,}-\d{4,}$")


def source_video(name: str) -> str:
    """``name`` without the ``@<first>-<last>`` suffix of :meth:`Video.segment`."""
    return _SEGMENT.sub("", name)


@dataclass
class Video:
    """One video: ordered frame paths and per-frame label paths (``None`` where unlabeled).

    ``masks``/``fixations``/``density`` are ``None`` when the dataset has no such label.
    """

    name: str
    frames: list[Path]
    masks: list[Path | None] | None = None
    fixations: list[Path | None] | None = None
    density: list[Path | None] | None = None
    points_csv: Path | None = None
    _points: dict | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.frames)

    def _check_index(self, i: int) -> int:
        if not -len(self.frames) <= i < len(self.frames):
            raise IndexError(f"frame index {i} out of range for video {self.name!r} "
                             f"with {len(self.frames)} frames")
        return i % len(self.frames)

    def label_paths(self, kind: str) -> list[Path | None] | None:
        """The per-frame paths of label ``kind`` ("mask" | "fixation" | "density")."""
        if kind not in _ATTR:
            raise ValueError(f"label kind must be one of {LABEL_KINDS}, got {kind!r}")
        return getattr(self, _ATTR[kind])

    def _label_path(self, kind: str, i: int) -> Path:
        i = self._check_index(i)
        paths = self.label_paths(kind)
        if paths is None:
            raise DatasetError(f"video {self.name!r} has no {kind} labels")
        if paths[i] is None:
            raise DatasetError(f"frame {i} ({self.frames[i].name}) of video {self.name!r} "
                               f"has no {kind} label; use labeled({kind!r})")
        return paths[i]

    def has(self, kind: str) -> bool:
        """True if the video has any label of ``kind``."""
        paths = self.label_paths(kind)
        return paths is not None and any(p is not None for p in paths)

    def labeled(self, kind: str) -> list[int]:
        """Frame indices that have a label of ``kind`` (empty if none)."""
        paths = self.label_paths(kind)
        return [] if paths is None else [i for i, p in enumerate(paths) if p is not None]

    def read_frame(self, i: int) -> np.ndarray:
        """Frame ``i`` as HxWx3 uint8 RGB."""
        return read_rgb(self.frames[self._check_index(i)])

    def read_mask(self, i: int) -> np.ndarray:
        """Mask of frame ``i`` as HxW uint8 in {0, 255} (non-binary: thresholded at 128, warned)."""
        path = self._label_path("mask", i)
        return to_binary_mask(read_gray(path), path)

    def read_fixation(self, i: int) -> np.ndarray:
        """Binary fixation map of frame ``i`` as HxW uint8 in {0, 1} (counts clipped to 1)."""
        return to_fixation(read_gray(self._label_path("fixation", i)))

    def read_density(self, i: int) -> np.ndarray:
        """Density (continuous saliency) map of frame ``i`` as HxW float32 in [0, 1]."""
        path = self._label_path("density", i)
        return to_density(read_gray(path), path)

    def read_label(self, kind: str, i: int) -> np.ndarray:
        """Dispatch to ``read_mask`` / ``read_fixation`` / ``read_density``."""
        return {"mask": self.read_mask, "fixation": self.read_fixation,
                "density": self.read_density}[kind](i)

    def fixation_points(self, i: int) -> np.ndarray:
        """Fixation points of frame ``i`` as an (N, 2) float32 array of (x, y) frame pixels.

        Read from ``fixation_points.csv`` (columns ``frame, subject, x, y``; ``frame`` is the frame
        number in the file name, 1-based as in DHF1K, or ``i + 1`` when names carry no number).
        """
        if self.points_csv is None:
            raise DatasetError(f"video {self.name!r} has no fixation_points.csv")
        if self._points is None:
            pts: dict[int, list[tuple[float, float]]] = {}
            try:
                with open(self.points_csv, newline="") as fh:
                    for row in csv.DictReader(fh):
                        pts.setdefault(int(row["frame"]), []).append((float(row["x"]), float(row["y"])))
            except (KeyError, ValueError) as exc:
                raise DatasetError(f"{self.points_csv}: expected columns frame, subject, x, y "
                                   f"with numeric values ({exc})") from exc
            self._points = {k: np.asarray(v, np.float32).reshape(-1, 2) for k, v in pts.items()}
        i = self._check_index(i)
        num = _trailing_int(self.frames[i].stem)
        key = num if num is not None else i + 1
        return self._points.get(key, np.zeros((0, 2), np.float32))

    def segment(self, start: int, stop: int) -> "Video":
        """Frames ``start:stop`` as a video of its own, named ``<name>@<start>-<stop - 1>``.

        Labels and the fixation-points file come along; frame numbers in file names are kept,
        so ``fixation_points`` still finds each frame's points.
        """
        n = len(self.frames)
        if not 0 <= start < stop <= n:
            raise ValueError(f"segment {start}:{stop} is not inside video {self.name!r} with {n} frames")

        def cut(paths: list[Path | None] | None) -> list[Path | None] | None:
            return None if paths is None else paths[start:stop]

        return Video(f"{self.name}@{start:04d}-{stop - 1:04d}", self.frames[start:stop], cut(self.masks),
                     cut(self.fixations), cut(self.density), self.points_csv)

    def frame_size(self, i: int = 0) -> tuple[int, int]:
        """(H, W) of frame ``i`` read from the file header."""
        return image_size(self.frames[self._check_index(i)])

    def validate(self) -> None:
        """Check (from file headers) that all frames share one size and every label has its
        frame's size or the same aspect ratio; raise :class:`DatasetError` naming the file."""
        ref = image_size(self.frames[0])
        for f in self.frames[1:]:
            s = image_size(f)
            if s != ref:
                raise DatasetError(f"frame {f} is {s[1]}x{s[0]} but the first frame of video "
                                   f"{self.name!r} ({self.frames[0].name}) is {ref[1]}x{ref[0]}; "
                                   "expected all frames of a video to have one size")
        for kind in LABEL_KINDS:
            for p in self.label_paths(kind) or []:
                if p is not None:
                    s = image_size(p)
                    if s != ref and not aspect_matches(ref, s):
                        raise DatasetError(f"{kind} {p} is {s[1]}x{s[0]}, frames of video {self.name!r} "
                                           f"are {ref[1]}x{ref[0]}; expected the same size or aspect ratio")


@dataclass
class VideoDataset:
    """A list of videos with the layout and task they were read as."""

    root: Path
    layout: str
    task: str
    videos: list[Video]
    split: str | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {v.name: k for k, v in enumerate(self.videos)}

    def __len__(self) -> int:
        return len(self.videos)

    def __iter__(self) -> Iterator[Video]:
        return iter(self.videos)

    def __getitem__(self, key: int | str) -> Video:
        if isinstance(key, str):
            if key not in self._index:
                raise KeyError(f"no video named {key!r} in {self.root} "
                               f"(have e.g. {list(self._index)[:5]})")
            return self.videos[self._index[key]]
        return self.videos[key]

    @property
    def names(self) -> list[str]:
        """Video names, in order."""
        return [v.name for v in self.videos]

    @property
    def n_frames(self) -> int:
        """Total number of frames."""
        return sum(len(v) for v in self.videos)

    def n_labeled(self, kind: str) -> int:
        """Total number of frames with a label of ``kind``."""
        return sum(len(v.labeled(kind)) for v in self.videos)

    def subset(self, names: Sequence[str]) -> "VideoDataset":
        """A dataset with only the named videos (in the given order)."""
        missing = [n for n in names if n not in self._index]
        if missing:
            raise DatasetError(f"videos {missing[:5]} are not in dataset {self.root}")
        return VideoDataset(self.root, self.layout, self.task, [self[n] for n in names],
                            self.split, dict(self.info))

    def replace_videos(self, videos: Sequence[Video], split: str | None = None) -> "VideoDataset":
        """The same dataset with another list of videos (e.g. segments of its videos)."""
        return VideoDataset(self.root, self.layout, self.task, list(videos), split or self.split, dict(self.info))

    def validate(self) -> None:
        """Run :meth:`Video.validate` on every video."""
        for v in self.videos:
            v.validate()

    def __repr__(self) -> str:
        return (f"VideoDataset(root={str(self.root)!r}, layout={self.layout!r}, task={self.task!r}, "
                f"videos={len(self.videos)}, frames={self.n_frames}, split={self.split!r})")


def _task_of(videos: list[Video], root: Path) -> str:
    has_mask = any(v.masks is not None for v in videos)
    has_fix = any(v.fixations is not None or v.density is not None for v in videos)
    if has_mask and has_fix:
        raise DatasetError(f"dataset {root} mixes object masks and fixation/density maps; "
                           "open the VSOD and fixation parts separately")
    return "vsod" if has_mask else "fixation" if has_fix else "frames"
