"""How a dataset is split into train / val / test: its own split information, by video, or in time."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["split_dataset", "split_by_video", "split_in_time", "carve_val"]


def split_dataset(root: str | os.PathLike, split: str, spec: Mapping[str, Any] | None = None, *,
                  default_split: Mapping[str, Any] | None = None, val_source: str | os.PathLike | None = None) -> Any:
    """Open the ``split`` ("train" | "val" | "test") of the dataset at ``root``.

    The dataset's own split information wins (``splits.json``, split folders, DAVIS ``ImageSets``). When
    it names a training and a test set but no validation set, validation is carved from the training
    videos (:func:`carve_val`) so that checkpoint selection never sees the test set; DAVIS-2016 names
    ``train`` and ``val`` only, and its ``val`` sequences are the benchmark's test set (as in the papers);
    so is DHF1K's ``val/`` (its ``test/`` has no public labels: ignored; uvanet Table 2 tests on val).
    DAVSOD (``Training Set``/``Validation Set``/``Test Set``) and AVS1K (``trainSet``/``validSet``/
    ``testSet``) use their three folders as they are.
    Without split information ``spec["split"]`` (or ``default_split``) decides: by video order
    (:func:`split_by_video`), or in time (:func:`split_in_time`) when it says ``by: time`` or the dataset
    has fewer than 3 videos. ``val_source``: a separate dataset used as the test set (validation is then
    carved from ``root``'s videos, the rest trains).
    """
    from salkd.data import open_dataset

    root = Path(root)
    frac = float(((spec or {}).get("split") or default_split or {}).get("val_fraction", 0.15))
    if val_source is not None:
        if split == "test":
            return open_dataset(val_source)
        return _carved(open_dataset(root), split, frac)
    own = {s: _open_split(root, s) for s in ("train", "val", "test")}
    if own["test"] is not None and own["test"].task == "frames" and own["train"] is not None:
        own["test"] = None  # an official test set without public labels (DHF1K test/): its val set tests
    if own["train"] is not None and own["test"] is None and own["val"] is not None and split in ("val", "test"):
        # DAVIS-style: the dataset's "val" is the benchmark's test set; validation comes from train
        return own["val"] if split == "test" else _carved(own["train"], "val", frac)
    if own["train"] is not None and own["val"] is None and (own["test"] is not None or split == "val"):
        return own["test"] if split == "test" else _carved(own["train"], split, frac)
    if own["train"] is not None and own["test"] is None and own["val"] is not None and split == "train":
        return _carved(own["train"], "train", frac)
    if own.get(split) is not None:
        return own[split]
    full = open_dataset(root)
    names = [v.name for v in full.videos]
    fr = dict((spec or {}).get("split") or default_split or {"train": 0.7, "val": 0.3})
    if fr.get("by", "video") == "time" or len(names) < 3:
        if fr.get("by", "video") != "time":
            warnings.warn(f"{root} has {len(names)} video(s) and no split information: splitting each video in "
                          f"time (first {float(fr.get('train', 0.7)):.0%} of its frames for training). Add a "
                          f"splits.json mapping split -> video names to split by video.", stacklevel=3)
        return split_in_time(full, split, train=float(fr.get("train", 0.7)), gap=int(fr.get("gap", 0)),
                             clip=fr.get("clip"))
    return full.subset(split_by_video(names, float(fr.get("train", 0.7)))[split])


def _open_split(root: Path, split: str) -> Any:
    """The dataset's own ``split`` (splits.json, split folder, DAVIS ImageSets), or None."""
    from salkd.data import DatasetError, open_dataset

    try:
        return open_dataset(root, split=split)
    except DatasetError:
        return None


def carve_val(names: Sequence[str], fraction: float = 0.15) -> dict[str, list[str]]:
    """Validation carved from training videos by video: the last ``fraction`` of them (at least one, and
    at least one left to train on), in order."""
    names = list(names)
    if len(names) < 2:
        raise ValueError(f"cannot carve a validation set from {len(names)} training video(s)")
    n_val = min(len(names) - 1, max(1, int(round(len(names) * fraction))))
    return {"train": names[:-n_val], "val": names[-n_val:]}


def _carved(train: Any, split: str, fraction: float) -> Any:
    """The ``split`` ("train" or "val") of ``train`` after :func:`carve_val`."""
    sub = train.subset(carve_val([v.name for v in train.videos], fraction)[split])
    return sub.replace_videos(sub.videos, split)


def split_by_video(names: Sequence[str], train: float = 0.7) -> dict[str, list[str]]:
    """Split video names in order: the first ``train`` fraction (at least 1, leaving at least 2) for
    training, the rest halved into validation and test (at least one video each)."""
    n_train = max(1, int(round(len(names) * train)))
    n_train = min(n_train, len(names) - 2)
    rest = list(names[n_train:])
    half = max(1, len(rest) // 2)
    return {"train": list(names[:n_train]), "val": rest[:half], "test": rest[half:]}


def split_in_time(dataset: Any, split: str, *, train: float = 0.7, gap: int = 0, clip: int | None = None) -> Any:
    """The ``split`` of every video cut in time: the first ``train`` fraction of its frames for
    training, then half of the rest for validation and the other half for testing.

    ``gap`` frames are dropped before the validation and the test block, so that neighbouring
    frames (nearly the same image) do not sit on both sides of a split. ``clip`` cuts each block
    into clips of that many frames (the last one may be longer), so that per-video statistics
    have more than one sample. Segments are named ``<video>@<first>-<last>`` (frame indices).
    """
    from salkd.data import DatasetError

    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if not 0.0 < train < 1.0:
        raise ValueError(f"the train fraction must be in (0, 1), got {train}")
    out = []
    for v in dataset.videos:
        n = len(v)
        n_train = int(round(n * train))
        n_val = (n - n_train) // 2
        bounds = {"train": (0, n_train), "val": (n_train + gap, n_train + n_val),
                  "test": (n_train + n_val + gap, n)}
        a, b = bounds[split]
        if b - a < 2:
            raise DatasetError(f"video {v.name!r} of {dataset.root} has {n} frames: too few to split in time into "
                               f"train/val/test with train fraction {train} and a gap of {gap} frames "
                               f"(the {split} block would have {max(0, b - a)}); use longer videos or a splits.json")
        step = int(clip) if clip else b - a
        starts = list(range(a, b, step))
        if len(starts) > 1 and b - starts[-1] < step:
            starts.pop()  # the short remainder joins the previous clip
        for k, s0 in enumerate(starts):
            s1 = starts[k + 1] if k + 1 < len(starts) else b
            out.append(v.segment(s0, s1))
    return dataset.replace_videos(out, split)
