"""Several training sources for one task: ``data.<task>.source`` as a list (fastvsod Sec. 4.1 trains on
DUTS-TR + DAVIS train + DAVSOD train).

A source is a path (``"datasets:DAVIS"``, ``"shared:davis2016"`` or a file-system path) or a dict::

    {"name": "DUTS-TR", "path": "datasets:DUTS-TR", "layout": "DUTS-TR-Image/ + DUTS-TR-Mask/",
     "splits": ["train"], "split": {"train": 0.8}}

``name`` prefixes its videos (``DUTS-TR/<image>``) and names it in errors (default: the folder name);
``layout`` is the expected layout, in words, for the error when the path is absent; ``splits`` the splits
it gives (default: all three for video datasets, ``["train"]`` for still-image sets such as DUTS);
``split`` its rule when it has no split information of its own (as ``data.split``).

Each source is split by its own rule (:func:`salkd.data.splits.split_dataset`: official folders or
lists first); a source that gives only ``train`` trains on all of its own training set (or on all of
it when it has none). The ``split`` of the task is the sources' parts, concatenated in order, as one
:class:`VideoDataset` (layout ``"<name>:<layout>+..."``); ``info["sources"]`` records each part.
Still images (layout ``sod``) are one-frame videos: fastvsod's stage 1 sees them, its stage 2
(frame pairs) takes :func:`video_names` only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .imageio import DatasetError
from .videos import Video, VideoDataset

__all__ = ["Source", "parse_sources", "is_multi", "open_sources", "video_names", "open_unlabeled", "with_unlabeled",
           "SPLITS"]

SPLITS = ("train", "val", "test")
_KEYS = {"name", "path", "layout", "splits", "split"}


@dataclass(frozen=True)
class Source:
    """One training source of a task (see the module docstring)."""

    name: str
    path: str
    layout: str | None = None
    splits: tuple[str, ...] | None = None   # None: by the dataset's kind (videos: all, still images: train)
    split: Mapping[str, Any] | None = None

    def gives(self, split: str, still: bool) -> bool:
        """True when this source contributes to ``split``."""
        return split in (self.splits if self.splits is not None else (("train",) if still else SPLITS))


def is_multi(source: Any) -> bool:
    """True for a list of sources (or one source written as a dict)."""
    return isinstance(source, (list, tuple, Mapping))


def parse_sources(source: Any, where: str = "data.vsod.source") -> list[Source]:
    """The :class:`Source` list of a profile value (a list of paths / dicts, or one dict); a malformed
    entry raises ``ValueError`` naming ``where``."""
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise ValueError(f"{where}: an empty list names no dataset")
    out: list[Source] = []
    for k, item in enumerate(items):
        at = f"{where}[{k}]"
        if isinstance(item, (str, os.PathLike)):
            item = {"path": str(item)}
        if not isinstance(item, Mapping) or not isinstance(item.get("path"), (str, os.PathLike)):
            raise ValueError(f"{at}: expected a path or a dict with a 'path', got {item!r}")
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise ValueError(f"{at}: unknown key(s) {unknown}; a source has {sorted(_KEYS)}")
        splits = item.get("splits")
        if splits is not None:
            if isinstance(splits, str) or not all(s in SPLITS for s in splits) or not splits:
                raise ValueError(f"{at}: 'splits' must be a non-empty list of {list(SPLITS)}, got {splits!r}")
            splits = tuple(splits)
        if item.get("split") is not None and not isinstance(item["split"], Mapping):
            raise ValueError(f"{at}: 'split' must be a dict like {{'train': 0.8}}, got {item['split']!r}")
        path = str(item["path"])
        name = str(item.get("name") or Path(path.split(":", 1)[-1]).name or f"source{k}")
        out.append(Source(name, path, item.get("layout"), splits, item.get("split")))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: source names must differ (they prefix the video names), got {names}")
    return out


def resolve_roots(task: str, sources: Sequence[Source], resolve: Callable[[str], Path]) -> list[Path]:
    """Each source's folder, checked: missing ones raise one ``FileNotFoundError`` naming each dataset, its
    path and its expected layout."""
    roots = [resolve(src.path) for src in sources]
    missing = [f"  {src.name}: {p} does not exist" + (f"; expected layout: {src.layout}" if src.layout else "")
               for src, p in zip(sources, roots) if not p.is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{task} data: {len(missing)} of {len(sources)} source(s) missing:\n" + "\n".join(missing) +
            f"\nPut each dataset there (datasets:<folder> paths are under $SALKD_DATASETS, default ~/datasets), "
            f"name other sources with --set data.{task}.source='[...]', or pass one dataset with --data {task}=PATH")
    return roots


def _part(src: Source, root: Path, split: str, default_split: Mapping[str, Any] | None) -> VideoDataset | None:
    """The ``split`` of one source by its own rule, or None when it gives no such split."""
    from . import open_dataset
    from .splits import _open_split, split_dataset

    whole = open_dataset(root)
    still = whole.layout == "sod"
    if not src.gives(split, still):
        return None
    if set(src.splits if src.splits is not None else (("train",) if still else SPLITS)) == {"train"}:
        own = _open_split(root, "train")  # a training-only source: all of its training set
        return own if own is not None else whole
    spec = {"split": dict(src.split)} if src.split else None
    return split_dataset(root, split, spec, default_split=default_split)


def open_sources(task: str, sources: Sequence[Source], split: str, resolve: Callable[[str], Path], *,
                 default_split: Mapping[str, Any] | None = None) -> VideoDataset:
    """The ``split`` of ``task`` over several sources: each split by its own rule, concatenated, videos
    named ``<source>/<video>``. Raises ``DatasetError`` when no source gives ``split``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    roots = resolve_roots(task, sources, resolve)
    videos: list[Video] = []
    parts: list[dict[str, Any]] = []
    tasks: set[str] = set()
    for src, root in zip(sources, roots):
        ds = _part(src, root, split, default_split)
        if ds is None:
            continue
        for v in ds.videos:
            videos.append(Video(f"{src.name}/{v.name}", v.frames, v.masks, v.fixations, v.density, v.points_csv))
        tasks.add("vsod" if ds.task == "sod" else ds.task)
        parts.append({"name": src.name, "root": str(root), "layout": ds.layout, "videos": len(ds.videos),
                      "still": ds.layout == "sod"})
    if not parts:
        raise DatasetError(f"no {task} source gives a {split!r} split (sources: {[s.name for s in sources]}); "
                           f"list it in one source's 'splits'")
    if len(tasks) > 1:
        raise DatasetError(f"the {task} sources mix tasks {sorted(tasks)}: {parts}")
    root = Path(os.path.commonpath([str(r) for r in roots])) / "+".join(s.name for s in sources)
    layout = "+".join(f"{p['name']}:{p['layout']}" for p in parts)
    return VideoDataset(root, layout, tasks.pop(), videos, split, {"sources": parts})


