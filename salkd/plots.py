"""Figures of the three papers: every function returns a :class:`matplotlib.figure.Figure`.

Saving is separate (:func:`save`: PNG + PDF), so notebooks can show a figure and tests can
inspect it. Figures are made with the object API on the Agg canvas (``Figure()``, never
``pyplot``), so they are safe in headless runs and never accumulate in a pyplot registry.
One style for all (:data:`STYLE`): serif-free small fonts, light grid, the paper's value drawn
as a black outlined marker ("paper") beside ours (filled, "ours").

The functions take plain arrays / DataFrames; :mod:`salkd.report` reads the run folders and
result CSVs and decides which figure to make from what exists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import rcParams, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["STYLE", "save", "new_figure", "bar_metric", "sweep", "roc_curves", "memory_vs_resolution",
           "metric_vs_resolution", "qualitative_grid", "roc_from_maps", "RocCounts"]

#: rcParams used by every figure (applied while the figure is drawn and saved)
STYLE: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 150,
    "figure.dpi": 100,
    "pdf.fonttype": 42,
}

OURS_COLOR = "#1f77b4"
PAPER_COLOR = "#d62728"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def new_figure(w: float = 4.0, h: float = 3.0) -> Figure:
    """A Figure attached to an Agg canvas (no pyplot state)."""
    with rc_context(STYLE):
        fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``<out_dir>/<stem>.png`` and ``.pdf``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with rc_context(STYLE):
        for ext in ("png", "pdf"):
            p = out / f"{stem}.{ext}"
            tmp = p.with_name(p.name + ".tmp")
            fig.savefig(tmp, format=ext, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
            tmp.replace(p)
            paths.append(p)
    return paths


def _styled(fn):
    def wrapper(*a, **kw):
        with rc_context(STYLE):
            return fn(*a, **kw)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_styled
def bar_metric(labels: Sequence[str], values: Sequence[float], *, err: Sequence[float] | None = None,
               paper: Mapping[str, float] | None = None, ylabel: str = "NSS", title: str = "",
               second: Sequence[float] | None = None, second_label: str | None = None,
               second_paper: Mapping[str, float] | None = None, note: str | None = None) -> Figure:
    """Bars of one metric per variant (ours), paper values as outlined markers.

    ``second``: a second metric drawn as red points on a twin axis (fastvsod Fig. 6/7: F-measure
    bars, MAE points). ``err``: error bars (e.g. 2 x standard error over videos).
    """
    fig = new_figure(max(3.2, 0.55 * len(labels) + 1.6), 3.0)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    vals = np.asarray(values, dtype=float)
    ax.bar(x, vals, 0.6, color=OURS_COLOR, alpha=0.85, label="ours",
           yerr=None if err is None else np.asarray(err, float), capsize=2)
    if paper:
        px = [i for i, l in enumerate(labels) if l in paper and paper[l] is not None]
        if px:
            ax.scatter(px, [paper[labels[i]] for i in px], marker="D", s=18, facecolor="none",
                       edgecolor="k", zorder=5, label="paper")
    ax.set_xticks(x, labels, rotation=30 if max((len(l) for l in labels), default=0) > 6 else 0, ha="right"
                  if max((len(l) for l in labels), default=0) > 6 else "center")
    ax.set_ylabel(ylabel)
    finite = vals[np.isfinite(vals)]
    allv = list(finite) + [v for v in (paper or {}).values() if v is not None]
    if allv:
        lo, hi = min(allv), max(allv)
        pad = max((hi - lo) * 0.3, 0.02 * max(abs(hi), 1e-3))
        ax.set_ylim(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad)
    if second is not None:
        ax2 = ax.twinx()
        ax2.grid(False)
        ax2.plot(x, np.asarray(second, float), "o", color=PAPER_COLOR, ms=4, label=second_label or "")
        if second_paper:
            px = [i for i, l in enumerate(labels) if l in second_paper and second_paper[l] is not None]
            ax2.scatter(px, [second_paper[labels[i]] for i in px], marker="s", s=16, facecolor="none",
                        edgecolor=PAPER_COLOR, zorder=5)
        ax2.set_ylabel(second_label or "", color=PAPER_COLOR)
        ax2.spines["right"].set_visible(True)
    ax.legend(loc="lower right")
    ax.set_title(title)
    if note:
        fig.text(0.01, 0.0, note, fontsize=6, va="bottom", ha="left", color="0.35")
    return fig


@_styled
def sweep(x: Sequence[float], y: Sequence[float], *, err: Sequence[float] | None = None,
          paper_x: Sequence[float] | None = None, paper_y: Sequence[float] | None = None,
          xlabel: str = "mu", ylabel: str = "NSS", title: str = "", mark: float | None = None,
          second: Sequence[float] | None = None, second_label: str | None = None, bars: bool = False) -> Figure:
    """A parameter sweep (skd Fig. 8: NSS vs mu; fastvsod Fig. 7: F vs alpha with MAE points).

    ``mark``: the paper's chosen value (a dashed vertical line); ``bars``: draw bars (fastvsod style).
    """
    fig = new_figure(3.6, 2.8)
    ax = fig.add_subplot()
    xv, yv = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(xv)
    xv, yv = xv[order], yv[order]
    e = None if err is None else np.asarray(err, float)[order]
    if bars:
        width = 0.6 * (np.min(np.diff(xv)) if len(xv) > 1 else 0.1)
        ax.bar(xv, yv, width, color=OURS_COLOR, alpha=0.85, yerr=e, capsize=2, label="ours")
        lo, hi = np.nanmin(yv), np.nanmax(yv)
        ax.set_ylim(max(0, lo - (hi - lo) * 0.5 - 0.01), hi + (hi - lo) * 0.3 + 0.01)
    else:
        ax.errorbar(xv, yv, yerr=e, marker="o", ms=4, color=OURS_COLOR, capsize=2, label="ours")
    if paper_x is not None and paper_y is not None and len(paper_x):
        ax.plot(paper_x, paper_y, "D", mfc="none", mec="k", ms=5, label="paper")
    if mark is not None:
        ax.axvline(mark, ls="--", color="0.5", lw=0.8)
    if second is not None:
        ax2 = ax.twinx()
        ax2.grid(False)
        ax2.plot(xv, np.asarray(second, float)[order], "o", color=PAPER_COLOR, ms=4)
        ax2.set_ylabel(second_label or "", color=PAPER_COLOR)
        ax2.spines["right"].set_visible(True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower left")
    return fig


class RocCounts:
    """Streaming pooled ROC of saliency maps against binary fixation maps (skd Fig. 6, AUC-Judd style).

    ``update(preds, fixations)`` takes frames (``(H, W)`` or ``(N, H, W)``, same shape per frame) one
    batch at a time, so a whole test split fits in memory: each map is min-max normalized to [0, 1]
    (a constant map counts as all 0) and its pixels are counted per threshold bin (``bins`` levels),
    fixated (``fixations > 0``) and not fixated separately, pooled over all frames. ``curve()`` gives
    (FPR, TPR): the fraction of non-fixated / fixated pixels at or above each threshold.
    """

    def __init__(self, bins: int = 100) -> None:
        if int(bins) < 1:
            raise ValueError(f"bins: expected a positive integer, got {bins}")
        self.bins = int(bins)
        self.pos = np.zeros(self.bins, np.int64)
        self.neg = np.zeros(self.bins, np.int64)
        self.n_frames = 0

    def update(self, preds: np.ndarray | Sequence[np.ndarray], fixations: np.ndarray | Sequence[np.ndarray]) -> None:
        """Add frames: maps ``preds`` and their fixation maps (same shapes)."""
        for p, f in zip(_frames(preds), _frames(fixations)):
            p = np.asarray(p, np.float64)
            if p.shape != np.shape(f):
                raise ValueError(f"map {p.shape} and fixations {np.shape(f)} differ in shape")
            lo, hi = p.min(), p.max()
            p = (p - lo) / (hi - lo) if hi > lo else np.zeros_like(p)
            idx = np.minimum((p * self.bins).astype(int), self.bins - 1)
            m = np.asarray(f) > 0
            self.pos += np.bincount(idx[m], minlength=self.bins)
            self.neg += np.bincount(idx[~m], minlength=self.bins)
            self.n_frames += 1

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(FPR, TPR) from the highest threshold down, starting at (0, 0)."""
        tpr = np.concatenate([[0.0], np.cumsum(self.pos[::-1]) / max(int(self.pos.sum()), 1)])
        fpr = np.concatenate([[0.0], np.cumsum(self.neg[::-1]) / max(int(self.neg.sum()), 1)])
        return fpr, tpr


