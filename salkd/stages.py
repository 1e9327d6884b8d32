"""Every stage of the three papers as one function (used by the notebooks and ``salkd train``).

Each stage takes a :class:`Context` (profile, data paths, run root, seed, device) and the run
folders of the stages it builds on, and returns its own run folder
``runs/<profile>/<stage>/<name>/``. A stage whose run folder is complete with the same config is
not retrained (``Context(force=True)`` retrains); an interrupted stage resumes from its checkpoint.

Stages (paper references in each docstring):

=====================  ==========================================================================
``prepare_data``       synthetic datasets (or the given real ones), split by video
``train_teacher``      DVA / SalNet / SSNet-style spatial teachers, TSNet-style temporal teacher
``teacher_knowledge``  a teacher's maps over the training set, reduced with R, cached (once)
``skd_students``       skd step 1: spatial and temporal students, mu-weighted soft + hard L2 loss
``skd_st``             skd step 2: S_st from the two students (or from scratch: Ablation-O)
``uva_student``        uvanet coupled distillation of the two-branch student (Fig. 6 variants)
``uva_st``             uvanet spatiotemporal joint optimization
``fastvsod_stage1``    fastvsod stage 1 on single frames
``fastvsod_stage2``    fastvsod stage 2: any of SD, TD, FE (fusion kind, FE_o / FE_t), alpha
=====================  ==========================================================================
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from salkd import paths
from salkd.atomic import save_npy, write_json
from salkd.config import get_profile
from salkd.runs import is_complete, read_json
from salkd.tensors import from_array
from salkd.train import TrainSettings, fit, resolve_device

__all__ = ["Context", "prepare_data", "train_teacher", "train_teachers", "teacher_knowledge", "flow_maps",
           "split_in_time", "skd_students", "skd_st", "uva_student", "uva_st", "fastvsod_stage1", "fastvsod_stage2",
           "evaluate_run", "STAGES", "run_stage"]

TASK_LABEL = {"fixation": "density", "vsod": "mask"}
VAL_METRIC = {"fixation": "nss", "vsod": "max_f"}


@dataclass
class Context:
    """Everything a stage needs besides its upstream runs.

    ``profile``: a profile name (``smoke``, ``quick``, ``real-cpu``, ``paper``); ``data``: dataset
    paths per task (``{"fixation": path, "vsod": path}``) overriding the profile's sources;
    ``runs``: the runs root (default :func:`salkd.paths.runs_dir`); ``overrides``: dotted config
    keys (``{"skd.mu": 0.3}``); ``force``: retrain complete runs.
    """

    profile: str = "quick"
    data: Mapping[str, str | os.PathLike] | None = None
    runs: str | os.PathLike | None = None
    overrides: Mapping[str, Any] | None = None
    seed: int | None = None
    device: str | None = None
    force: bool = False
    progress: bool = True
    cfg: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.cfg = get_profile(self.profile, self.overrides)
        if self.seed is None:
            self.seed = int(self.cfg["seed"])
        if self.device is None:
            self.device = str(self.cfg.get("device", "auto"))
        self._datasets: dict[tuple[str, str], Any] = {}

    # ---- folders --------------------------------------------------------------------------
    @property
    def runs_root(self) -> Path:
        return Path(self.runs) if self.runs is not None else paths.runs_dir()

    def run_dir(self, stage: str, name: str) -> Path:
        return self.runs_root / self.profile / stage / name

    # ---- data -----------------------------------------------------------------------------
    def dataset_root(self, task: str) -> Path:
        """The dataset folder of ``task`` (generating synthetic data on first use)."""
        if self.user_data(task):
            p = Path(self.data[task]).expanduser()
            if not p.exists():
                raise FileNotFoundError(f"{task} dataset path {p} does not exist")
            return p
        spec = self.cfg["data"][task]
        src = spec.get("source")
        if src == "synthetic":
            return _synthetic(task, spec, int(self.seed), self.progress)
        if isinstance(src, str) and src.startswith("shared:"):
            p = profile_path(src)
            if not p.exists():
                raise FileNotFoundError(f"profile {self.profile!r} reads {p} (the real sample data), which is not "
                                        f"here; set SALKD_SHARED or pass the dataset path")
            return p
        raise ValueError(f"profile {self.profile!r} has no {task} dataset: pass Context(data={{{task!r}: PATH}}) "
                         f"(CLI: --data {task}=PATH)")

    def user_data(self, task: str) -> bool:
        """True if the user passed their own dataset for ``task`` (profile data settings do not apply)."""
        return bool(self.data and self.data.get(task))

    def dataset(self, task: str, split: str) -> Any:
        """The ``split`` ("train" | "val" | "test") of the ``task`` dataset."""
        key = (task, split)
        if key not in self._datasets:
            self._datasets[key] = _split_dataset(self, task, split)
        return self._datasets[key]

    def cache(self, task: str, split: str, res: int | Sequence[int]) -> Any:
        from salkd.data import cache_lowres

        size = _size(res)
        return cache_lowres(self.dataset(task, split), size, paths.cache_dir() / "lowres", progress=self.progress)

    def settings(self, **kw: Any) -> TrainSettings:
        base = dict(seed=int(self.seed), device=str(self.device), progress=self.progress,
                    precision=str(self.cfg.get("precision", "fp32")))
        base.update(kw)
        return TrainSettings(**base)


def profile_path(src: str | os.PathLike) -> Path:
    """A path named in a profile: ``shared:<rel>`` is under the shared sample-data folder, anything
    else a file-system path."""
    s = str(src)
    return paths.shared_data() / s.split(":", 1)[1] if s.startswith("shared:") else Path(s).expanduser()


def _size(res: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(res, (int, np.integer)):
        return int(res), int(res)
    h, w = (int(r) for r in res)
    return h, w


def _synthetic(task: str, spec: Mapping[str, Any], seed: int, progress: bool) -> Path:
    from salkd.data.synthetic import make_dataset

    h, w = spec["size"]
    name = f"synthetic-{task}-{spec['style']}-{spec['n_videos']}x{spec['n_frames']}-{h}x{w}-seed{seed}"
    root = paths.data_dir() / name
    if (root / "salkd_synthetic.json").is_file():
        return root
    return make_dataset(root, kind=task, n_videos=int(spec["n_videos"]), n_frames=int(spec["n_frames"]),
                        size=(int(h), int(w)), style=str(spec["style"]), seed=seed, progress=progress)


def _split_dataset(ctx: Context, task: str, split: str) -> Any:
    """Open the split: ``splits.json`` / split folders if the dataset has them, else by video order.

    The split settings are ``data.<task>.split`` if given, else ``data.split``. A dataset with fewer
    than 3 videos (or ``split.by = "time"``) is split in time instead: see :func:`split_in_time`.
    """
    from salkd.data import DatasetError, open_dataset

    root = ctx.dataset_root(task)
    spec = ctx.cfg["data"].get(task, {})
    if spec.get("val_source") and not ctx.user_data(task):
        # a separate validation source gives val and test; all of ``source`` is for training
        return open_dataset(profile_path(spec["val_source"]) if split in ("val", "test") else root)
    try:
        return open_dataset(root, split=split)
    except DatasetError:
        pass
    full = open_dataset(root)
    names = [v.name for v in full.videos]
    fr = dict(spec.get("split") or ctx.cfg["data"].get("split", {"train": 0.7, "val": 0.3}))
    if fr.get("by", "video") == "time" or len(names) < 3:
        if fr.get("by", "video") != "time":
            warnings.warn(f"{root} has {len(names)} video(s) and no split information: splitting each video in "
                          f"time (first {float(fr.get('train', 0.7)):.0%} of its frames for training). Add a "
                          f"splits.json mapping split -> video names to split by video.", stacklevel=3)
        return split_in_time(full, split, train=float(fr.get("train", 0.7)), gap=int(fr.get("gap", 0)),
                             clip=fr.get("clip"))
    n_train = max(1, int(round(len(names) * float(fr.get("train", 0.7)))))
    n_train = min(n_train, len(names) - 2)
    rest = names[n_train:]
    half = max(1, len(rest) // 2)
    parts = {"train": names[:n_train], "val": rest[:half], "test": rest[half:]}
    return full.subset(parts[split])


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


# ---- teachers ------------------------------------------------------------------------------
def flow_maps(ctx: Context, cache: Any) -> dict[str, np.ndarray]:
    """Optical flow t -> t+1 (DIS, at the cache's resolution) of every video, computed once and cached.

    The last frame gets the negated flow towards its predecessor. Arrays (T, H, W, 2) float32.
    """
    from tqdm.auto import tqdm

    from salkd.models.flow import optical_flow

    tag = hashlib.sha256(str(cache.path).encode()).hexdigest()[:12]
    out: dict[str, np.ndarray] = {}
    for v in tqdm(cache.videos, desc="optical flow", disable=not ctx.progress, unit="video"):
        f = paths.cache_dir() / "flow" / tag / f"{_safe(v)}.npy"
        frames = cache.video(v)["frames"]
        if f.is_file():
            arr = np.load(f)
            if arr.shape[0] == frames.shape[0]:
                out[v] = arr.astype(np.float32)
                continue
        n = frames.shape[0]
        flows = []
        for t in range(n):
            if t + 1 < n:
                flows.append(optical_flow(frames[t], frames[t + 1]))
            elif n > 1:
                flows.append(-optical_flow(frames[t], frames[t - 1]))
            else:
                flows.append(np.zeros(frames.shape[1:3] + (2,), np.float32))
        arr = np.stack(flows).astype(np.float16)
        save_npy(f, arr)
        out[v] = arr.astype(np.float32)
    return out


def _safe(name: str) -> str:
    return name.replace("/", "__")


def _val_fn(ctx: Context, task: str, res: Any, output: str | None = None):
    from salkd.evaluate import evaluate

    limit = ctx.cfg["eval"].get("max_frames_per_video") or 16
    ds = ctx.dataset(task, "val")
    metric = VAL_METRIC[task]

    def fn(model: torch.nn.Module) -> dict[str, float]:
        m = model.deploy() if hasattr(model, "deploy") and getattr(model, "input_kind", "") != "pair" else model
        df = evaluate(m, ds, res, device=str(ctx.device), labels="cache", max_frames_per_video=limit,
                      progress=False, seed=int(ctx.seed), output=output)
        row = df.loc["overall"]
        keys = ["nss", "cc", "sim", "auc_judd"] if task == "fixation" else ["max_f", "mae", "s_measure"]
        return {k: float(row[k]) for k in keys if k in row} | {"metric": float(row[metric])}

    return fn


def _teacher_loss(task: str):
    import torch.nn.functional as F

    def loss_fn(net: Any, batch: dict[str, Any]):
        y = batch["label"]
        if net.input_kind == "flow":
            out = {"out": net(batch["frame"], batch["flow"])}
        elif hasattr(net.module, "forward_train"):
            out = net.forward_train(batch["frame"])
        else:
            out = {"out": net(batch["frame"])}
        losses = {k: F.binary_cross_entropy_with_logits(v.float(), y) for k, v in out.items()}
        total = sum(losses.values())
        return total, {k: float(v.detach()) for k, v in losses.items()}

    return loss_fn


def train_teacher(ctx: Context, arch: str, task: str = "fixation", name: str | None = None) -> Path:
    """Train a teacher at high resolution (skd Sec. III-A, uvanet Sec. 3: T_spa / T_tem).

    ``arch``: "dva" (multi-level side outputs, deeply supervised), "salnet", "ssnet" (spatial) or
    "tsnet" (temporal: frame + optical flow t -> t+1). The papers distil from pretrained teachers
    whose weights are not available here, so salkd trains its own on the training videos: sigmoid
    cross-entropy against the density map (fixation task) or the mask (VSOD), Adam, augmentation
    (crop, rotation <= 10 degrees, flip). Validation metric: NSS (fixation) or max-F (VSOD).
    """
    from salkd.data import FrameDataset

    tc = ctx.cfg["teacher"]
    res = _size(tc["res"])
    cache = ctx.cache(task, "train", res)
    extra = {"flow": flow_maps(ctx, cache)} if arch == "tsnet" else None
    ds = FrameDataset(cache, label=TASK_LABEL[task], augment=True, seed=int(ctx.seed), extra=extra)
    model = _build(ctx, f"teacher_{arch}", **({} if tc.get("width") is None else {"width": float(tc["width"])}))
    run = ctx.run_dir("teachers", name or f"{arch}-{task}")
    settings = ctx.settings(epochs=int(tc["epochs"]), batch_size=int(tc["batch"]), lr=float(tc["lr"]),
                            optimizer="adam", select_metric="metric")
    config = {"stage": "teachers", "arch": arch, "task": task, "res": list(res),
              "dataset": str(ctx.dataset_root(task)), "profile": ctx.profile}
    fit(model, _teacher_loss(task), ds, run, settings, val_fn=_val_fn(ctx, task, res), config=config,
        force=ctx.force, desc=f"teacher {arch}")
    return run


def train_teachers(ctx: Context, task: str = "fixation") -> dict[str, Path]:
    """All teachers of the profile: its spatial teachers and the temporal teacher."""
    tc = ctx.cfg["teacher"]
    out = {a: train_teacher(ctx, a, task) for a in tc["spatial"]}
    out[tc["temporal"]] = train_teacher(ctx, tc["temporal"], task)
    return out


def teacher_knowledge(ctx: Context, teacher_run: str | os.PathLike, res: int | Sequence[int],
                      task: str = "fixation", split: str = "train") -> dict[str, np.ndarray]:
    """The teacher's maps T(I) over a split, reduced with R to ``res`` and cached (skd eq. 1-4).

    The teacher runs once per frame at its own resolution; its map ``sigmoid(logits)`` is reduced
    with area interpolation (R) and stored as uint8 under ``<teacher_run>/knowledge/...``, so that
    no epoch recomputes it. Returns ``{video: (T, h, w) uint8}``.
    """
    from tqdm.auto import tqdm

    from salkd.data.lowres import reduce
    from salkd.evaluate import predict_cache
    from salkd.models import from_run

    teacher_run = Path(teacher_run)
    if not is_complete(teacher_run):
        raise FileNotFoundError(f"teacher run {teacher_run} is not complete; train it first (stage 'teachers')")
    cfg = read_json(teacher_run / "config.json")
    tres = _size(cfg["res"])
    size = _size(res)
    src = ctx.cache(task, split, tres)
    key = hashlib.sha256(f"{src.path}|{(teacher_run / 'checkpoint.pt').stat().st_mtime_ns}".encode()).hexdigest()[:12]
    base = teacher_run / "knowledge" / f"{split}-{key}" / f"{size[0]}x{size[1]}"
    out: dict[str, np.ndarray] = {}
    missing = [v for v in src.videos if not (base / f"{_safe(v)}.npy").is_file()]
    if missing:
        dev = resolve_device(str(ctx.device))
        model = from_run(teacher_run).to(dev).eval()
        flows = flow_maps(ctx, src) if getattr(model, "input_kind", "frame") == "flow" else None
        for v in tqdm(missing, desc=f"teacher maps {teacher_run.name} -> {size[0]}x{size[1]}",
                      disable=not ctx.progress, unit="video"):
            frames = src.video(v)["frames"]
            if flows is not None:
                maps = _predict_flow(model, frames, flows[v], dev)
            else:
                maps = predict_cache(model, frames, device=dev)
            small = np.stack([reduce(m, size) for m in maps])
            save_npy(base / f"{_safe(v)}.npy", np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8))
    for v in src.videos:
        out[v] = np.load(base / f"{_safe(v)}.npy")
    return out


@torch.no_grad()
def _predict_flow(model: torch.nn.Module, frames: np.ndarray, flows: np.ndarray, dev: torch.device,
                  batch: int = 32) -> np.ndarray:
    res = []
    for s in range(0, frames.shape[0], batch):
        x = from_array(frames[s:s + batch]).to(dev).permute(0, 3, 1, 2).float() / 255
        f = from_array(flows[s:s + batch]).to(dev).permute(0, 3, 1, 2).float()
        res.append(torch.sigmoid(model(x, f).float())[:, 0].cpu().numpy())
    return np.concatenate(res)


# ---- skd -----------------------------------------------------------------------------------
def _student_cfg(ctx: Context, paper: str) -> dict[str, Any]:
    return ctx.cfg[paper]


def skd_students(ctx: Context, spatial_teacher: str | os.PathLike, temporal_teacher: str | os.PathLike, *,
                 res: int | None = None, mu: float | None = None, name: str | None = None) -> dict[str, Path]:
    """skd step 1 (eq. 1-4): the spatial student S_s and the temporal student S_t, distilled separately.

    S_s sees R(I_n) and learns mu * L_soft(S_s, R(T_s(I_n))) + (1 - mu) * L_hard(S_s, R(Y_n));
    S_t sees R(I_n) and R(I_{n+1}) (6 channels) and learns the same loss with T_t (the TSNet-style
    teacher on frame n and the flow n -> n+1). Adam, lr 1e-3, batch 128 (skd Sec. IV-A).
    Returns ``{"spatial": run, "temporal": run}``.
    """
    from salkd.data import FrameDataset, FramePairDataset
    from salkd.losses import skd_student_loss

    sc = _student_cfg(ctx, "skd")
    res = int(res or sc["res"])
    mu = float(sc["mu"] if mu is None else mu)
    # default names: each student is named after its own teacher, so the temporal student (which only
    # depends on the temporal teacher) is trained once and shared by every spatial teacher's S_st
    names = {kind: f"{name}-{kind}" if name else f"{Path(t).name.split('-')[0]}-{res}-mu{mu:g}-{kind}"
             for kind, t in (("spatial", spatial_teacher), ("temporal", temporal_teacher))}
    cache = ctx.cache("fixation", "train", res)
    t_spa = teacher_knowledge(ctx, spatial_teacher, res)
    t_tem = teacher_knowledge(ctx, temporal_teacher, res)
    settings = ctx.settings(epochs=int(sc["epochs"]), batch_size=int(sc["batch"]), lr=float(sc["lr"]),
                            select_metric="metric")
    runs = {}
    for kind, teacher_run, maps in (("spatial", spatial_teacher, t_spa), ("temporal", temporal_teacher, t_tem)):
        if kind == "spatial":
            ds: Any = FrameDataset(cache, label="density", augment=True, seed=int(ctx.seed), extra={"teacher": maps})
        else:
            ds = FramePairDataset(cache, label="density", offsets=[1], augment=True, seed=int(ctx.seed),
                                  extra={"teacher": maps})
        model = _build(ctx, f"skd_{kind}")

        def loss_fn(net: Any, b: dict[str, Any], kind: str = kind):
            logits = net(b["frame"]) if kind == "spatial" else net(b["frame"], b["next"])
            loss = skd_student_loss(logits.float(), b["teacher"], b["label"], mu=mu)
            return loss, {}

        run = ctx.run_dir("skd_students", names[kind])
        config = {"stage": "skd_students", "kind": kind, "res": res, "mu": mu, "teacher": str(teacher_run),
                  "dataset": str(ctx.dataset_root("fixation")), "profile": ctx.profile}
        fit(model, loss_fn, ds, run, settings, val_fn=_val_fn(ctx, "fixation", res), config=config,
            force=ctx.force, desc=f"skd {kind} {res}")
        runs[kind] = run
    return runs


def skd_st(ctx: Context, spatial_run: str | os.PathLike | None, temporal_run: str | os.PathLike | None, *,
           init: str = "students", res: int | None = None, name: str | None = None) -> Path:
    """skd step 2 (eq. 5): the spatiotemporal model S_st, hard loss only.

    ``init="students"``: the first 8 layers of both streams copied from S_s and S_t
    (``salkd.models.from_students``), fusion subnet random. ``init="scratch"``: everything random
    (the paper's Ablation-O, "without the separate spatial/temporal distillation").
    """
    from salkd.data import FramePairDataset
    from salkd.losses import skd_st_loss
    from salkd.models import from_run, from_students

    sc = _student_cfg(ctx, "skd")
    if init == "students":
        if spatial_run is None or temporal_run is None:
            raise ValueError("skd_st(init='students') needs the spatial and temporal student runs")
        s_cfg = read_json(Path(spatial_run) / "config.json")
        res = int(res or s_cfg["res"])
        _seed_weights(ctx)
        model = from_students(from_run(spatial_run), from_run(temporal_run))
        model.salkd_spec = {"name": "skd_st", "kwargs": {}}
        default = Path(spatial_run).name.rsplit("-spatial", 1)[0]
    elif init == "scratch":
        res = int(res or sc["res"])
        model = _build(ctx, "skd_st")
        default = f"scratch-{res}"
    else:
        raise ValueError(f"init must be 'students' or 'scratch', got {init!r}")
    cache = ctx.cache("fixation", "train", res)
    ds = FramePairDataset(cache, label="density", offsets=[1], augment=True, seed=int(ctx.seed))

    def loss_fn(net: Any, b: dict[str, Any]):
        return skd_st_loss(net(b["frame"], b["next"]).float(), b["label"]), {}

    run = ctx.run_dir("skd_st", name or default)
    settings = ctx.settings(epochs=int(sc["st_epochs"]), batch_size=int(sc["batch"]), lr=float(sc["lr"]),
                            select_metric="metric")
    config = {"stage": "skd_st", "init": init, "res": res, "spatial": str(spatial_run), "temporal": str(temporal_run),
              "dataset": str(ctx.dataset_root("fixation")), "profile": ctx.profile}
    fit(model, loss_fn, ds, run, settings, val_fn=_val_fn(ctx, "fixation", res), config=config,
        force=ctx.force, desc=f"skd S_st {res}")
    return run


# ---- uvanet --------------------------------------------------------------------------------
def uva_student(ctx: Context, spatial_teacher: str | os.PathLike | None, temporal_teacher: str | os.PathLike | None,
                *, res: int | None = None, mu: float | None = None, block: str = "cares", distill: bool = True,
                name: str | None = None) -> Path:
    """uvanet coupled knowledge distillation (eq. 3-6) of the two-branch student S.

    Spatial branch: L_spa = (1 - mu) L_hard + mu L_soft against T_spa(I_t); temporal branch: L_tem
    with T_tem(I_t, I_{t+1}); summed. ``distill=False`` trains from scratch on the hard loss only
    (Fig. 6 "+scratch" variants). ``block``: "cares" (CA-Res), "mb" (MobileNetV2), "mbse" (MB+SE).
    Adam, lr 5e-4, batch 96 (uvanet Sec. 4.1).
    """
    from salkd.data import FramePairDataset
    from salkd.losses import uva_coupled_loss

    uc = _student_cfg(ctx, "uvanet")
    res = int(res or uc["res"])
    mu = float(uc["mu"] if mu is None else mu) if distill else 0.0
    cache = ctx.cache("fixation", "train", res)
    if distill:
        if spatial_teacher is None or temporal_teacher is None:
            raise ValueError("uva_student(distill=True) needs the spatial and temporal teacher runs")
        extra = {"t_spa": teacher_knowledge(ctx, spatial_teacher, res),
                 "t_tem": teacher_knowledge(ctx, temporal_teacher, res)}
        tname = Path(spatial_teacher).name.split("-")[0]
    else:
        extra, tname = None, "scratch"
    ds = FramePairDataset(cache, label="density", offsets=[1], augment=True, seed=int(ctx.seed), extra=extra)
    model = _build(ctx, "uva_student", block=block)

    def loss_fn(net: Any, b: dict[str, Any]):
        s, t = net(b["frame"], b["next"])
        ts = b["t_spa"] if distill else b["label"]
        tt = b["t_tem"] if distill else b["label"]
        return uva_coupled_loss((s.float(), t.float()), ts, tt, b["label"], mu=mu), {}

    run = ctx.run_dir("uva_student", name or f"{block}-{tname}-{res}")
    settings = ctx.settings(epochs=int(uc["epochs"]), batch_size=int(uc["batch"]), lr=float(uc["lr"]),
                            select_metric="metric")
    config = {"stage": "uva_student", "block": block, "distill": distill, "res": res, "mu": mu,
              "spatial_teacher": str(spatial_teacher), "temporal_teacher": str(temporal_teacher),
              "dataset": str(ctx.dataset_root("fixation")), "profile": ctx.profile}
    fit(model, loss_fn, ds, run, settings, val_fn=_val_fn(ctx, "fixation", res, output="spatial"), config=config,
        force=ctx.force, desc=f"uva student {block} {res}")
    return run


def uva_st(ctx: Context, student_run: str | os.PathLike | None, *, init: str = "student", block: str = "cares",
           res: int | None = None, name: str | None = None) -> Path:
    """uvanet spatiotemporal joint optimization (eq. 7-8): S_sp from S's first 6 blocks
    (``salkd.models.from_student``) plus a fusion subnet, hard loss only; ``init="scratch"`` trains
    S_sp from random weights (Fig. 6 "+scratch")."""
    from salkd.data import FramePairDataset
    from salkd.losses import uva_st_loss
    from salkd.models import build, from_run, from_student

    uc = _student_cfg(ctx, "uvanet")
    _seed_weights(ctx)
    if init == "student":
        if student_run is None:
            raise ValueError("uva_st(init='student') needs the uva_student run")
        scfg = read_json(Path(student_run) / "config.json")
        res = int(res or scfg["res"])
        block = scfg["block"]
        model = from_student(from_run(student_run))
        model.salkd_spec = {"name": "uva_st", "kwargs": {"block": block}}
        default = Path(student_run).name
    elif init == "scratch":
        res = int(res or uc["res"])
        model = build("uva_st", block=block)
        default = f"{block}-scratch-{res}"
    else:
        raise ValueError(f"init must be 'student' or 'scratch', got {init!r}")
    cache = ctx.cache("fixation", "train", res)
    ds = FramePairDataset(cache, label="density", offsets=[1], augment=True, seed=int(ctx.seed))

    def loss_fn(net: Any, b: dict[str, Any]):
        return uva_st_loss(net(b["frame"], b["next"]).float(), b["label"]), {}

    run = ctx.run_dir("uva_st", name or default)
    settings = ctx.settings(epochs=int(uc["st_epochs"]), batch_size=int(uc["batch"]), lr=float(uc["lr"]),
                            select_metric="metric")
    config = {"stage": "uva_st", "init": init, "block": block, "res": res, "student": str(student_run),
              "dataset": str(ctx.dataset_root("fixation")), "profile": ctx.profile}
    fit(model, loss_fn, ds, run, settings, val_fn=_val_fn(ctx, "fixation", res), config=config,
        force=ctx.force, desc=f"uva S_sp {res}")
    return run


# ---- fastvsod ------------------------------------------------------------------------------
def fastvsod_stage1(ctx: Context, name: str | None = None) -> Path:
    """fastvsod stage 1: the network on single frames, deep supervision sum_i BCE(P_i, G), SGD lr 1e-3,
    momentum 0.9, weight decay 5e-4, poly policy (fastvsod Sec. 4.1). The encoder is not used."""
    from salkd.data import FrameDataset
    from salkd.losses import bce

    fc = ctx.cfg["fastvsod"]
    res = int(fc["res"])
    cache = ctx.cache("vsod", "train", res)
    ds = FrameDataset(cache, label="mask", augment=True, seed=int(ctx.seed))
    model = _build(ctx, "fastvsod", backbone=str(fc["backbone"]), width=float(fc["width"]), fusion="attention")

    def loss_fn(net: Any, b: dict[str, Any]):
        out = net.forward_train(b["frame"])
        return sum(bce(out[f"P{i}"].float(), b["label"]) for i in range(3)), {}

    run = ctx.run_dir("fastvsod_stage1", name or f"{fc['backbone']}-{res}")
    settings = ctx.settings(epochs=int(fc["stage1_epochs"]), batch_size=int(fc["batch"]), lr=float(fc["lr1"]),
                            optimizer="sgd", momentum=0.9, weight_decay=5e-4, lr_policy="poly",
                            select_metric="metric")
    config = {"stage": "fastvsod_stage1", "res": res, "dataset": str(ctx.dataset_root("vsod")), "profile": ctx.profile}
    fit(model, loss_fn, ds, run, settings, val_fn=_val_fn(ctx, "vsod", res), config=config, force=ctx.force,
        desc="fastvsod stage 1")
    return run


def fastvsod_stage2(ctx: Context, stage1_run: str | os.PathLike, *, sd: bool = True, td: bool = True,
                    fe: str | None = "train", fusion: str = "attention", alpha: float | None = None,
                    name: str | None = None) -> Path:
    """fastvsod stage 2: fine-tune from stage 1 with any of spatial self-distillation (SD, eq. 3),
    temporal distillation (TD, eq. 4 / 6) and the inter-frame encoder (FE, eq. 5).

    ``fe``: None (no encoder), "train" (FE_o: used in training, removed at test — the paper's final
    model) or "test" (FE_t: kept at test time). ``fusion``: "attention" (mutual attention), "add",
    "concat", "multiply" (Fig. 6). ``alpha`` weighs the distillation terms (0.7 in the paper, Fig. 7).
    Without SD the spatial loss is sum_i BCE(P_i, G); without TD the next-frame predictions (and P3)
    are supervised by G only. SGD lr 1e-4, momentum 0.95, weight decay 5e-4, poly policy.
    """
    from salkd.data import FrameDataset, FramePairDataset
    from salkd.losses import fastvsod_spatial_loss, fastvsod_temporal_loss
    from salkd.models import read_state_dict

    if fe not in (None, "train", "test"):
        raise ValueError(f"fe must be None, 'train' or 'test', got {fe!r}")
    fc = ctx.cfg["fastvsod"]
    alpha = float(fc["alpha"] if alpha is None else alpha)
    s1 = read_json(Path(stage1_run) / "config.json")
    res = int(s1["res"])
    kw = dict(s1["model"]["kwargs"])
    kw.update({"fusion": fusion, "encoder": fe is not None, "keep_encoder_at_test": fe == "test"})
    model = _build(ctx, "fastvsod", **kw)
    state = read_state_dict(Path(stage1_run) / "checkpoint.pt")
    own = model.state_dict()
    loadable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape
                and not k.startswith(("encoder.", "unit3."))}
    model.load_state_dict(loadable, strict=False)
    cache = ctx.cache("vsod", "train", res)
    pairs = td or fe is not None
    if pairs:
        ds: Any = FramePairDataset(cache, label="mask", max_offset=int(fc["max_offset"]), augment=True,
                                   seed=int(ctx.seed))
    else:
        ds = FrameDataset(cache, label="mask", augment=True, seed=int(ctx.seed))

    def loss_fn(net: Any, b: dict[str, Any]):
        out = net.forward_train(b["frame"], b["next"]) if pairs else net.forward_train(b["frame"])
        out = {k: v.float() for k, v in out.items()}
        loss = fastvsod_spatial_loss(out, b["label"], alpha=alpha if sd else 0.0)
        if pairs:
            loss = loss + fastvsod_temporal_loss(out, b["label_next"], alpha=alpha if td else 0.0)
        return loss, {}

    tag = "+".join([p for p, on in (("SD", sd), ("TD", td)) if on] + ([f"FE_{'o' if fe == 'train' else 't'}"]
                                                                       if fe else [])) or "BS"
    run = ctx.run_dir("fastvsod_stage2", name or f"{tag}-{fusion}-a{alpha:g}")
    settings = ctx.settings(epochs=int(fc["stage2_epochs"]), batch_size=int(fc["batch"]), lr=float(fc["lr2"]),
                            optimizer="sgd", momentum=0.95, weight_decay=5e-4, lr_policy="poly",
                            select_metric="metric")
    config = {"stage": "fastvsod_stage2", "stage1": str(stage1_run), "sd": sd, "td": td, "fe": fe,
              "fusion": fusion, "alpha": alpha, "res": res, "dataset": str(ctx.dataset_root("vsod")),
              "profile": ctx.profile}
    fit(model, loss_fn, ds, run, settings, val_fn=_val_fn(ctx, "vsod", res), config=config, force=ctx.force,
        desc=f"fastvsod stage 2 {tag}")
    return run


# ---- evaluation of runs --------------------------------------------------------------------
def evaluate_run(ctx: Context, run: str | os.PathLike, split: str = "test", *, output: str | None = None,
                 task: str | None = None) -> pd.DataFrame:
    """Evaluate a run's best weights on a split at the run's resolution; cached as
    ``<run>/eval_<split>[_<output>].csv`` and recomputed when the checkpoint is newer or the
    evaluation settings (dataset, frame limit, seed, shuffle map; kept in ``eval_<split>.json``) changed."""
    from salkd.atomic import write_text
    from salkd.evaluate import evaluate, load_shuffle_map

    run = Path(run)
    cfg = read_json(run / "config.json")
    task = task or cfg.get("task") or ("vsod" if str(cfg.get("stage", "")).startswith("fastvsod") else "fixation")
    out = run / f"eval_{split}{'_' + output if output else ''}.csv"
    ck = run / "checkpoint.pt"
    ds = ctx.dataset(task, split)
    limit = ctx.cfg["eval"].get("max_frames_per_video")
    smap_path = _shuffle_map_path(ctx) if task == "fixation" else None
    settings = {"data": str(ds.root), "videos": len(ds.videos), "max_frames_per_video": limit,
                "seed": int(ctx.seed), "split": split,
                "shuffle_map": None if smap_path is None else
                [str(smap_path), smap_path.stat().st_mtime_ns if smap_path.is_file() else None]}
    key_file = out.with_suffix(".json")
    if (out.is_file() and ck.is_file() and out.stat().st_mtime_ns >= ck.stat().st_mtime_ns and not ctx.force
            and key_file.is_file() and read_json(key_file) == settings):
        return pd.read_csv(out, index_col=0)
    smap = load_shuffle_map(smap_path) if smap_path is not None else None
    df = evaluate(run, ds, cfg["res"], device=str(ctx.device), output=output,
                  max_frames_per_video=limit, progress=ctx.progress, seed=int(ctx.seed), shuffle_map=smap)
    write_text(out, df.to_csv())
    write_json(key_file, settings)
    return df


def _shuffle_map_path(ctx: Context) -> Path | None:
    """``eval.shuffle_map`` of the profile as a path (``shared:`` = under the shared data folder); None
    when unset or when the user gave their own fixation dataset (the map belongs to the profile's)."""
    src = ctx.cfg["eval"].get("shuffle_map")
    if not src or ctx.user_data("fixation"):
        return None
    return profile_path(src)


def _seed_weights(ctx: Context) -> None:
    """Seed the global torch RNG so that the next model's initial weights come from ``ctx.seed``,
    whatever ran before in this process (a stage's weights must not depend on the call history)."""
    torch.manual_seed(int(ctx.seed))


def _build(ctx: Context, name: str, **kw: Any) -> torch.nn.Module:
    """:func:`salkd.models.build` with freshly seeded weights (see :func:`_seed_weights`)."""
    from salkd.models import build

    _seed_weights(ctx)
    return build(name, **kw)


def prepare_data(ctx: Context) -> dict[str, Path]:
    """Make (or find) the datasets of the profile and return their roots per task."""
    return {task: ctx.dataset_root(task) for task in ("fixation", "vsod")}


# ---- CLI entry -----------------------------------------------------------------------------
STAGES = ["data", "teachers", "skd_students", "skd_st", "uva_student", "uva_st", "fastvsod_stage1",
          "fastvsod_stage2"]


def run_stage(ctx: Context, stage: str, **kw: Any) -> Any:
    """Run ``stage`` with its upstream runs made (or reused) first: how ``salkd train STAGE`` works."""
    tc = ctx.cfg["teacher"]
    if stage == "data":
        return prepare_data(ctx)
    if stage == "teachers":
        return train_teachers(ctx)
    if stage in ("skd_students", "skd_st", "uva_student", "uva_st"):
        spa = train_teacher(ctx, kw.pop("teacher", tc["spatial"][0]))
        tem = train_teacher(ctx, tc["temporal"])
        if stage == "skd_students":
            return skd_students(ctx, spa, tem, **kw)
        if stage == "skd_st":
            s = skd_students(ctx, spa, tem, res=kw.get("res"))
            return skd_st(ctx, s["spatial"], s["temporal"], **kw)
        if stage == "uva_student":
            return uva_student(ctx, spa, tem, **kw)
        st = uva_student(ctx, spa, tem, res=kw.get("res"))
        return uva_st(ctx, st, **kw)
    if stage == "fastvsod_stage1":
        return fastvsod_stage1(ctx, **kw)
    if stage == "fastvsod_stage2":
        return fastvsod_stage2(ctx, fastvsod_stage1(ctx), **kw)
    raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