def video_names(dataset: VideoDataset) -> list[str]:
    """The videos of ``dataset`` that are real videos (not still images, which are one-frame videos):
    what frame-pair training (fastvsod stage 2, eq. 4-6) uses."""
    parts = dataset.info.get("sources")
    if parts is None:
        return [] if dataset.layout == "sod" else list(dataset.names)
    still = {p["name"] for p in parts if p["still"]}
    return [v.name for v in dataset.videos if v.name.split("/", 1)[0] not in still]


def open_unlabeled(sources: Sequence[Source], resolve: Callable[[str], Path], *,
                   default_split: Mapping[str, Any] | None = None) -> VideoDataset:
    """Video that only a teacher labels (issue 16: the students of skd eq. 1-2 / uvanet eq. 5-6 see it with
    mu = 1): each source's training part (a source without ``splits`` gives all of it, ``["train"]``), its
    labels dropped even where it has them, videos named ``<source>/<video>``, task ``"frames"``.
    Raises ``FileNotFoundError`` for a missing source and ``DatasetError`` when none gives frames."""
    sources = [s if s.splits is not None else replace(s, splits=("train",)) for s in sources]
    roots = resolve_roots("unlabeled", sources, resolve)
    videos: list[Video] = []
    parts: list[dict[str, Any]] = []
    for src, root in zip(sources, roots):
        ds = _part(src, root, "train", default_split)
        if ds is None:
            continue
        videos += [Video(f"{src.name}/{v.name}", list(v.frames)) for v in ds.videos]
        parts.append({"name": src.name, "root": str(root), "layout": ds.layout, "videos": len(ds.videos),
                      "frames": ds.n_frames, "still": ds.layout == "sod"})
    if not videos:
        raise DatasetError(f"no unlabeled source gives a 'train' part (sources: {[s.name for s in sources]})")
    root = Path(os.path.commonpath([str(r) for r in roots])) / ("unlabeled-" + "+".join(s.name for s in sources))
    return VideoDataset(root, "+".join(f"{p['name']}:{p['layout']}" for p in parts), "frames", videos, "train",
                        {"sources": parts})


def with_unlabeled(train: VideoDataset, unlabeled: VideoDataset) -> VideoDataset:
    """``train`` followed by the videos of ``unlabeled`` (no labels) as one dataset of ``train``'s task: its
    low-res cache holds ``has_<label>`` False on the unlabeled frames. A video name in both raises
    ``DatasetError``."""
    clash = sorted(set(train.names) & set(unlabeled.names))
    if clash:
        raise DatasetError(f"unlabeled video names {clash[:5]} are also training videos; rename the source")
    root = train.root.parent / f"{train.root.name}+{unlabeled.root.name}"
    info = {**train.info, "unlabeled": unlabeled.info.get("sources", [])}
    return VideoDataset(root, f"{train.layout}+{unlabeled.layout}", train.task, [*train.videos, *unlabeled.videos],
                        train.split, info)
