"""Small helpers for the notebooks: sample frames with their labels, loss curves, teacher vs student
maps with per-frame metrics, and the explorer of ``09_explore`` (ipywidgets when available, a
static figure always).

Everything returns a :class:`matplotlib.figure.Figure` made with the object API (no ``pyplot``
state), so the helpers work the same under JupyterLab, papermill and nbmake. The paper figures
and tables themselves are made by :mod:`salkd.plots` / :mod:`salkd.report` (notebook 08).

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

__all__ = ["figure", "resolve_run", "complete_runs", "history", "plot_histories", "show_samples",
           "predict_frame", "ground_truth", "frame_metrics", "compare_maps", "results_view", "explore",
           "overlay", "run_label"]

KEY_COLS = ["experiment", "variant", "teacher", "res"]
FIX_METRICS = ["nss", "cc", "sim", "auc_judd", "sauc", "kld"]
SOD_METRICS = ["max_f", "mae", "s_measure", "max_e", "w_f"]


def _register_png() -> None:
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


_register_png()


def figure(w: float, h: float) -> Figure:
    """A Figure on an Agg canvas (shown inline by Jupyter when it is a cell's value or displayed)."""
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _show_map(ax: Any, m: np.ndarray, cmap: str = "gray") -> None:
    """Show a predicted map min-max scaled to [0, 1] (the usual way to look at saliency maps:
    metrics such as NSS and CC are invariant to it; a constant map shows black)."""
    a = np.asarray(m, np.float32)
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) if hi - lo > 1e-8 else np.zeros_like(a)
    ax.imshow(a, cmap=cmap, vmin=0, vmax=1)


