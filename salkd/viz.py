"""Frames, labels and predicted maps for the notebooks: what one frame looks like to a run.

Everything returns a :class:`matplotlib.figure.Figure` made with the object API (no ``pyplot``
state), so the helpers work the same under JupyterLab, papermill and nbmake. The paper figures
themselves are made by :mod:`salkd.plots` / :mod:`salkd.report` (notebook 09).

Conventions for the maps shown here (the same as :mod:`salkd.evaluate`): a model sees the frame
reduced with R to its own resolution (from the low-res cache) and its map ``sigmoid(logits)`` is
upsampled bilinearly to the label's resolution; per-frame metrics are computed there, with
:func:`salkd.metrics.fixation_frame_metrics` (NSS on the binary fixation map, CC / SIM on the
density map) or :func:`salkd.metrics.sod_frame_stats` (max-F with beta^2 = 0.3, MAE, S-measure).
A single frame's numbers are noisy; the tables in the notebooks are the dataset-level ones.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["register_png", "figure", "show_map", "blank", "overlay", "resolve_run", "history", "plot_histories",
           "ground_truth", "labelled_frames", "gt_image", "show_samples", "predict_frame", "frame_metrics",
           "format_metrics", "default_picks", "compare_maps"]

#: the overlay colour of each task's label (fixation density: red, VSOD mask: green)
LABEL_COLOR = {"fixation": (1.0, 0.1, 0.1), "vsod": (0.1, 0.9, 0.1)}


# ---- figures ---------------------------------------------------------------------------------
def register_png() -> None:
    """Let IPython show object-API Figures (ours and :mod:`salkd.plots`') as PNG when they are a
    cell's value or passed to ``display``: without pyplot, no inline backend registers them."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return

    def png(fig: Figure) -> bytes:
        if fig.canvas is None or not hasattr(fig.canvas, "print_png"):
            FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", dpi=100)
        return buf.getvalue()

    ip.display_formatter.formatters["image/png"].for_type(Figure, png)


def figure(w: float, h: float) -> Figure:
    """A Figure on an Agg canvas (shown inline by Jupyter when it is a cell's value or displayed)."""
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def show_map(ax: Any, m: np.ndarray, cmap: str = "gray") -> None:
    """Show a predicted map min-max scaled to [0, 1] (the usual way to look at saliency maps:
    metrics such as NSS and CC are invariant to it; a constant map shows black)."""
    a = np.asarray(m, np.float32)
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) if hi - lo > 1e-8 else np.zeros_like(a)
    ax.imshow(a, cmap=cmap, vmin=0, vmax=1)


def blank(ax: Any) -> None:
    """No ticks and no frame around an image axis."""
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def overlay(frame: np.ndarray, m: np.ndarray, color: Sequence[float] = (1.0, 0.1, 0.1), alpha: float = 0.6) -> np.ndarray:
    """``frame`` (H, W, 3 uint8) with a [0, 1] (or 0..255) map blended in ``color``; float RGB in [0, 1]."""
    f = frame.astype(np.float32) / 255.0
    a = np.asarray(m, np.float32)
    if a.max() > 1.0:
        a = a / 255.0
    if a.shape != f.shape[:2]:
        a = _resize(a, f.shape[:2])
    a = np.clip(a, 0, 1)[..., None] * alpha
    return np.clip(f * (1 - a) + np.asarray(color, np.float32) * a, 0, 1)


