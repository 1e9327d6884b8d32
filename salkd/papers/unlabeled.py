"""Video that only the teacher labels: the promise of distillation to learn from unlabeled video (issue 16,
item 5), shared by skd and uvanet.

A profile lists such video per paper as ``skd.unlabeled`` / ``uvanet.unlabeled`` (sources as in
:mod:`salkd.data.sources`; default empty; ``real-cpu``: the clips of ``shared:unlabeled_video``). skd's
students (eq. 1-2) and uvanet's coupled student (eq. 3-6) then train on the labelled training split
*and* those frames: every frame has its soft label from the teacher (:func:`knowledge`, cached like the
split's, :func:`salkd.papers.teachers.teacher_knowledge`), and a frame without gaze data takes mu = 1, so its
hard term is off (:func:`salkd.losses.distillation_terms`). The steps with the hard loss only (skd eq. 5,
uvanet eq. 8) have nothing to learn from such frames and keep the labelled split.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any, Sequence

import numpy as np

from salkd import paths
from salkd.context import Context
from salkd.runs import data_fingerprint, data_ref, data_sha256
from salkd.sizes import as_size

__all__ = ["SUFFIX", "require", "data_key", "train_cache", "knowledge", "steps_of", "steps_suffix"]

#: run-name suffix of the students (and the models built from them) trained with the unlabeled video
SUFFIX = "-unl"


def steps_of(run: str | os.PathLike) -> int:
    """The optimizer steps a finished training run took (``steps`` of its ``metrics.json``, written when it
    completes): what the step-matched control of the unlabeled-video rows trains for. ``FileNotFoundError``
    / ``ValueError`` naming the file when the run is not finished."""
    from pathlib import Path

    from salkd.runs import read_json

    path = Path(run) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run} is not a finished training run")
    steps = read_json(path).get("steps")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{path} has no step count ('steps'): cannot tell how many steps {run} took")
    return steps


def steps_suffix(max_iters: int | None) -> str:
    """Run-name suffix of a student trained for a fixed number of steps (the step-matched control): ``-it<n>``."""
    return "" if max_iters is None else f"-it{int(max_iters)}"


def require(ctx: Context, section: str) -> Any:
    """The unlabeled video of ``section`` (:meth:`~salkd.context.Context.unlabeled`); ``ValueError`` naming the
    key when the profile lists none."""
    ds = ctx.unlabeled(section)
    if ds is None:
        raise ValueError(f"{section}.unlabeled is empty in profile {ctx.profile!r}: list the video only the teacher "
                         f"labels, e.g. --set '{section}.unlabeled=[\"shared:unlabeled_video\"]'")
    return ds


def data_key(ctx: Context, section: str) -> dict[str, Any]:
    """What a student's config records of its unlabeled video (as :meth:`Context.data_key` of the labelled
    data): the source folders, their content fingerprint and which videos (a change makes the run stale)."""
    ds = require(ctx, section)
    roots = [p["root"] for p in ds.info["sources"]]
    names = "\n".join(sorted(ds.names))
    return {"unlabeled": [data_ref(r) for r in roots], "unlabeled_fingerprint": data_fingerprint(roots),
            "unlabeled_sha256": data_sha256(roots),
            "unlabeled_videos": hashlib.sha256(names.encode()).hexdigest()[:12]}


def train_cache(ctx: Context, section: str, res: int | Sequence[int]) -> Any:
    """The low-res cache of the training split followed by the unlabeled video
    (:func:`salkd.data.sources.with_unlabeled`): ``has_density`` is False on every unlabeled frame."""
    from salkd.data import cache_lowres
    from salkd.data.sources import with_unlabeled

    both = with_unlabeled(ctx.dataset("fixation", "train"), require(ctx, section))
    return cache_lowres(both, as_size(res), paths.cache_dir() / "lowres", progress=ctx.progress)


def knowledge(ctx: Context, section: str, teacher_run: str | os.PathLike,
              res: int | Sequence[int]) -> dict[str, np.ndarray]:
    """The teacher's maps R(T(I)) at ``res`` over the training split and the unlabeled video, one dict keyed by
    the videos of :func:`train_cache` (both parts cached in the teacher's run folder)."""
    from salkd.papers.teachers import teacher_knowledge

    maps = dict(teacher_knowledge(ctx, teacher_run, res))
    maps.update(teacher_knowledge(ctx, teacher_run, res, dataset=require(ctx, section)))
    return maps
