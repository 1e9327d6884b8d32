"""The trained rows of the distillation test: one student per (arm, k labelled frames, input size, seed).

Arms (all the same student, the same optimizer steps, batch and learning rate: budget-matched):

* ``corpus``: the teacher-labelled corpus alone (k = 0): mu = 1 on every frame, i.e. skd eq. 1-2 with the
  soft term only (L_soft, skd eq. 3, against R(T(I))); no frame of the test video is seen.
* ``labels``: k gaze-labelled frames of the test video's first part alone (mu = 0: L_hard, skd eq. 4).
* ``labels+corpus``: both: mu = ``distill.mu`` (skd Sec. IV-C: 0.5) on the k labelled frames (eq. 1-2),
  1 on the corpus frames.

The student sees frame pairs (I_n, I_{n+1}) as skd's S_st does (eq. 5's input), trained from scratch on the
per-frame mixed loss (:func:`salkd.losses.skd_student_loss`).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from salkd.context import Context
from salkd.data import FramePairDataset, LowResCache
from salkd.distill import data as dd
from salkd.distill.maps import reduce_maps, teacher_identity, teacher_maps, teacher_run
from salkd.sizes import as_size

__all__ = ["ARMS", "RowDataset", "row_name", "train_row", "jobs", "training_maps", "labelled_frames"]

ARMS = ("corpus", "labels", "labels+corpus")


class RowDataset(FramePairDataset):
    """Frame pairs of the distillation training set for one row: every frame of the listed corpus videos
    (teacher only, ``has_label`` 0) and only the chosen labelled frames of the pool videos (``has_label`` 1)."""

    def __init__(self, cache: LowResCache, videos: Sequence[str], labelled: Mapping[str, Sequence[int]],
                 teacher: Mapping[str, np.ndarray], seed: int) -> None:
        super().__init__(cache, label="density", offsets=[1], videos=videos, augment=True, seed=seed,
                         extra={"teacher": teacher}, unlabeled=True)
        self._labelled = [frozenset(int(t) for t in labelled.get(v, ())) for v in self.videos]
        pool = [v.startswith("labelled/") for v in self.videos]
        self.items = [(vi, t) for vi, t in self.items if (t in self._labelled[vi]) or not pool[vi]]
        if not self.items:
            raise ValueError("this row has no training frames (k = 0 and no corpus)")

    def has_label(self, vi: int, t: int) -> int:
        return int(t in self._labelled[vi])


def labelled_frames(ctx: Context, k: int) -> dict[str, list[int]]:
    """The k labelled frames of each pool video, spread evenly in time (:func:`salkd.distill.data.spread`)."""
    return {dd.pool_name(v): dd.spread(len(v), int(k)) for v in dd.scarcity_pool(ctx)}


def training_maps(ctx: Context, res: int, videos: Sequence[str]) -> dict[str, np.ndarray]:
    """The teacher's maps R(T(I)) at ``res`` of the training videos (corpus and pool)."""
    run = teacher_run(ctx)
    cor = dd.corpus(ctx)
    want = set(videos)
    out = {}
    cvids = [v for v in cor.videos if v.name in want]
    for name, m in teacher_maps(ctx, run, cvids).items():
        out[name] = reduce_maps(m, as_size(res))
    pool = [v for v in dd.scarcity_pool(ctx) if dd.pool_name(v) in want]
    if pool:
        whole = {v.name: v for v in dd.gaze_videos(ctx)}
        for v in pool:
            src = v.name.split("@", 1)[0]
            full = teacher_maps(ctx, run, [whole[src]])[src]
            out[dd.pool_name(v)] = reduce_maps(full[: len(v)], as_size(res))
    return out


def row_name(arm: str, k: int, res: int, iters: int) -> str:
    """``<arm>-k<k>-<res>-it<iters>`` (``+`` written as ``_``)."""
    return f"{arm.replace('+', '_')}-k{int(k)}-{int(res)}-it{int(iters)}"


