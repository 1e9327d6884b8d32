"""Readers for the on-disk layouts of video saliency datasets: ``open_dataset`` -> ``VideoDataset``.

Detected layouts (``VideoDataset.layout``), in the order they are tried:

* ``davis2016``  official DAVIS-2016: ``JPEGImages/480p/<seq>/``, ``Annotations/480p/<seq>/``,
  ``ImageSets/480p/{train,val}.txt`` (``split=`` selects the sequences).
* ``avs1k``      AVS1K as its release is unpacked by public loaders:
  ``{trainSet,validSet,testSet}/Frame/<video>/*`` + ``Ground/<video>/*`` (density maps);
  ``split="train"|"val"|"test"`` selects the set folder.
* ``sod``        still-image SOD (DUTS): ``images/`` (or ``img/``) + ``masks/`` (or ``gt/``); every
  image is a one-frame video named by its stem.
* video folders, found at depth 0..3 below the root (nested names join with ``/``, so AVS1K-style
  ``<category>/<video>/`` and split folders ``train/<seq>/`` keep their grouping in the name):
  ``toolkit`` ``<seq>/Imgs`` + ``<seq>/GT_object`` (DAVSOD, DAVIS, FBMS, ViSal, SegTrack-V2, VOS as the
  VSOD benchmark toolkits ship them); ``dhf1k`` ``<video>/images`` + ``maps`` + ``fixation``
  (DHF1K, UCF-Sports and AVS1K in the ACLNet-style release; ``fixation/maps/`` is accepted too) with
  an optional ``fixation_points.csv``; ``generic`` ``<seq>/frames`` + ``<seq>/masks``; ``frames``
  (any of those frame folders with no label folder: task ``"frames"``).
* ``image-folder`` a folder holding images directly: one unlabeled video.

A split folder (``train``/``val``/``test`` and the aliases below) is entered when ``split`` is given;
a ``splits.json`` at the root (written by :mod:`salkd.data.synthetic`) maps split -> video names.

Labels are aligned to frames by file stem (then by the trailing frame number), so sparse labels
(every 5th frame annotated) give ``None`` entries. Label resolution policy: readers return labels at
their native resolution (benchmarks evaluate at mask resolution); a label whose size differs from
its frame is accepted only if the aspect ratio matches to within one pixel, and
:meth:`Video.validate` / the low-res cache check that and raise :class:`DatasetError` otherwise.
"""
from __future__ import annotations

import csv
import json
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

__all__ = ["DatasetError", "Video", "VideoDataset", "open_dataset", "LABEL_KINDS", "aspect_matches"]

LABEL_KINDS = ("mask", "fixation", "density")
_ATTR = {"mask": "masks", "fixation": "fixations", "density": "density"}

FRAME_DIRS = {"Imgs": "toolkit", "images": "dhf1k", "frames": "generic"}
MASK_DIRS = ("GT_object", "GT", "masks", "gt", "Masks")
DENSITY_DIRS = ("maps",)
FIXATION_DIRS = ("fixation", "fixations")
SPLIT_ALIASES = {
    "train": ("train", "trainSet", "training", "Train"),
    "val": ("val", "validSet", "valid", "validation", "Val"),
    "test": ("test", "testSet", "testing", "Test"),
}
_MAX_DEPTH = 3


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


# ----------------------------------------------------------------------------- video folders

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


def _task_of(videos: list[Video], root: Path) -> str:
    has_mask = any(v.masks is not None for v in videos)
    has_fix = any(v.fixations is not None or v.density is not None for v in videos)
    if has_mask and has_fix:
        raise DatasetError(f"dataset {root} mixes object masks and fixation/density maps; "
                           "open the VSOD and fixation parts separately")
    return "vsod" if has_mask else "fixation" if has_fix else "frames"


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


# ----------------------------------------------------------------------------- special layouts

def _open_davis2016(root: Path, split: str | None) -> VideoDataset:
    res = next((r for r in ("480p", "Full-Resolution", "1080p") if (root / "JPEGImages" / r).is_dir()), None)
    jdir = root / "JPEGImages" / res if res else root / "JPEGImages"
    adir = root / "Annotations" / res if res else root / "Annotations"
    if split is None:
        seqs = sorted(p.name for p in jdir.iterdir() if p.is_dir())
    else:
        cands = [root / "ImageSets" / d / f"{split}.txt" for d in (res or "", "480p", "2016")]
        lst = next((c for c in cands if c.is_file()), None)
        if lst is None:
            raise DatasetError(f"DAVIS split {split!r}: none of {[str(c) for c in cands]} exists")
        seqs = []
        for line in lst.read_text().split("\n"):
            tok = line.strip().split()
            if not tok:
                continue
            parts = Path(tok[0].strip("/")).parts
            seq = parts[-2] if len(parts) >= 2 else parts[0]
            if seq not in seqs:
                seqs.append(seq)
    videos = []
    for seq in seqs:
        frames = _images(jdir / seq) if (jdir / seq).is_dir() else []
        if not frames:
            raise DatasetError(f"DAVIS sequence folder {jdir / seq} is missing or holds no images")
        v = Video(seq, frames)
        if (adir / seq).is_dir():
            v.masks = _align(frames, _images(adir / seq), adir / seq)
        videos.append(v)
    return VideoDataset(root, "davis2016", _task_of(videos, root), videos, split)


