"""Readers for the on-disk layouts of video saliency datasets: ``open_dataset`` -> ``VideoDataset``.

Detected layouts (``VideoDataset.layout``), in the order they are tried:

* ``davis2016``  official DAVIS-2016: ``JPEGImages/480p/<seq>/``, ``Annotations/480p/<seq>/``,
  ``ImageSets/480p/{train,val}.txt`` (``split=`` selects the sequences).
* ``avs1k``      AVS1K as its release is unpacked by public loaders:
  ``{trainSet,validSet,testSet}/Frame/<video>/*`` + ``Ground/<video>/*`` (density maps);
  ``split="train"|"val"|"test"`` selects the set folder.
* ``sod``        still-image SOD (DUTS): ``images/`` (or ``img/``, ``DUTS-TR-Image/``) + ``masks/``
  (or ``gt/``, ``DUTS-TR-Mask/``); every image is a one-frame video named by its stem.
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

Code: ``open_dataset`` here tries the layouts in the order above; the readers live in
:mod:`salkd.data.layouts_fixed` (DAVIS-2016, AVS1K, SOD) and :mod:`salkd.data.layouts_folders`
(video folders), the containers in :mod:`salkd.data.videos`.
"""
from __future__ import annotations

import json
from pathlib import Path

from .imageio import DatasetError, is_image
from .layouts_fixed import _open_avs1k, _open_davis2016, _open_sod
from .layouts_folders import (  # noqa: F401  (DENSITY_DIRS, FIXATION_DIRS, MASK_DIRS: importable from here)
    DENSITY_DIRS,
    FIXATION_DIRS,
    FRAME_DIRS,
    MASK_DIRS,
    _first_dir,
    _open_video_folders,
)
from .videos import LABEL_KINDS, Video, VideoDataset, _images, aspect_matches, source_video  # noqa: F401

__all__ = ["DatasetError", "Video", "VideoDataset", "open_dataset", "LABEL_KINDS", "aspect_matches"]

#: split folder names: the common ones, AVS1K's ``trainSet``/``validSet``/``testSet`` and DAVSOD's release
#: folders ``Training Set``/``Validation Set``/``Test Set``
SPLIT_ALIASES = {
    "train": ("train", "trainSet", "training", "Train", "Training Set", "Training"),
    "val": ("val", "validSet", "valid", "validation", "Val", "Validation Set", "Validation"),
    "test": ("test", "testSet", "testing", "Test", "Test Set", "Testing Set", "Testing"),
}


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
    # DUTS as released: DUTS-TR/DUTS-TR-Image + DUTS-TR-Mask (DUTS-TE likewise)
    idir = _first_dir(root, ("images", "img", "Image", "imgs", "DUTS-TR-Image", "DUTS-TE-Image"))
    mdir = _first_dir(root, ("masks", "gt", "GT", "Mask", "DUTS-TR-Mask", "DUTS-TE-Mask"))
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