def _blank(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


# ---- runs ------------------------------------------------------------------------------------
def resolve_run(ctx: Any, run: str | os.PathLike) -> Path:
    """A run folder given as an absolute path, relative to the runs root, or ``<stage>/<name>``."""
    p = Path(run)
    for cand in (p, ctx.runs_root / p, ctx.runs_root / ctx.profile / p):
        if (cand / "config.json").is_file():
            return cand
    raise FileNotFoundError(f"run folder {run} not found (looked under {ctx.runs_root / ctx.profile})")


def complete_runs(ctx: Any, stage: str | None = None) -> dict[str, Path]:
    """The complete run folders of the profile (``{"<stage>/<name>": path}``), optionally of one stage."""
    from salkd.runs import is_complete

    base = ctx.runs_root / ctx.profile
    stages = [stage] if stage else sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    out: dict[str, Path] = {}
    for s in stages:
        d = base / s
        if not d.is_dir():
            continue
        for r in sorted(d.iterdir()):
            if r.is_dir() and is_complete(r):
                out[f"{s}/{r.name}"] = r
    return out


def run_label(run: str | os.PathLike) -> str:
    """``<stage>/<name>`` of a run folder."""
    p = Path(run)
    return f"{p.parent.name}/{p.name}"


def history(run: str | os.PathLike) -> pd.DataFrame:
    """A run's ``history.csv`` (one row per epoch)."""
    p = Path(run) / "history.csv"
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist: the run has not finished an epoch")
    return pd.read_csv(p)


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


# ---- data ------------------------------------------------------------------------------------
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


def _labelled(ctx: Any, task: str, split: str, video: str) -> list[int]:
    v = ctx.dataset(task, split)[video]
    return v.labeled("fixation" if task == "fixation" else "mask")


def show_samples(ctx: Any, task: str, split: str = "train", n_videos: int = 3, n_frames: int = 3) -> Figure:
    """Rows = videos, columns = frames; under each frame its label(s): for fixation data the density
    map overlaid in red with the fixations as white dots, for VSOD the mask overlaid in green."""
    ds = ctx.dataset(task, split)
    vids = [v.name for v in ds.videos[:n_videos]]
    fig = figure(2.0 * n_frames * 2, 2.0 * len(vids) + 0.4)
    axes = fig.subplots(max(1, len(vids)), 2 * n_frames, squeeze=False)
    for r, name in enumerate(vids):
        ts = _labelled(ctx, task, split, name) or list(range(len(ds[name])))
        pick = [ts[int(i)] for i in np.linspace(0, len(ts) - 1, n_frames).round()]
        for c, t in enumerate(pick):
            g = ground_truth(ctx, task, split, name, t)
            ax_f, ax_l = axes[r][2 * c], axes[r][2 * c + 1]
            ax_f.imshow(g["frame"])
            ax_f.set_title(f"{name} t={t}", fontsize=7)
            if task == "fixation":
                img = overlay(g["frame"], g["density"]) if "density" in g else g["frame"] / 255.0
                ax_l.imshow(img)
                if "fixation" in g:
                    ys, xs = np.nonzero(g["fixation"])
                    ax_l.scatter(xs, ys, s=4, c="white", edgecolors="black", linewidths=0.3)
                ax_l.set_title("density + fixations", fontsize=7)
            else:
                ax_l.imshow(overlay(g["frame"], g.get("mask", np.zeros(g["frame"].shape[:2])), (0.1, 0.9, 0.1)))
                ax_l.set_title("mask", fontsize=7)
            _blank(ax_f)
            _blank(ax_l)
    fig.suptitle(f"{task} dataset, {split} split: {ds.root.name}", fontsize=9)
    return fig


# ---- models ----------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _model(run: str, mtime: int) -> tuple[Any, dict]:
    from salkd.models import from_run
    from salkd.runs import read_json

    m = from_run(run)
    if hasattr(m, "deploy") and callable(m.deploy):
        m = m.deploy()
    return m.eval(), read_json(Path(run) / "config.json")


def _load(run: Path) -> tuple[Any, dict]:
    ck = run / "best.pt" if (run / "best.pt").is_file() else run / "checkpoint.pt"
    return _model(str(run), ck.stat().st_mtime_ns if ck.is_file() else 0)


def predict_frame(ctx: Any, run: str | os.PathLike, task: str, split: str, video: str, t: int, *,
                  output: str | None = None) -> np.ndarray:
    """A run's map for frame ``t`` of ``video``: R(frame) at the run's resolution in, ``sigmoid``
    out, upsampled (bilinear) to the label's resolution. Multi-output models (the uvanet student)
    give ``output`` (default: their first output, "spatial")."""
    from salkd.evaluate import predict_cache
    from salkd.train import resolve_device

    run = resolve_run(ctx, run)
    model, cfg = _load(run)
    res = cfg["res"]
    dev = resolve_device(str(ctx.device))
    model = model.to(dev)
    names = tuple(getattr(model, "output_names", ()))
    if output is None and len(names) > 1:
        output = names[0]
    cache = ctx.cache(task, split, res)
    frames = cache.video(video)["frames"]
    pred = predict_cache(model, frames, device=dev, indices=[int(t)], output=output)[0]
    shape = ctx.dataset(task, split)[video].frame_size(t)
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
        r = sod_frame_stats(pred.astype(np.float32), gt["mask"], weighted_f=False)
        r = dict(r)
        r["max_f"] = r["f"].max(dim=1).values
        keys = ["max_f", "mae", "s_measure"]
    out = {}
    for k in keys:
        if k in r:
            v = r[k]
            out[k] = float(v.reshape(-1)[0]) if isinstance(v, torch.Tensor) else float(np.ravel(v)[0])
    return out


def _fmt(m: Mapping[str, float]) -> str:
    return "  ".join(f"{k.replace('auc_judd', 'AUC').replace('s_measure', 'S').upper() if k != 'max_f' else 'maxF'}"
                     f" {v:.2f}" for k, v in m.items() if np.isfinite(v))


def _gt_image(task: str, g: Mapping[str, np.ndarray]) -> np.ndarray:
    if task == "fixation":
        if "density" in g:
            return np.asarray(g["density"], np.float32)
        return np.asarray(g.get("fixation", np.zeros(g["frame"].shape[:2])), np.float32)
    return np.asarray(g.get("mask", np.zeros(g["frame"].shape[:2])), np.float32) / 255.0


def default_picks(ctx: Any, task: str, split: str = "test", n: int = 3) -> list[tuple[str, int]]:
    """``n`` (video, frame) pairs spread over the split's videos (the middle labelled frame of each)."""
    ds = ctx.dataset(task, split)
    picks = []
    names = [v.name for v in ds.videos]
    for i in range(n):
        name = names[i % len(names)]
        ts = _labelled(ctx, task, split, name) or [0]
        j = (len(ts) // 2 + (i // len(names)) * max(1, len(ts) // 3)) % len(ts)
        picks.append((name, int(ts[j])))
    return picks


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
        axes[r][1].imshow(_gt_image(task, g), cmap="gray", vmin=0, vmax=1)
        if task == "fixation" and "fixation" in g:
            ys, xs = np.nonzero(g["fixation"])
            axes[r][1].scatter(xs, ys, s=3, c="red")
        axes[r][1].set_title("ground truth", fontsize=7)
        for c, (label, run) in enumerate(runs.items()):
            ax = axes[r][2 + c]
            try:
                pred = predict_frame(ctx, run, task, split, video, t, output=(outputs or {}).get(label))
            except (FileNotFoundError, KeyError) as exc:
                ax.text(0.5, 0.5, f"not available:\n{exc}"[:80], ha="center", va="center", fontsize=6, wrap=True)
                _blank(ax)
                continue
            _show_map(ax, pred)
            ax.set_title(f"{label}\n{_fmt(frame_metrics(task, pred, g))}", fontsize=6)
        for ax in axes[r]:
            _blank(ax)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


# ---- tables ----------------------------------------------------------------------------------
def results_view(df: pd.DataFrame, metrics: Sequence[str] | None = None, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The key columns (variant, teacher, res, ...) and the main metrics of a results DataFrame,
    rounded, for display (the full frame stays in ``runs/<profile>/results/``)."""
    if metrics is None:
        metrics = FIX_METRICS if "nss" in df.columns else SOD_METRICS
    cols = [c for c in [*KEY_COLS, *extra] if c in df.columns]
    cols += [c for c in metrics if c in df.columns]
    if "params" in df.columns:
        cols.append("params")
    out = df[cols].copy()
    num = out.select_dtypes("number").columns
    out[num] = out[num].round(3)
    return out.reset_index(drop=True)


# ---- explorer --------------------------------------------------------------------------------
def _explorer_figure(ctx: Any, task: str, split: str, video: str, t: int,
                     runs: Mapping[str, str | os.PathLike]) -> tuple[Figure, pd.DataFrame]:
    g = ground_truth(ctx, task, split, video, t)
    maps: dict[str, np.ndarray] = {}
    rows = []
    for label, run in runs.items():
        try:
            maps[label] = predict_frame(ctx, run, task, split, video, t)
        except (FileNotFoundError, KeyError, ValueError) as exc:
            rows.append({"run": label, "error": str(exc)[:120]})
            continue
        rows.append({"run": label, **frame_metrics(task, maps[label], g)})
    cols = 2 + len(maps)
    fig = figure(2.2 * cols, 2.6)
    axes = fig.subplots(1, cols, squeeze=False)[0]
    axes[0].imshow(g["frame"])
    axes[0].set_title(f"{video}  t={t}", fontsize=8)
    axes[1].imshow(overlay(g["frame"], _gt_image(task, g), (1.0, 0.1, 0.1) if task == "fixation" else (0.1, 0.9, 0.1)))
    if task == "fixation" and "fixation" in g:
        ys, xs = np.nonzero(g["fixation"])
        axes[1].scatter(xs, ys, s=4, c="white", edgecolors="black", linewidths=0.3)
    axes[1].set_title("ground truth", fontsize=8)
    for ax, (label, m) in zip(axes[2:], maps.items()):
        _show_map(ax, m, "inferno")
        met = next((r for r in rows if r["run"] == label), {})
        ax.set_title(f"{label}\n{_fmt({k: v for k, v in met.items() if k != 'run'})}", fontsize=7)
    for ax in axes:
        _blank(ax)
    return fig, pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def explore(ctx: Any, runs: Mapping[str, str | os.PathLike], task: str = "fixation", split: str = "test", *,
            video: str | None = None, t: int | None = None, default_runs: Sequence[str] | None = None,
            widgets: bool = True) -> tuple[Figure, pd.DataFrame]:
    """Frame, ground truth and the maps of ``runs`` (``{label: run folder}``) side by side, with
    per-frame metrics.

    Always renders a static figure and table for the default selection (first video, its middle
    labelled frame, ``default_runs`` or the first four runs) and returns them, so the notebook
    runs headless. When ``widgets`` and :mod:`ipywidgets` is importable, it also displays controls
    (video, frame, runs) that redraw the figure in JupyterLab.
    """
    ds = ctx.dataset(task, split)
    names = [v.name for v in ds.videos]
    video = video if video is not None else names[0]
    labelled = _labelled(ctx, task, split, video) or [0]
    t = int(t) if t is not None else labelled[len(labelled) // 2]
    chosen = list(default_runs) if default_runs is not None else list(runs)[:4]
    fig, table = _explorer_figure(ctx, task, split, video, t, {k: runs[k] for k in chosen})
    if widgets:
        try:
            import ipywidgets as W
            from IPython.display import display
        except ImportError:
            return fig, table
        w_video = W.Dropdown(options=names, value=video, description="video")
        w_frame = W.IntSlider(value=t, min=0, max=len(ds[video]) - 1, description="frame", continuous_update=False)
        w_runs = W.SelectMultiple(options=list(runs), value=tuple(chosen), description="runs", rows=min(8, len(runs)),
                                  layout=W.Layout(width="60%"))
        out = W.Output()

        def redraw(*_: Any) -> None:
            with out:
                out.clear_output(wait=True)
                f, tab = _explorer_figure(ctx, task, split, w_video.value, int(w_frame.value),
                                          {k: runs[k] for k in w_runs.value})
                display(f, tab)

        def on_video(change: Any) -> None:
            w_frame.max = len(ds[change["new"]]) - 1
            w_frame.value = min(w_frame.value, w_frame.max)
            redraw()

        w_video.observe(on_video, names="value")
        w_frame.observe(redraw, names="value")
        w_runs.observe(redraw, names="value")
        display(W.VBox([W.HBox([w_video, w_frame]), w_runs, out]))
    return fig, table
