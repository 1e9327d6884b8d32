"""The papers' fixation experiments on a teacher-labelled corpus (issue 26, item 1): ``data.fixation.source =
"teacher-labelled"``.

With this source the fixation task's splits are those of the distillation test (``distill`` section):

* ``train``: the corpus (``distill.corpus``), every frame labelled by the teacher (``distill.teacher``): its
  map, scaled to peak 255, is the frame's density label. No gaze, no frame of the test video;
* ``val``: the fidelity videos (``distill.fidelity``, held out of the corpus), labelled the same way; a stage
  picks its best checkpoint by CC to the teacher there (there are no fixations to compute NSS on);
* ``test``: every frame of the gaze-labelled test video(s) (``distill.test``) with their gaze, cut into
  clips of ``distill.clip x distill.block`` frames (the distillation test's noise blocks).

So skd's students (eq. 1-4, soft and hard targets both the teacher's map: mu has no effect), skd's S_st (eq. 5)
and uvanet's coupled student learn only what the teacher knows, and are scored on video none of them saw.
The teacher's maps are those of :func:`salkd.distill.maps.teacher_maps` (made once, cached); the density PNGs are
written under ``<cache>/teacher-labels/`` (the raw data is never touched).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from salkd import paths
from salkd.context import Context, profile_path
from salkd.data import DatasetError, Video, VideoDataset

__all__ = ["SOURCE", "is_teacher_labelled", "teacher_labelled", "roots", "identity", "describe"]

#: the value of ``data.fixation.source`` that selects this data
SOURCE = "teacher-labelled"


def is_teacher_labelled(cfg: dict[str, Any], task: str = "fixation") -> bool:
    """True when the profile's ``data.<task>.source`` is :data:`SOURCE`."""
    return task == "fixation" and ((cfg.get("data") or {}).get(task) or {}).get("source") == SOURCE


def _check(ctx: Context) -> dict[str, Any]:
    """The ``distill`` section, refusing the settings that would read the fixation splits being defined here."""
    sec = ctx.cfg.get("distill")
    if not sec:
        raise ValueError(f"data.fixation.source = {SOURCE!r} needs a 'distill' section naming the corpus, the "
                         f"fidelity videos, the test video and the teacher (profile {ctx.profile!r} has none)")
    for key in ("corpus", "fidelity", "test"):
        if sec.get(key) == "profile":
            raise ValueError(f"data.fixation.source = {SOURCE!r} with distill.{key} = 'profile' is circular: name "
                             f"the {key} sources in distill.{key}")
    from salkd.map_sources import is_pretrained

    if not is_pretrained(str(sec["teacher"])):
        raise ValueError(f"data.fixation.source = {SOURCE!r} needs a published teacher in distill.teacher (e.g. "
                         f"'tinyhd_m'), got {sec['teacher']!r}: a teacher trained here would train on these labels")
    return sec


def _label_files(ctx: Context, videos: list[Video], maps: dict[str, np.ndarray], tag: str) -> list[Video]:
    """``videos`` with density label PNGs written from the teacher's ``maps`` (once; a finished video's folder
    holds a ``done`` marker)."""
    import cv2

    from salkd.atomic import atomic_dir

    base = paths.cache_dir() / "teacher-labels" / f"{tag}-aspect"
    out = []
    for v in videos:
        key = hashlib.sha256(("|".join(str(f) for f in v.frames)).encode()).hexdigest()[:16]
        folder = base / key
        arr = maps[v.name]
        if len(arr) != len(v):
            raise DatasetError(f"teacher maps of {v.name!r} have {len(arr)} frames, the video {len(v)}: delete "
                               f"{paths.cache_dir() / 'distill-teacher'} to make them again")
        if not (folder / "done").is_file():
            # the teacher sees (and maps) its own input size (TinyHD: 192x256); a label has its frame's aspect
            fh, fw = v.frame_size(0)
            size = (int(round(arr.shape[1] * fw / fh)), int(arr.shape[1]))  # (w, h) for cv2
            with atomic_dir(folder) as tmp:
                for t, m in enumerate(arr):
                    m = cv2.resize(np.ascontiguousarray(m), size, interpolation=cv2.INTER_LINEAR)
                    if not cv2.imwrite(str(tmp / f"{t:05d}.png"), m):
                        raise OSError(f"could not write {tmp / f'{t:05d}.png'} (disk full or not writable?)")
                (tmp / "done").write_text(f"{v.name}\n")
        dens = [folder / f"{t:05d}.png" for t in range(len(v))]
        out.append(Video(v.name, list(v.frames), None, None, dens))
    return out