def train_row(ctx: Context, arm: str, k: int, res: int, iters: int) -> Path:
    """Train (or reuse) one row's student; returns its run folder ``<runs>/<profile>/distill/<row_name>``."""
    from salkd.data import cache_lowres
    from salkd import paths
    from salkd.losses import skd_student_loss
    from salkd.train import fit

    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    if arm == "labels" and k < 1:
        raise ValueError("the 'labels' arm needs k >= 1 labelled frames")
    sec = ctx.cfg["distill"]
    run = ctx.run_dir("distill", row_name(arm, k, res, iters))
    train = dd.training_set(ctx)
    labelled = labelled_frames(ctx, k) if arm != "corpus" else {}
    pool = [n for n in train.names if n.startswith("labelled/")]
    videos = ([] if arm == "labels" else [n for n in train.names if n not in pool]) + (pool if labelled else [])
    mu = 0.0 if arm == "labels" else float(sec["mu"])
    settings = ctx.settings(epochs=1, max_iters=int(iters), batch_size=int(sec["batch"]), lr=float(sec["lr"]),
                            channels_last=bool(sec.get("channels_last", ctx.cfg.get("channels_last", False))))
    chosen = hashlib.sha256(repr(sorted(labelled.items())).encode()).hexdigest()[:12]
    config = {"stage": "distill", "task": "fixation", "arm": arm, "k": int(k), "res": int(res), "mu": mu,
              "teacher": teacher_identity(teacher_run(ctx)), "train_set": train.root.name,
              "train_videos": hashlib.sha256("\n".join(videos).encode()).hexdigest()[:12],
              "labelled_frames": chosen, "profile": ctx.profile}
    student = str(sec["student"])
    if ctx.reusable(run, config, {"name": student, "kwargs": {}}, settings):
        return run
    cache = cache_lowres(train, as_size(res), paths.cache_dir() / "lowres", progress=ctx.progress)
    ds = RowDataset(cache, videos, labelled, training_maps(ctx, res, videos), seed=int(ctx.seed))
    model = ctx.build(student)

    def loss_fn(net: Any, b: dict[str, Any]):
        logits = net(b["frame"], b["next"])
        return skd_student_loss(logits.float(), b["teacher"], b["label"], mu=mu, has_label=b["has_label"]), {}

    fit(model, loss_fn, ds, run, settings, config=config, force=ctx.force, desc=f"distill {row_name(arm, k, res, iters)}")
    return run


def jobs(ctx: Context) -> list[tuple[str, int, int, int]]:
    """Every row ``(arm, k, res, iters)`` of the test: the corpus-only student at ``distill.res`` (the transfer
    and fidelity rows), then the label-scarcity rows at ``distill.scarcity_res`` for each k (``labels`` for
    k >= 1, ``labels+corpus`` for every k; k = 0 of it is the corpus-only student at that size)."""
    sec = ctx.cfg["distill"]
    res, sres = int(sec["res"]), int(sec["scarcity_res"])
    it, sit = int(sec["iters"]), int(sec["scarcity_iters"])
    out = [("corpus", 0, res, it)]
    n_pool = min(len(v) for v in dd.scarcity_pool(ctx))
    for k in sorted({min(int(k), n_pool) for k in sec["k"]}):
        if k == 0:
            if ("corpus", 0, sres, sit) not in out:
                out.append(("corpus", 0, sres, sit))
            continue
        out += [("labels", k, sres, sit), ("labels+corpus", k, sres, sit)]
    return out


def _train_seed(ctx: Context, rows: Sequence[tuple[str, int, int, int]]) -> None:
    """Every row of one training seed (a job of :func:`salkd.workers.train_side_by_side`)."""
    for arm, k, res, iters in rows:
        train_row(ctx, arm, k, res, iters)


def train_all(ctx: Context) -> dict[tuple[str, int, int, int], list[Path]]:
    """Train (or reuse) every row for every seed of ``distill.seeds``; the seeds run side by side in the
    profile's worker processes. Returns ``{row: [run of seed 0, seed 1, ...]}``."""
    from salkd import workers

    rows = jobs(ctx)
    teacher_run(ctx)  # shared upstream: made here, once, before any worker starts
    seeds = ctx.seeds("distill")
    _prepare(ctx, rows)
    workers.train_side_by_side(_train_seed, [(c, (rows,)) for c in seeds])
    return {r: [train_row(c, *r) for c in seeds] for r in rows}


def _prepare(ctx: Context, rows: Sequence[tuple[str, int, int, int]]) -> None:
    """The shared caches (teacher maps of every training video, low-res frames at each size) made once here,
    so that worker processes only read them."""
    from salkd import paths
    from salkd.data import cache_lowres

    train = dd.training_set(ctx)
    for res in sorted({r[2] for r in rows}):
        cache_lowres(train, as_size(res), paths.cache_dir() / "lowres", progress=ctx.progress)
    teacher_maps(ctx, teacher_run(ctx), list(dd.corpus(ctx).videos) + dd.gaze_videos(ctx))