def _frames(x: np.ndarray | Sequence[np.ndarray]) -> Sequence[np.ndarray]:
    """A ``(H, W)`` map as one frame; a ``(N, H, W)`` array or a sequence of maps as frames."""
    return [x] if isinstance(x, np.ndarray) and x.ndim == 2 else x


def roc_from_maps(preds: Sequence[np.ndarray], fixations: Sequence[np.ndarray], bins: int = 100
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Pooled ROC (FPR, TPR) of saliency maps against binary fixation maps (see :class:`RocCounts`)."""
    counts = RocCounts(bins)
    counts.update(preds, fixations)
    return counts.curve()


@_styled
def roc_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, title: str = "ROC") -> Figure:
    """ROC curves (skd Fig. 6): ``{label: (fpr, tpr)}``; the legend gives each curve's AUC."""
    fig = new_figure(3.4, 3.2)
    ax = fig.add_subplot()
    for i, (label, (fpr, tpr)) in enumerate(curves.items()):
        auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else float(np.trapz(tpr, fpr))
        ax.plot(fpr, tpr, color=PALETTE[i % len(PALETTE)], lw=1.2, label=f"{label} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


@_styled
def memory_vs_resolution(df: pd.DataFrame, *, paper: Mapping[str, Mapping[int, float]] | None = None,
                         y: str = "mem_mb", ylabel: str = "memory footprint (MB)",
                         title: str = "Memory footprint vs input resolution", logy: bool = True) -> Figure:
    """``df`` columns ``model, res, <y>``: one line per model (ours), paper points per model."""
    fig = new_figure(3.8, 3.0)
    ax = fig.add_subplot()
    for i, (model, g) in enumerate(df.groupby("model", sort=False)):
        g = g.sort_values("res")
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g["res"], g[y], "o-", color=c, ms=4, label=f"{model} (ours)")
        if paper and model in paper:
            pts = sorted((r, v) for r, v in paper[model].items() if v is not None)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "D--", color=c, mfc="none", ms=5, lw=0.7,
                        label=f"{model} (paper)")
    ax.set_xlabel("input resolution (pixels per side)")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    return fig