def identity(ctx: Context) -> str:
    """What the labels depend on: the teacher's identity (weights' SHA256, map convention)."""
    from salkd.distill.maps import teacher_identity, teacher_run

    _check(ctx)
    return teacher_identity(teacher_run(ctx))


def roots(ctx: Context) -> list[Path]:
    """The real folders the three splits are read from (corpus, fidelity and test sources)."""
    from salkd.data.sources import parse_sources, resolve_roots

    sec = _check(ctx)
    out: list[Path] = []
    for key in ("corpus", "fidelity"):
        out += resolve_roots("fixation", parse_sources(sec[key], f"distill.{key}"), profile_path)
    out.append(profile_path(sec["test"]))
    return out


def teacher_labelled(ctx: Context, split: str) -> VideoDataset:
    """The ``split`` ("train" | "val" | "test") of the teacher-labelled fixation data (module docstring)."""
    from salkd.distill import data as dd
    from salkd.distill.maps import teacher_maps, teacher_run
    from salkd.map_sources import weights_sha256

    sec = _check(ctx)
    arch = str(sec["teacher"])
    run = teacher_run(ctx)
    tag = hashlib.sha256(identity(ctx).encode()).hexdigest()[:12]
    if split == "test":
        whole = dd.gaze_videos(ctx)
        vids = dd.clips(whole, int(sec["clip"]) * int(sec.get("block", 1)))
        maps_of = whole
        name = "test"
    elif split in ("train", "val"):
        frames = dd.corpus(ctx) if split == "train" else dd.fidelity_set(ctx)
        maps = teacher_maps(ctx, run, frames.videos)
        vids = _label_files(ctx, list(frames.videos), maps, tag)
        maps_of = list(frames.videos)
        name = "corpus" if split == "train" else "fidelity"
    else:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    key = hashlib.sha256(("|".join(f"{v.name}:{v.frames[0]}:{len(v)}" for v in vids) + tag).encode()).hexdigest()[:8]
    root = Path("/salkd-virtual") / f"teacher-labelled-{name}-{key}"
    # the teacher's own maps of these videos (made by salkd.distill.maps.teacher_maps): read by
    # salkd.map_sources.source_maps instead of running the teacher again
    files = _map_files(ctx, run, maps_of)
    info = {"sources": [{"name": name, "root": str(r)} for r in roots(ctx)], "teacher_labels": tag,
            "teacher_maps": {"arch": arch, "sha256": weights_sha256(arch)[1], "files": files},
            "whole_videos": {v.name: v for v in maps_of} if split == "test" else {}}
    return VideoDataset(root, SOURCE, "fixation", vids, split, info)


def _map_files(ctx: Context, run: Path, videos: list[Video]) -> dict[str, str]:
    """``{video: npy path}`` of the teacher's cached maps of whole ``videos`` (made if missing)."""
    from salkd.distill.maps import teacher_map_file, teacher_maps

    teacher_maps(ctx, run, videos)
    return {v.name: str(teacher_map_file(run, v)) for v in videos}


def describe(ctx: Context) -> str:
    """One line for the tables' ``data`` column: what the rows trained on and where they are scored."""
    sec = _check(ctx)
    from salkd.data.sources import parse_sources

    corpus = " + ".join(s.name for s in parse_sources(sec["corpus"], "distill.corpus"))
    test = str(sec["test"]).split(":", 1)[-1]
    return (f"{ctx.profile}: all frames of {test} (trained on {sec['teacher']}'s maps of {corpus}: no gaze, "
            f"no frame of the test video)")