def _resize(a: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    import cv2

    return cv2.resize(np.ascontiguousarray(a, np.float32), (int(shape[1]), int(shape[0])),
                      interpolation=cv2.INTER_LINEAR)


_WHITE_DOTS = {"s": 4, "c": "white", "edgecolors": "black", "linewidths": 0.3}


def _fixation_dots(ax: Any, fix: np.ndarray, **kw: Any) -> None:
    """The fixation points of a binary map as dots (white with a black edge unless ``kw`` says)."""
    ys, xs = np.nonzero(fix)
    ax.scatter(xs, ys, **(kw or _WHITE_DOTS))


# ---- runs and their training curves ----------------------------------------------------------
def resolve_run(ctx: Any, run: str | os.PathLike) -> Path:
    """A run folder given as an absolute path, relative to the runs root, or ``<stage>/<name>``."""
    p = Path(run)
    for cand in (p, ctx.runs_root / p, ctx.runs_root / ctx.profile / p):
        if (cand / "config.json").is_file():
            return cand
    raise FileNotFoundError(f"run folder {run} not found (looked under {ctx.runs_root / ctx.profile})")


def history(run: str | os.PathLike) -> pd.DataFrame:
    """A run's ``history.csv`` (one row per epoch) with its ``seconds`` / ``frames_per_s`` from ``timings.json``."""
    from salkd.timings import TIMING_COLUMNS, read_timings

    p = Path(run) / "history.csv"
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist: the run has not finished an epoch")
    df = pd.read_csv(p)
    epochs = read_timings(run)["epochs"]
    if epochs and "epoch" in df.columns and not set(TIMING_COLUMNS) & set(df.columns):
        t = pd.DataFrame(epochs)
        df = df.merge(t[["epoch", *[c for c in TIMING_COLUMNS if c in t.columns]]], on="epoch", how="left")
    return df


def plot_histories(runs: Mapping[str, str | os.PathLike], *, title: str = "") -> Figure:
    """Training loss and the validation metric per epoch, one line per run (``{label: run}``).

    With one or two epochs (the smoke profile) the curves are points; the quick profile gives
    real curves.
    """
    fig = figure(8.0, 2.8)
    ax_l, ax_v = fig.subplots(1, 2)
    vname = None
    for label, run in runs.items():
        try:
            h = history(run)
        except FileNotFoundError:
            continue
        x = h["epoch"] if "epoch" in h else np.arange(1, len(h) + 1)
        if "train_loss" in h:
            ax_l.plot(x, h["train_loss"], marker="o", ms=3, label=label)
        vcols = [c for c in ("val_nss", "val_max_f", "val_metric") if c in h]
        if vcols:
            vname = vcols[0]
            ax_v.plot(x, h[vname], marker="o", ms=3, label=label)
    ax_l.set(xlabel="epoch", ylabel="training loss", title="training loss")
    ax_v.set(xlabel="epoch", ylabel=(vname or "validation").replace("val_", "validation "),
             title="validation (cached low-res labels)")
    for ax in (ax_l, ax_v):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


# ---- ground truth ----------------------------------------------------------------------------
def ground_truth(ctx: Any, task: str, split: str, video: str, t: int) -> dict[str, np.ndarray]:
    """Frame and labels of one frame at full resolution: ``frame``, then ``density`` + ``fixation``
    (fixation task, whichever exist) or ``mask`` (VSOD)."""
    v = ctx.dataset(task, split)[video]
    out = {"frame": v.read_frame(t)}
    kinds = ("density", "fixation") if task == "fixation" else ("mask",)
    for k in kinds:
        paths = v.label_paths(k)
        if paths is not None and paths[t] is not None:
            out[k] = v.read_label(k, t)
    return out


def labelled_frames(ctx: Any, task: str, split: str, video: str) -> list[int]:
    """The frame indices of ``video`` that carry the task's label (fixations or a mask)."""
    v = ctx.dataset(task, split)[video]
    return v.labeled("fixation" if task == "fixation" else "mask")


def gt_image(task: str, g: Mapping[str, np.ndarray]) -> np.ndarray:
    """The ground truth of :func:`ground_truth` as one [0, 1] image (density, fixations or mask)."""
    if task == "fixation":
        if "density" in g:
            return np.asarray(g["density"], np.float32)
        return np.asarray(g.get("fixation", np.zeros(g["frame"].shape[:2])), np.float32)
    return np.asarray(g.get("mask", np.zeros(g["frame"].shape[:2])), np.float32) / 255.0


def _sample_panels(ax_f: Any, ax_l: Any, task: str, name: str, t: int, g: Mapping[str, np.ndarray]) -> None:
    ax_f.imshow(g["frame"])
    ax_f.set_title(f"{name} t={t}", fontsize=7)
    if task == "fixation":
        ax_l.imshow(overlay(g["frame"], g["density"]) if "density" in g else g["frame"] / 255.0)
        if "fixation" in g:
            _fixation_dots(ax_l, g["fixation"])
        ax_l.set_title("density + fixations", fontsize=7)
    else:
        ax_l.imshow(overlay(g["frame"], g.get("mask", np.zeros(g["frame"].shape[:2])), LABEL_COLOR["vsod"]))
        ax_l.set_title("mask", fontsize=7)
    blank(ax_f)
    blank(ax_l)


def show_samples(ctx: Any, task: str, split: str = "train", n_videos: int = 3, n_frames: int = 3) -> Figure:
    """Rows = videos, columns = frames; under each frame its label(s): for fixation data the density
    map overlaid in red with the fixations as white dots, for VSOD the mask overlaid in green."""
    ds = ctx.dataset(task, split)
    vids = [v.name for v in ds.videos[:n_videos]]
    fig = figure(2.0 * n_frames * 2, 2.0 * len(vids) + 0.4)
    axes = fig.subplots(max(1, len(vids)), 2 * n_frames, squeeze=False)
    for r, name in enumerate(vids):
        ts = labelled_frames(ctx, task, split, name) or list(range(len(ds[name])))
        pick = [ts[int(i)] for i in np.linspace(0, len(ts) - 1, n_frames).round()]
        for c, t in enumerate(pick):
            _sample_panels(axes[r][2 * c], axes[r][2 * c + 1], task, name, t, ground_truth(ctx, task, split, name, t))
    fig.suptitle(f"{task} dataset, {split} split: {ds.root.name}", fontsize=9)
    return fig


# ---- predictions -----------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _model(run: str, mtime: int) -> tuple[Any, dict, tuple[int, int]]:
    from salkd.models import load_for_inference

    return load_for_inference(run)


def _load(run: Path) -> tuple[Any, dict, tuple[int, int]]:
    ck = run / "best.pt" if (run / "best.pt").is_file() else run / "checkpoint.pt"
    return _model(str(run), ck.stat().st_mtime_ns if ck.is_file() else 0)


def predict_frame(ctx: Any, run: str | os.PathLike, task: str, split: str, video: str, t: int, *,
                  output: str | None = None) -> np.ndarray:
    """A run's map for frame ``t`` of ``video``: R(frame) at the run's resolution in, ``sigmoid``
    out, upsampled (bilinear) to the label's resolution. Multi-output models (the uvanet student)
    give ``output`` (default: their first output, "spatial")."""
    from salkd.device import resolve_device
    from salkd.evaluate import predict_cache

    from salkd.map_sources import run_maps
    from salkd.runs import read_json

    run = resolve_run(ctx, run)
    shape = ctx.dataset(task, split)[video].frame_size(t)
    fixed = run_maps(ctx, run, read_json(run / "config.json"), split)  # a published teacher or a baseline
    if fixed is not None:
        return np.clip(_resize(fixed[video][int(t)].astype(np.float32) / 255.0, shape), 0, 1)
    model, _, size = _load(run)
    dev = resolve_device(str(ctx.device))
    model = model.to(dev)
    names = tuple(getattr(model, "output_names", ()))
    if output is None and len(names) > 1:
        output = names[0]
    frames = ctx.cache(task, split, size).video(video)["frames"]
    pred = predict_cache(model, frames, device=dev, indices=[int(t)], output=output)[0]
    return np.clip(_resize(pred, shape), 0, 1) if pred.shape != tuple(shape) else pred


def frame_metrics(task: str, pred: np.ndarray, gt: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Per-frame metrics of one map: NSS, CC, SIM, AUC-Judd (fixation) or max-F, MAE, S (VSOD)."""
    import torch

    if task == "fixation":
        from salkd.metrics import fixation_frame_metrics

        if "fixation" not in gt:
            return {}
        r = fixation_frame_metrics(pred.astype(np.float32), gt["fixation"], gt.get("density"), n_splits=10)
        keys = ["nss", "cc", "sim", "auc_judd"]
    else:
        from salkd.metrics import sod_frame_stats

        if "mask" not in gt:
            return {}
        r = dict(sod_frame_stats(pred.astype(np.float32), gt["mask"], weighted_f=False))
        r["max_f"] = r["f"].max(dim=1).values
        keys = ["max_f", "mae", "s_measure"]
    out = {}
    for k in keys:
        if k in r:
            v = r[k]
            out[k] = float(v.reshape(-1)[0]) if isinstance(v, torch.Tensor) else float(np.ravel(v)[0])
    return out


_SHORT = {"auc_judd": "AUC", "s_measure": "S", "max_f": "maxF"}


def format_metrics(m: Mapping[str, float]) -> str:
    """``"NSS 1.23  CC 0.45 ..."`` of a :func:`frame_metrics` dict (non-finite values left out)."""
    return "  ".join(f"{_SHORT.get(k, k.upper())} {v:.2f}" for k, v in m.items() if np.isfinite(v))


def default_picks(ctx: Any, task: str, split: str = "test", n: int = 3) -> list[tuple[str, int]]:
    """``n`` (video, frame) pairs spread over the split's videos (the middle labelled frame of each)."""
    ds = ctx.dataset(task, split)
    picks = []
    names = [v.name for v in ds.videos]
    for i in range(n):
        name = names[i % len(names)]
        ts = labelled_frames(ctx, task, split, name) or [0]
        j = (len(ts) // 2 + (i // len(names)) * max(1, len(ts) // 3)) % len(ts)
        picks.append((name, int(ts[j])))
    return picks


def _gt_panel(ax: Any, task: str, g: Mapping[str, np.ndarray]) -> None:
    ax.imshow(gt_image(task, g), cmap="gray", vmin=0, vmax=1)
    if task == "fixation" and "fixation" in g:
        _fixation_dots(ax, g["fixation"], s=3, c="red")
    ax.set_title("ground truth", fontsize=7)


def compare_maps(ctx: Any, runs: Mapping[str, str | os.PathLike], task: str = "fixation", split: str = "test",
                 picks: Sequence[tuple[str, int]] | None = None, n: int = 3,
                 outputs: Mapping[str, str] | None = None, title: str = "") -> Figure:
    """Rows = (video, frame) picks; columns = frame, ground truth, then each run's map with its
    per-frame metrics (``runs``: ``{label: run folder}``; ``outputs``: ``{label: output name}`` for
    multi-output models). Maps are min-max scaled for display."""
    picks = list(picks) if picks is not None else default_picks(ctx, task, split, n)
    cols = 2 + len(runs)
    fig = figure(1.9 * cols, 2.1 * len(picks) + 0.3)
    axes = fig.subplots(len(picks), cols, squeeze=False)
    for r, (video, t) in enumerate(picks):
        g = ground_truth(ctx, task, split, video, t)
        axes[r][0].imshow(g["frame"])
        axes[r][0].set_title(f"{video} t={t}", fontsize=7)
        _gt_panel(axes[r][1], task, g)
        for c, (label, run) in enumerate(runs.items()):
            ax = axes[r][2 + c]
            try:
                pred = predict_frame(ctx, run, task, split, video, t, output=(outputs or {}).get(label))
            except (FileNotFoundError, KeyError) as exc:
                ax.text(0.5, 0.5, f"not available:\n{exc}"[:80], ha="center", va="center", fontsize=6, wrap=True)
                continue
            show_map(ax, pred)
            ax.set_title(f"{label}\n{format_metrics(frame_metrics(task, pred, g))}", fontsize=6)
        for ax in axes[r]:
            blank(ax)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