@_styled
def metric_vs_resolution(df: pd.DataFrame, *, metric: str = "nss", group: str = "teacher",
                         paper: Mapping[str, Mapping[int, float]] | None = None, title: str = "") -> Figure:
    """Metric vs input resolution, one line per ``group`` (skd Table III / uvanet Table 3 as a plot)."""
    fig = new_figure(3.6, 2.8)
    ax = fig.add_subplot()
    for i, (g, d) in enumerate(df.groupby(group, sort=False)):
        d = d.sort_values("res")
        c = PALETTE[i % len(PALETTE)]
        ax.plot(d["res"], d[metric], "o-", color=c, ms=4, label=f"{g} (ours)")
        if paper and g in paper:
            pts = sorted(paper[g].items())
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "D--", color=c, mfc="none", ms=4, lw=0.7,
                    label=f"{g} (paper)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("input resolution")
    ax.set_ylabel(metric.upper())
    ax.set_title(title)
    ax.legend(fontsize=6)
    return fig


@_styled
def qualitative_grid(frames: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                     maps: Mapping[str, Sequence[np.ndarray]], *, title: str = "",
                     gt_label: str = "ground truth") -> Figure:
    """Rows = examples; columns = frame, ground truth, then each model's map (skd Fig. 7/9, uvanet
    Fig. 5, fastvsod Fig. 5). Maps are shown as given (each min-max scaled for display)."""
    n = len(frames)
    cols = 2 + len(maps)
    fig = new_figure(1.1 * cols + 0.2, 1.1 * n + 0.4)
    axes = fig.subplots(n, cols, squeeze=False)
    names = ["frame", gt_label, *maps]
    for r in range(n):
        items = [frames[r], gts[r], *[m[r] for m in maps.values()]]
        for c, img in enumerate(items):
            ax = axes[r][c]
            a = np.asarray(img)
            if a.ndim == 2:
                a = a.astype(np.float32)
                rng = a.max() - a.min()
                a = (a - a.min()) / rng if rng > 0 else a * 0
                ax.imshow(a, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(a, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for s in ax.spines.values():
                s.set_visible(False)
            if r == 0:
                ax.set_title(names[c], fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig
