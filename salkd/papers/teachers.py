"""The teachers of skd and uvanet: their training, their maps over a split (cached), optical flow.

The papers distil from pretrained DVA / SalNet / SSNet (spatial) and TSNet (temporal) teachers whose
weights are not available here, so salkd trains its own "style" teachers (:func:`train_teacher`).
:func:`teacher_knowledge` turns a teacher into soft labels, reduced to the student's resolution with R
(skd eq. 1-4, uvanet eq. 3-6), computed once and cached beside the teacher's run.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from salkd import paths, results
from salkd.atomic import save_npy
from salkd.context import TASK_LABEL, Context, val_fn
from salkd.declarations import Paper, declare
from salkd.device import resolve_device
from salkd.locks import locked
from salkd.runs import is_complete, read_json
from salkd.sizes import as_size
from salkd.tensors import from_array
from salkd.train import fit

__all__ = ["train_teacher", "train_teachers", "teacher_knowledge", "flow_maps", "run"]

#: the teachers shared by skd and uvanet (their stage and networks); a VSOD teacher run records its task
declare(Paper("teachers", "fixation", stages=("teachers",), models=("teacher_", "pretrained:tinyhd")))


def flow_maps(ctx: Context, cache: Any) -> dict[str, np.ndarray]:
    """Optical flow t -> t+1 (DIS, at the cache's resolution) of every video, computed once and cached.

    The last frame gets the negated flow towards its predecessor. Arrays (T, H, W, 2) float32.
    """
    from tqdm.auto import tqdm

    from salkd.models.flow import optical_flow

    tag = hashlib.sha256(str(cache.path).encode()).hexdigest()[:12]
    out: dict[str, np.ndarray] = {}
    todo = []
    for v in cache.videos:
        f = paths.cache_dir() / "flow" / tag / f"{_safe(v)}.npy"
        arr = np.load(f) if f.is_file() else None
        if arr is not None and arr.shape[0] == len(cache.video(v)["frames"]):
            out[v] = arr.astype(np.float32)
        else:
            todo.append((v, f))
    for v, f in tqdm(todo, desc="optical flow", disable=not ctx.progress or not todo, unit="video", delay=1.0):
        arr = _video_flow(cache.video(v)["frames"], optical_flow).astype(np.float16)
        save_npy(f, arr)
        out[v] = arr.astype(np.float32)
    return {v: out[v] for v in cache.videos}


def _video_flow(frames: np.ndarray, optical_flow: Any) -> np.ndarray:
    """Flow t -> t+1 of every frame; the last frame gets the negated flow towards its predecessor."""
    n = frames.shape[0]
    flows = []
    for t in range(n):
        if t + 1 < n:
            flows.append(optical_flow(frames[t], frames[t + 1]))
        elif n > 1:
            flows.append(-optical_flow(frames[t], frames[t - 1]))
        else:
            flows.append(np.zeros(frames.shape[1:3] + (2,), np.float32))
    return np.stack(flows)


def _safe(name: str) -> str:
    return name.replace("/", "__")


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
    from salkd.map_sources import is_pretrained, pretrained_run

    if is_pretrained(arch):  # a published teacher (CSNet, TinyHD): its released weights, nothing to train
        return pretrained_run(ctx, arch, task)
    tc = ctx.cfg["teacher"]
    if (tc.get("checkpoints") or {}).get(arch):  # the user's own teacher weights: distil from them
        return _external_teacher(ctx, arch, task, tc["checkpoints"][arch])
    res = as_size(tc["res"])
    run = ctx.run_dir("teachers", name or f"{arch}-{task}")
    settings = ctx.settings(epochs=int(tc["epochs"]), batch_size=int(tc["batch"]), lr=float(tc["lr"]),
                            optimizer="adam", select_metric="metric")
    config = {"stage": "teachers", "arch": arch, "task": task, "res": list(res),
              **ctx.data_key(task), "profile": ctx.profile}
    kw = {} if tc.get("width") is None else {"width": float(tc["width"])}
    if ctx.reusable(run, config, {"name": f"teacher_{arch}", "kwargs": kw}, settings):
        return run
    cache = ctx.cache(task, "train", res)
    extra = {"flow": flow_maps(ctx, cache)} if arch == "tsnet" else None
    ds = FrameDataset(cache, label=TASK_LABEL[task], augment=True, seed=int(ctx.seed), extra=extra)
    model = ctx.build(f"teacher_{arch}", **kw)
    model.salkd_task = task  # a teacher arch predicts either task: what its validation scores it as
    fit(model, _teacher_loss(task), ds, run, settings, val_fn=val_fn(ctx, task, res), config=config,
        force=ctx.force, desc=f"teacher {arch}")
    return run


def _external_teacher(ctx: Context, arch: str, task: str, src: str) -> Path:
    """A teacher given as ``teacher.checkpoints.<arch>``: a complete salkd run folder is used as it is; a
    state-dict file (of ``teacher_<arch>`` at the profile's teacher width) becomes a run folder whose
    checkpoint is that file's weights, checked key by key against the architecture; the folder records the
    file's SHA256 and is rewritten only when the file changed (students of the old weights then become stale)."""
    from salkd.atomic import write_json
    from salkd.context import profile_path
    from salkd.fingerprints import file_sha256
    from salkd.models import build, load_state_checked, read_state_dict
    from salkd.train_state import save_torch

    path = profile_path(src)
    if path.is_dir():
        if not is_complete(path):
            raise FileNotFoundError(f"teacher.checkpoints.{arch} = {path}: not a complete salkd run folder")
        _check_teacher_run(path, arch, task)
        return path
    if not path.is_file():
        raise FileNotFoundError(f"teacher.checkpoints.{arch} = {path} does not exist")
    tc = ctx.cfg["teacher"]
    kw = {} if tc.get("width") is None else {"width": float(tc["width"])}
    model = build(f"teacher_{arch}", **kw)
    load_state_checked(model, read_state_dict(path), source=str(path))   # refuses another architecture
    run = ctx.run_dir("teachers", f"{arch}-{task}-external")
    config = {"stage": "teachers", "arch": arch, "task": task, "res": list(as_size(tc["res"])), "external": str(path),
              "external_sha256": file_sha256(path), "profile": ctx.profile, "model": model.salkd_spec}
    with locked(run, wait=True, what="teacher run"):
        if is_complete(run) and (run / "config.json").is_file() and read_json(run / "config.json") == config:
            return run   # the same weights: the run (and the teacher maps cached in it) stays as it is
        run.mkdir(parents=True, exist_ok=True)
        (run / "metrics.json").unlink(missing_ok=True)      # incomplete until every file is written
        save_torch(run / "checkpoint.pt", {"model": model.state_dict()})
        write_json(run / "config.json", config)
        write_json(run / "metrics.json", {"external": str(path), "trained_here": False})
    return run


def _check_teacher_run(run: Path, arch: str, task: str) -> None:
    """Refuse a run folder given as ``teacher.checkpoints.<arch>`` that holds another model than
    ``teacher_<arch>`` or was trained for another task, naming what it holds."""
    from salkd.evaluate import model_task

    cfg = read_json(run / "config.json")
    spec = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
    held = spec.get("name")
    if held != f"teacher_{arch}":
        raise ValueError(f"teacher.checkpoints.{arch} = {run} holds a {held!r} model, not 'teacher_{arch}': point it "
                         f"at a {arch} teacher run (stage 'teachers') or its weights file")
    held_task = model_task(str(run))
    if held_task is not None and held_task != task:
        raise ValueError(f"teacher.checkpoints.{arch} = {run} is a {held_task} run, but the {task} students need a "
                         f"{task} teacher: point it at a teacher trained on {task} data")


def train_teachers(ctx: Context, task: str = "fixation") -> dict[str, Path]:
    """All teachers of the profile: its spatial teachers and the temporal teacher."""
    tc = ctx.cfg["teacher"]
    out = {a: train_teacher(ctx, a, task) for a in tc["spatial"]}
    out[tc["temporal"]] = train_teacher(ctx, tc["temporal"], task)
    return out


def teacher_knowledge(ctx: Context, teacher_run: str | os.PathLike, res: int | Sequence[int],
                      task: str = "fixation", split: str = "train", *, dataset: Any = None) -> dict[str, np.ndarray]:
    """The teacher's maps T(I) over a split, reduced with R to ``res`` and cached (skd eq. 1-4).

    The teacher runs once per frame at its own resolution; its map ``sigmoid(logits)`` is reduced
    with area interpolation (R) and stored as uint8 under ``<teacher_run>/knowledge/...``, so that
    no epoch recomputes it. Returns ``{video: (T, h, w) uint8}``. The folder is keyed by the teacher's
    checkpoint and data; writing a new key removes the split's older ones (:func:`_cached_knowledge`).
    ``dataset``: the maps over that :class:`~salkd.data.VideoDataset` instead of the split (the video only
    the teacher labels, :meth:`salkd.context.Context.unlabeled`), cached under the tag ``unlabeled``.
    """
    from tqdm.auto import tqdm

    from salkd.data.lowres import reduce
    from salkd.evaluate import predict_cache
    from salkd.models import from_run

    teacher_run = Path(teacher_run)
    if not is_complete(teacher_run):
        raise FileNotFoundError(f"teacher run {teacher_run} is not complete; train it first (stage 'teachers')")
    cfg = read_json(teacher_run / "config.json")
    size = as_size(res)
    if cfg.get("pretrained"):
        return _published_knowledge(ctx, teacher_run, cfg, size, split, dataset)
    if dataset is None:
        src = ctx.cache(task, split, as_size(cfg["res"]))
    else:
        from salkd.data import cache_lowres

        src = cache_lowres(dataset, as_size(cfg["res"]), paths.cache_dir() / "lowres", progress=ctx.progress)
        split = "unlabeled"
    key = hashlib.sha256(f"{src.path}|{(teacher_run / 'checkpoint.pt').stat().st_mtime_ns}".encode()).hexdigest()[:12]

    def make(missing: list[str], base: Path) -> None:
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

    return _cached_knowledge(teacher_run, split, key, size, list(src.videos), make)


def _cached_knowledge(run: Path, split: str, key: str, size: tuple[int, int], videos: list[str],
                      make: Callable[[list[str], Path], None]) -> dict[str, np.ndarray]:
    """``{video: maps}`` of ``<run>/knowledge/<split>-<key>/<h>x<w>/``, under the run's lock: ``make(missing,
    folder)`` writes the videos that are not there yet, and then the split's folders of other keys (maps of
    an earlier checkpoint or dataset) are removed."""
    base = run / "knowledge" / f"{split}-{key}" / f"{size[0]}x{size[1]}"
    with locked(run, wait=True, what="teacher run"):  # no other process writes or reads knowledge meanwhile
        missing = [v for v in videos if not (base / f"{_safe(v)}.npy").is_file()]
        if missing:
            make(missing, base)
            _drop_other_keys(run / "knowledge", split, key)
        return {v: np.load(base / f"{_safe(v)}.npy") for v in videos}


def _drop_other_keys(folder: Path, split: str, key: str) -> list[Path]:
    """Remove the ``<split>-<other key>`` folders under ``folder``; returns them."""
    pattern = re.compile(rf"{re.escape(split)}-[0-9a-f]{{12}}")
    stale = [p for p in folder.iterdir() if p.is_dir() and pattern.fullmatch(p.name) and p.name != f"{split}-{key}"]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return stale


def _published_knowledge(ctx: Context, run: Path, cfg: dict[str, Any], size: tuple[int, int],
                         split: str, dataset: Any = None) -> dict[str, np.ndarray]:
    """:func:`teacher_knowledge` of a published teacher: its maps over each whole source video
    (:func:`salkd.map_sources.source_maps`), reduced with R to ``size``, cached by weights SHA256."""
    from salkd.data.lowres import reduce
    from salkd.map_sources import run_maps

    if dataset is None:
        ds = ctx.dataset(str(cfg["task"]), split)
        ident = f"{ds.root}|{split}"
    else:
        ds, split = dataset, "unlabeled"
        ident = "\n".join(f"{v.name}|" + "|".join(str(f) for f in v.frames) for v in ds.videos)
    key = hashlib.sha256(f"{ident}|{cfg['sha256']}".encode()).hexdigest()[:12]

    def make(missing: list[str], base: Path) -> None:
        for v, maps in run_maps(ctx, run, cfg, split, dataset).items():
            small = np.stack([reduce(m.astype(np.float32) / 255.0, size) for m in maps])
            save_npy(base / f"{_safe(v)}.npy", np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8))

    return _cached_knowledge(run, split, key, size, [v.name for v in ds.videos], make)


@torch.no_grad()
def _predict_flow(model: torch.nn.Module, frames: np.ndarray, flows: np.ndarray, dev: torch.device,
                  batch: int = 32) -> np.ndarray:
    res = []
    for s in range(0, frames.shape[0], batch):
        x = from_array(frames[s:s + batch]).to(dev).permute(0, 3, 1, 2).float() / 255
        f = from_array(flows[s:s + batch]).to(dev).permute(0, 3, 1, 2).float()
        res.append(torch.sigmoid(model(x, f).float())[:, 0].cpu().numpy())
    return np.concatenate(res)


def run(ctx: Context) -> pd.DataFrame:
    """Train the spatial and temporal teachers (fixation task) and score them on the test split; also
    the profile's reference rows for fixation (:func:`run_references`)."""
    from salkd.map_sources import is_pretrained, published_cost

    rows = [results.row(ctx, "teachers", arch, "skd/uvanet", r, teacher=arch, task="fixation",
                        **(published_cost(arch) if is_pretrained(arch) else {}))
            for arch, r in train_teachers(ctx).items()]
    run_references(ctx, "fixation")
    return results.save(ctx, "teachers", pd.DataFrame(rows))


def run_references(ctx: Context, task: str) -> pd.DataFrame | None:
    """Score the profile's reference models of ``task`` on its test split (``references.<task>``: published
    teachers such as ``csnet_x2`` / ``tinyhd_m`` and fixed baselines such as ``center_prior``): the rows
    every student is read against. Writes ``references_<task>``; None when the profile lists none."""
    from salkd.map_sources import baseline_run, is_pretrained, pretrained_run, published_cost

    names = list((ctx.cfg.get("references") or {}).get(task) or [])
    if not names:
        return None
    rows = []
    for name in names:
        r = pretrained_run(ctx, name, task) if is_pretrained(name) else baseline_run(ctx, name, task)
        kind = "published teacher" if is_pretrained(name) else "fixed baseline"
        cost = published_cost(name) if is_pretrained(name) else {}
        rows.append(results.row(ctx, f"references_{task}", name, kind, r, teacher=name, task=task, **cost))
    return results.save(ctx, f"references_{task}", pd.DataFrame(rows))


def _references_table(ctx: Context) -> pd.DataFrame | None:
    """Teachers and fixed baselines: what each student is read against (trained here, published, fixed)."""
    import salkd.papers.common as common
    from salkd.map_sources import is_pretrained

    parts = []
    for exp, task in (("teachers", "fixation"), ("references_fixation", "fixation"), ("references_vsod", "vsod")):
        df = results.load_or_none(ctx, exp, quiet=True)
        if df is None:
            continue
        metrics, labels = ((common.FIX_METRICS + ["kld"], common.FIX_LABELS) if task == "fixation"
                           else (common.SOD_METRICS, common.SOD_LABELS))
        for _, r in results.overall(df).iterrows():
            kind = (r.get("paper") if exp != "teachers" else "published skd/uvanet teacher"
                    if is_pretrained(str(r["variant"])) else "trained here (skd/uvanet teacher)")
            row = {"task": task, "model": r["variant"], "kind": kind, "data": results.data_desc(ctx, task),
                   "params": r.get("params"), "MMACs/frame": r.get("macs_per_frame", float("nan")) / 1e6,
                   "frames/s (1 thread)": r.get("fps_1thread")}
            row.update({labels.get(m, m): r.get(m) for m in metrics})
            parts.append(row)
    return pd.DataFrame(parts) if parts else None


#: stem -> (reference, builder, caption): the teachers and baselines every student is read against
TABLES = {"teachers": ("teachers and baselines", _references_table,
                       "Teachers and fixed baselines on the test split (the rows every student is read against)")}


def figures(ctx: Context, tables: dict[str, pd.DataFrame | None]) -> dict[str, Any]:
    """No figure of its own."""
    return {}


def prediction_figures(ctx: Context) -> list[tuple[str, str, dict[str, Path], str]]:
    """No prediction figure of its own."""
    return []


def claims(ctx: Context) -> list[dict[str, Any]]:
    """No claim of its own (the papers' claims are in their modules)."""
    return []