def _open_avs1k(root: Path) -> VideoDataset:
    fdir, gdir = root / "Frame", root / "Ground"
    videos = []
    for d in sorted((p for p in fdir.iterdir() if p.is_dir()), key=_natural_key):
        frames = _images(d)
        if not frames:
            raise DatasetError(f"AVS1K video folder {d} holds no images")
        v = Video(d.name, frames)
        if (gdir / d.name).is_dir():
            v.density = _align(frames, _images(gdir / d.name), gdir / d.name)
        videos.append(v)
    if not videos:
        raise DatasetError(f"AVS1K folder {fdir} holds no video folders")
    return VideoDataset(root, "avs1k", _task_of(videos, root), videos)


def _open_sod(root: Path, idir: Path, mdir: Path) -> VideoDataset:
    images = _images(idir)
    if not images:
        raise DatasetError(f"SOD image folder {idir} holds no images")
    masks = _align(images, _images(mdir), mdir)
    videos = [Video(p.stem, [p], masks=[m]) for p, m in zip(images, masks)]
    return VideoDataset(root, "sod", "sod", videos)


def _split_dir(root: Path, split: str) -> Path | None:
    """The split sub-folder, if any. A folder that is itself one video (DAVIS has a sequence named
    ``train``) is not a split."""
    for alias in SPLIT_ALIASES.get(split, (split,)):
        sub = root / alias
        if sub.is_dir() and not any((sub / n).is_dir() for n in FRAME_DIRS):
            return sub
    return None


def open_dataset(path: str | Path, split: str | None = None) -> VideoDataset:
    """Detect the layout of the dataset at ``path`` and return a :class:`VideoDataset`.

    ``split`` ("train" | "val" | "test" or a custom name) is honoured through DAVIS ImageSets,
    a root ``splits.json`` (name -> list of video names), or a split sub-folder (``train/``,
    ``trainSet/``, ...). Raises :class:`DatasetError` if nothing matches a known layout.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"dataset path {root} does not exist or is not a folder")
    root = root.resolve()
    info = {}
    if (root / "salkd_synthetic.json").is_file():
        info = json.loads((root / "salkd_synthetic.json").read_text())
    if (root / "JPEGImages").is_dir() and (root / "Annotations").is_dir():
        return _open_davis2016(root, split)
    if split is not None and (root / "splits.json").is_file():
        splits = json.loads((root / "splits.json").read_text())
        if split not in splits:
            raise DatasetError(f"split {split!r} not in {root / 'splits.json'} (has {sorted(splits)})")
        ds = open_dataset(root).subset(splits[split])
        ds.split, ds.info = split, info
        return ds
    if split is not None:
        sub = _split_dir(root, split)
        if sub is None:
            raise DatasetError(f"dataset {root} has no split {split!r}: expected a splits.json, "
                               f"DAVIS ImageSets or one of the folders {SPLIT_ALIASES.get(split, (split,))}")
        ds = open_dataset(sub)
        ds.split = split
        return ds
    if (root / "Frame").is_dir() and (root / "Ground").is_dir():
        return _open_avs1k(root)
    idir = _first_dir(root, ("images", "img", "Image", "imgs"))
    mdir = _first_dir(root, ("masks", "gt", "GT", "Mask"))
    if idir is not None and mdir is not None and any(is_image(p) for p in idir.iterdir()):
        return _open_sod(root, idir, mdir)
    ds = _open_video_folders(root)
    if ds is None:
        direct = _images(root)
        if direct:
            ds = VideoDataset(root, "image-folder", "frames", [Video(root.name, direct)])
    if ds is None:
        raise DatasetError(
            f"{root} matches no known dataset layout; expected one of: DAVIS-2016 (JPEGImages/480p + "
            "Annotations/480p), toolkit <seq>/Imgs + <seq>/GT_object, DHF1K <video>/images + maps + "
            "fixation, generic <seq>/frames + <seq>/masks, SOD images/ + masks/, AVS1K Frame/ + Ground/, "
            "or a folder of images")
    ds.info = info
    return ds
