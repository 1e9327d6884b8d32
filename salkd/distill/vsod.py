"""The distillation test on the VSOD side (profile key ``distill.vsod``): a fastvsod student distilled from a
salient-object teacher's maps (CSNet on real data) instead of masks, and the curve over k mask-labelled
training sequences.

Rows (the same student, steps, batch and optimizer in every row: budget-matched), per training seed:

* ``teacher`` arm, k in ``distill.vsod.k``: the masks of k training sequences, the teacher's maps (soft
  targets in [0, 1]) on every other one. k = 0 is distillation alone (no mask seen); k = all sequences is
  the same student on the masks alone;
* ``masks`` arm, each k strictly between: the masks of the same k sequences alone (what the teacher's maps
  on the rest add).

The student is fastvsod's stage-1 network (fastvsod Sec. 3.1, the profile's ``fastvsod.backbone`` and
``fastvsod.width``, trained from scratch at ``distill.vsod.res``) with its deep supervision
sum_i BCE(P_i, Y) (fastvsod eq. 3's L_g), Y the mask or the teacher's map. The k sequences are the first k of a
permutation drawn per training seed (nested: k = 3 is inside k = 10), so the seed noise includes which
sequences were labelled. Scored on the test sequences (DAVIS val on real data) by sequence, beside the teacher
and the centred Gaussian.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from salkd.context import Context, profile_path
from salkd.data import DatasetError, FrameDataset, LowResCache, VideoDataset, open_dataset
from salkd.sizes import as_size

__all__ = ["ARMS", "section", "train_set", "test_set", "teacher_run", "labelled_videos", "row_name", "train_row",
           "jobs", "train_all", "teacher_train_maps"]

#: ``teacher``: k masked sequences + the teacher's maps on the rest; ``masks``: the k masked sequences alone
ARMS = ("teacher", "masks")


def section(ctx: Context) -> dict[str, Any]:
    """The ``distill.vsod`` section (KeyError naming the profile when it has none)."""
    sec = (ctx.cfg.get("distill") or {}).get("vsod")
    if not sec:
        raise KeyError(f"profile {ctx.profile!r} has no 'distill.vsod' section")
    return sec


def _open(ctx: Context, key: str, profile_split: str) -> VideoDataset:
    """The ``distill.vsod.<key>`` sequences, opened once per Context."""
    spec = section(ctx)[key]
    if spec == "profile":
        return ctx.dataset("vsod", profile_split)

    def open_masks() -> VideoDataset:
        ds = open_dataset(profile_path(spec))
        if ds.task not in ("vsod", "sod"):
            raise DatasetError(f"distill.vsod.{key} {spec!r} ({ds.root}) has no object masks (task {ds.task!r}): "
                               f"name a folder of sequences with masks (e.g. DAVIS-2016's train/ or val/)")
        return ds

    return ctx.opened(("distill.vsod", key, str(spec)), open_masks)


def train_set(ctx: Context) -> VideoDataset:
    """The training sequences (``distill.vsod.train``; ``"profile"``: the profile's vsod train split)."""
    return _open(ctx, "train", "train")


def test_set(ctx: Context) -> VideoDataset:
    """The test sequences (``distill.vsod.test``; ``"profile"``: the profile's vsod test split). A sequence
    that shares frames with the training set raises ``DatasetError``."""
    from salkd.distill.data import check_held_out

    test = _open(ctx, "test", "test")
    check_held_out(test, train_set(ctx), "distill.vsod.test", "distill.vsod.train")
    return test


def teacher_run(ctx: Context) -> Path:
    """The run folder of ``distill.vsod.teacher``: a published SOD model (``csnet``, nothing trained) or a
    teacher arch trained here on the profile's vsod training split (notebook 01's recipe)."""
    from salkd.papers.teachers import train_teacher

    return train_teacher(ctx.base(), str(section(ctx)["teacher"]), "vsod")


def _teacher_res(run: Path) -> tuple[int, int]:
    from salkd.runs import read_json

    return as_size(read_json(run / "config.json")["res"])


def teacher_train_maps(ctx: Context, res: int, ds: VideoDataset | None = None) -> dict[str, np.ndarray]:
    """The teacher's maps (sigmoid, uint8, made once and cached beside the teacher run) of ``ds`` (default the
    training sequences) at ``res``."""
    from salkd.papers.teachers import teacher_knowledge

    return teacher_knowledge(ctx.base(), teacher_run(ctx), as_size(res), task="vsod",
                             dataset=train_set(ctx) if ds is None else ds)


def labelled_videos(ctx: Context, k: int) -> list[str]:
    """The k mask-labelled training sequences of this seed: the first k of a permutation of the sorted
    sequence names drawn with the training seed (nested over k)."""
    names = sorted(v.name for v in train_set(ctx).videos)
    if k > len(names):
        raise ValueError(f"distill.vsod.k = {k}: the training set has {len(names)} sequences")
    order = np.random.default_rng([int(ctx.seed), 7919]).permutation(len(names))
    return sorted(names[i] for i in order[: int(k)])


class _RowDataset(FrameDataset):
    """Frames of every listed sequence with ``has_label`` 1 on the mask-labelled ones (else the teacher's map)."""

    def __init__(self, cache: LowResCache, videos: Sequence[str], labelled: Sequence[str],
                 teacher: Mapping[str, np.ndarray] | None, seed: int) -> None:
        extra = None if teacher is None else {"teacher": teacher}
        super().__init__(cache, label="mask", videos=videos, augment=True, seed=seed, extra=extra,
                         unlabeled=teacher is not None)
        self._masked = frozenset(labelled)

    def has_label(self, vi: int, t: int) -> int:
        return int(self.videos[vi] in self._masked)


def row_name(arm: str, k: int, res: int, iters: int) -> str:
    """``vsod-<arm>-k<k>-<res>-it<iters>``."""
    return f"vsod-{arm}-k{int(k)}-{int(res)}-it{int(iters)}"


def _model_kwargs(ctx: Context) -> dict[str, Any]:
    fc = ctx.cfg["fastvsod"]
    sec = section(ctx)
    return {"backbone": str(sec.get("backbone", fc["backbone"])), "width": float(sec.get("width", fc["width"])),
            "fusion": "attention"}


def train_row(ctx: Context, arm: str, k: int) -> Path:
    """Train (or reuse) one row's student; its run folder is ``<runs>/<profile>/distill/<row_name>``."""
    from salkd import paths
    from salkd.data import cache_lowres
    from salkd.losses import bce
    from salkd.train import fit

    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    sec = section(ctx)
    res, iters = int(sec["res"]), int(sec["iters"])
    train = train_set(ctx)
    names = [v.name for v in train.videos]
    labelled = labelled_videos(ctx, k)
    if arm == "masks" and not labelled:
        raise ValueError("the 'masks' arm needs k >= 1 labelled sequences")
    videos = names if arm == "teacher" else labelled
    run = ctx.run_dir("distill", row_name(arm, k, res, iters))
    opt = str(sec.get("optimizer", "sgd"))
    fc = ctx.cfg["fastvsod"]
    sgd = dict(optimizer="sgd", momentum=0.9, weight_decay=5e-4, lr_policy="poly") if opt == "sgd" else {"optimizer": opt}
    settings = ctx.settings("distill", epochs=1, max_iters=iters, batch_size=int(sec["batch"]),
                            lr=float(sec.get("lr", fc["lr1"])), **sgd)
    teacher = teacher_run(ctx) if arm == "teacher" and len(labelled) < len(names) else None
    config = {"stage": "distill", "task": "vsod", "arm": arm, "k": int(k), "res": res, "profile": ctx.profile,
              "train_set": str(train.root), "labelled": hashlib.sha256("\n".join(labelled).encode()).hexdigest()[:12],
              "videos": hashlib.sha256("\n".join(videos).encode()).hexdigest()[:12]}
    if teacher is not None:
        from salkd.distill.maps import teacher_identity

        config["teacher"] = teacher_identity(teacher)
    kw = _model_kwargs(ctx)
    if ctx.reusable(run, config, {"name": "fastvsod", "kwargs": kw}, settings):
        return run
    cache = cache_lowres(train, as_size(res), paths.cache_dir() / "lowres", progress=ctx.progress)
    maps = None if teacher is None else teacher_train_maps(ctx, res)
    ds = _RowDataset(cache, videos, labelled, maps, seed=int(ctx.seed))
    model = ctx.build("fastvsod", **kw)

    def loss_fn(net: Any, b: dict[str, Any]):
        target = b["label"]
        if "teacher" in b:  # Y = the mask where the sequence is labelled, else the teacher's map
            w = b["has_label"].to(target.dtype).view(-1, 1, 1, 1)
            target = w * target + (1 - w) * b["teacher"]
        out = net.forward_train(b["frame"])
        return sum(bce(out[f"P{i}"].float(), target) for i in range(3)), {}

    fit(model, loss_fn, ds, run, settings, config=config, force=ctx.force, desc=f"distill {run.name}")
    return run


def jobs(ctx: Context) -> list[tuple[str, int]]:
    """Every row ``(arm, k)``: the ``teacher`` arm at each k (k = all sequences is masks alone, named so),
    the ``masks`` arm at each k strictly between 0 and all (when ``distill.vsod.arms`` lists it)."""
    sec = section(ctx)
    n = len(train_set(ctx).videos)
    ks = sorted({n if k == "all" else min(int(k), n) for k in sec["k"]})
    arms = list(sec.get("arms", ARMS))
    out = [("masks" if k == n else "teacher", k) for k in ks if "teacher" in arms or k == n]
    out += [("masks", k) for k in ks if 0 < k < n and "masks" in arms]
    return out


def _train_seed(ctx: Context, rows: Sequence[tuple[str, int]]) -> None:
    for arm, k in rows:
        train_row(ctx, arm, k)


def train_all(ctx: Context) -> dict[tuple[str, int], list[Path]]:
    """Train (or reuse) every row for every seed of ``distill.seeds`` (side by side in the workers); the
    teacher's maps and the low-res frames are made first, once. Returns ``{(arm, k): [run per seed]}``."""
    from salkd import paths, workers
    from salkd.data import cache_lowres

    rows = jobs(ctx)
    seeds = ctx.seeds("distill")
    cache_lowres(train_set(ctx), as_size(int(section(ctx)["res"])), paths.cache_dir() / "lowres", progress=ctx.progress)
    if any(arm == "teacher" for arm, _ in rows):
        teacher_train_maps(ctx, int(section(ctx)["res"]))
    workers.train_side_by_side(_train_seed, [(c, (rows,)) for c in seeds])
    return {r: [train_row(c, *r) for c in seeds] for r in rows}
