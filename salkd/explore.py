"""The runs of a profile, which of them are the main ones, and the interactive explorer of ``10_explore``.

* :func:`complete_runs` / :func:`run_table`: the complete run folders of the profile, as
  ``{"<stage>/<name>": path}`` or as a table of their settings (teacher, resolution, mu, alpha, ...).
* :func:`main_runs`: the rows of a results or runs table at the profile's own settings of a paper
  (its first teacher, its main resolution, its mu / alpha, uvanet's CA-Res block, fastvsod's full
  model). Notebooks 02-04 use it to pick what they show; the explorer uses it for its defaults.
* :func:`explore`: frame, ground truth and the maps of the selected runs with per-frame metrics.
  In JupyterLab the controls (video, frame, runs) redraw one output area in place; without a
  frontend (papermill, nbmake) the same area holds the figure and table of the default selection.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from salkd.viz import (LABEL_COLOR, blank, figure, format_metrics, frame_metrics, ground_truth, gt_image,
                       labelled_frames, overlay, predict_frame, show_map)

__all__ = ["run_config", "complete_runs", "run_table", "main_settings", "main_runs", "teacher_runs",
           "main_selection", "Explorer", "explore", "FIXATION_STAGES", "VSOD_STAGES", "MAX_MAPS"]

FIXATION_STAGES = ("teachers", "skd_students", "skd_st", "uva_student", "uva_st")
VSOD_STAGES = ("fastvsod_stage1", "fastvsod_stage2")
#: the paper whose settings define each stage's main run
STAGE_PAPER = {"teachers": "teachers", "skd_students": "skd", "skd_st": "skd", "uva_student": "uvanet",
               "uva_st": "uvanet", "fastvsod_stage1": "fastvsod", "fastvsod_stage2": "fastvsod"}
#: the stages whose main runs the explorer selects by default, per task
DEFAULT_STAGES = {"fixation": ("teachers", "skd_st", "uva_st"), "vsod": VSOD_STAGES}
#: the most maps the explorer draws at once (2 rows of 5 panels with the frame and the ground truth)
MAX_MAPS = 8
_COLS = 5


# ---- runs of a profile -----------------------------------------------------------------------
def run_config(run: str | os.PathLike) -> dict[str, Any]:
    """A run's ``config.json``."""
    from salkd.runs import read_json

    return read_json(Path(run) / "config.json")


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


def _teacher_of(stage: str, name: str, cfg: Mapping[str, Any]) -> str | None:
    """The spatial teacher a run was distilled from, read from the stages' default run names
    (``skd_*``: ``<teacher>-<res>-mu<mu>``; ``uva_*``: ``<block>-<teacher>-<res>``)."""
    if stage == "teachers":
        return cfg.get("arch") or name.split("-")[0]
    parts = name.split("-")
    tok = parts[0] if stage.startswith("skd") else parts[1] if stage.startswith("uva") and len(parts) > 2 else None
    return None if tok in (None, "scratch") else tok


def _describe(label: str, run: str | os.PathLike) -> dict[str, Any]:
    from salkd.sizes import as_size

    run = Path(run)
    cfg = run_config(run)
    stage = str(cfg.get("stage") or run.parent.name)
    h, w = as_size(cfg["res"])
    mu = cfg.get("mu")
    if mu is None and (m := re.search(r"-mu([0-9.]+)(?:-|$)", run.name)):
        mu = float(m.group(1))
    row = {"label": label, "stage": stage, "name": run.name, "run": str(run),
           "teacher": _teacher_of(stage, run.name, cfg), "res": h if h == w else (h, w), "mu": mu}
    row.update({k: cfg.get(k) for k in ("alpha", "block", "fusion", "sd", "td", "fe")})
    return row


def run_table(ctx: Any, stages: Sequence[str] | None = None,
              runs: Mapping[str, str | os.PathLike] | None = None) -> pd.DataFrame:
    """One row per complete run of ``stages`` (all stages when None), or of ``runs`` (``{label: folder}``):
    ``label, stage, name, run, teacher, res, mu, alpha, block, fusion, sd, td, fe`` (None where a
    stage has no such setting)."""
    if runs is None:
        runs = {}
        for s in stages or [None]:
            runs.update(complete_runs(ctx, s))
    cols = ["label", "stage", "name", "run", "teacher", "res", "mu", "alpha", "block", "fusion", "sd", "td", "fe"]
    return pd.DataFrame([_describe(k, v) for k, v in runs.items()], columns=cols)


# ---- the main runs ---------------------------------------------------------------------------
def main_settings(ctx: Any, paper: str) -> dict[str, Any]:
    """The profile's own settings of ``paper`` ("teachers", "skd", "uvanet" or "fastvsod"): what
    its notebook shows by default, in the order :func:`main_runs` applies them."""
    cfg = ctx.cfg
    if paper == "teachers":
        return {"teacher": cfg["teacher"]["spatial"][0]}
    if paper in ("skd", "uvanet"):
        pc = cfg[paper]
        out = {"teacher": pc["teachers"][0], "res": int(pc["res"]), "mu": float(pc["mu"])}
        return {**out, "block": "cares"} if paper == "uvanet" else out
    if paper == "fastvsod":
        fc = cfg["fastvsod"]
        return {"res": int(fc["res"]), "sd": True, "td": True, "fe": "train", "fusion": "attention",
                "alpha": float(fc["alpha"])}
    raise ValueError(f"paper must be 'teachers', 'skd', 'uvanet' or 'fastvsod', got {paper!r}")


def _same(v: Any, want: Any) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return False
    if isinstance(want, float) or isinstance(v, float):
        try:
            return math.isclose(float(v), float(want), abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return v == want or str(v) == str(want)


def main_runs(ctx: Any, df: pd.DataFrame, paper: str = "skd") -> pd.DataFrame:
    """The rows of ``df`` (a results table or a :func:`run_table`) at the profile's own settings of
    ``paper`` (:func:`main_settings`). Each setting whose column ``df`` has is applied in turn unless
    it would leave no row: e.g. the main teacher at another resolution when the main resolution was
    not run. Rows keep their order."""
    sel = df
    for col, want in main_settings(ctx, paper).items():
        if col not in sel.columns:
            continue
        hit = sel[sel[col].map(lambda v, w=want: _same(v, w)).astype(bool)]
        if not hit.empty:
            sel = hit
    return sel


def teacher_runs(ctx: Any, paper: str = "skd", spatial: str = "T_s", temporal: str | None = "T_t") -> dict[str, str]:
    """``{"<spatial> (<teacher>)": run, "<temporal> (<teacher>)": run}``: the paper's main spatial
    teacher and the temporal teacher, from the teachers' results (notebook 01)."""
    from salkd.results import load

    runs = load(ctx, "teachers").set_index("variant")["run"]
    t_main = main_settings(ctx, paper)["teacher"]
    out = {f"{spatial} ({t_main})": runs[t_main]}
    if temporal:
        t_tem = ctx.cfg["teacher"]["temporal"]
        out[f"{temporal} ({t_tem})"] = runs[t_tem]
    return out


def main_selection(ctx: Any, table: pd.DataFrame, task: str = "fixation") -> list[str]:
    """The labels of the explorer's default runs: the main run of each of the task's default stages
    (fixation: the main spatial teacher, skd's S_st and uvanet's S_sp; VSOD: fastvsod stage 1 and
    the full model)."""
    out = []
    for stage in DEFAULT_STAGES[task]:
        rows = table[table["stage"] == stage]
        if not rows.empty:
            out.append(str(main_runs(ctx, rows, STAGE_PAPER[stage])["label"].iloc[0]))
    return out


# ---- the explorer ----------------------------------------------------------------------------
def _predict_all(ctx: Any, task: str, split: str, video: str, t: int, runs: Mapping[str, str | os.PathLike],
                 g: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    maps: dict[str, np.ndarray] = {}
    rows = []
    for label, run in runs.items():
        try:
            maps[label] = predict_frame(ctx, run, task, split, video, t)
        except (FileNotFoundError, KeyError, ValueError) as exc:
            rows.append({"run": label, "error": str(exc)[:120]})
            continue
        rows.append({"run": label, **frame_metrics(task, maps[label], g)})
    return maps, pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def _draw(task: str, video: str, t: int, g: Mapping[str, np.ndarray], maps: Mapping[str, np.ndarray],
          table: pd.DataFrame) -> Figure:
    """Frame, ground truth, then one panel per map, up to 5 panels a row."""
    panels = 2 + len(maps)
    cols = min(panels, _COLS)
    rows = math.ceil(panels / cols)
    fig = figure(2.4 * cols, 2.5 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    axes[0].imshow(g["frame"])
    axes[0].set_title(f"{video}  t={t}", fontsize=8)
    axes[1].imshow(overlay(g["frame"], gt_image(task, g), LABEL_COLOR[task]))
    if task == "fixation" and "fixation" in g:
        ys, xs = np.nonzero(g["fixation"])
        axes[1].scatter(xs, ys, s=4, c="white", edgecolors="black", linewidths=0.3)
    axes[1].set_title("ground truth", fontsize=8)
    for ax, (label, m) in zip(axes[2:], maps.items()):
        show_map(ax, m, "inferno")
        met = table.loc[label].dropna().to_dict() if label in table.index else {}
        ax.set_title(f"{label}\n{format_metrics({k: v for k, v in met.items() if k != 'error'})}", fontsize=7)
    for ax in axes[:panels]:
        blank(ax)
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig


class Explorer:
    """One explorer: the runs offered (``{label: run folder}``), the current video, frame and
    selection, and the figure and table of that selection (:meth:`update` changes and redraws)."""

    def __init__(self, ctx: Any, runs: Mapping[str, str | os.PathLike], task: str, split: str, video: str, t: int,
                 selected: Sequence[str]) -> None:
        self.ctx, self.runs, self.task, self.split = ctx, dict(runs), task, split
        self.video, self.t, self.selected = video, int(t), tuple(selected)
        self.fig: Figure | None = None
        self.table = pd.DataFrame()
        self.widget: Any = None

    @property
    def shown(self) -> list[str]:
        """The selected runs that are drawn (the first :data:`MAX_MAPS`)."""
        return [k for k in self.selected if k in self.runs][:MAX_MAPS]

    def draw(self) -> tuple[Figure, pd.DataFrame]:
        """Figure and per-frame metrics of the current selection."""
        g = ground_truth(self.ctx, self.task, self.split, self.video, self.t)
        maps, self.table = _predict_all(self.ctx, self.task, self.split, self.video, self.t,
                                        {k: self.runs[k] for k in self.shown}, g)
        self.fig = _draw(self.task, self.video, self.t, g, maps, self.table)
        return self.fig, self.table

    def update(self, *, video: str | None = None, t: int | None = None,
               selected: Sequence[str] | None = None) -> tuple[Figure, pd.DataFrame]:
        """Change the video, frame and/or selection and redraw."""
        self.video = video if video is not None else self.video
        self.t = int(t) if t is not None else self.t
        self.selected = tuple(selected) if selected is not None else self.selected
        return self.draw()

    def summary(self) -> str:
        """One line: which runs are drawn, and how to select several."""
        shown = self.shown
        n = len(self.selected)
        more = f" (showing the first {MAX_MAPS} of {n} selected)" if n > MAX_MAPS else ""
        runs = ", ".join(shown) if shown else "none"
        return (f"{self.video}, frame {self.t}: {len(shown)} of {len(self.runs)} runs shown: {runs}{more}. "
                f"Ctrl-click (Cmd-click on a Mac) or Shift-click in the list selects several.")


def _widget(ex: Explorer) -> tuple[Any, Any]:
    """Video, frame and runs controls above one output area that every change clears and redraws;
    returns the widget and its redraw function."""
    import html

    import ipywidgets as W

    ds = ex.ctx.dataset(ex.task, ex.split)
    w_video = W.Dropdown(options=[v.name for v in ds.videos], value=ex.video, description="video")
    w_frame = W.IntSlider(value=ex.t, min=0, max=len(ds[ex.video]) - 1, description="frame", continuous_update=False)
    w_runs = W.SelectMultiple(options=list(ex.runs), value=tuple(k for k in ex.selected if k in ex.runs),
                              description="runs", rows=min(12, max(1, len(ex.runs))), layout=W.Layout(width="80%"))
    w_summary = W.HTML()
    out = W.Output()
    busy = [False]

    def redraw(*_: Any) -> None:
        # the output area's content is replaced through its ``outputs`` state (no captured output, no
        # clear_output message): headless executors (papermill, nbmake) then never wait on the widget
        if busy[0]:
            return
        try:
            fig, table = ex.update(video=w_video.value, t=int(w_frame.value), selected=w_runs.value)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:  # shown, not swallowed by the widget
            out.outputs = ()
            out.append_stdout(f"cannot draw {w_video.value} t={w_frame.value}: {type(exc).__name__}: {exc}\n")
            return
        finally:
            w_summary.value = f"<i>{html.escape(ex.summary())}</i>"
        out.outputs = tuple(_display_output(obj) for obj in (fig, table))

    def on_video(change: Any) -> None:
        busy[0] = True
        try:
            w_frame.max = len(ds[change["new"]]) - 1
            w_frame.value = min(w_frame.value, w_frame.max)
        finally:
            busy[0] = False
        redraw()

    w_video.observe(on_video, names="value")
    w_frame.observe(redraw, names="value")
    w_runs.observe(redraw, names="value")
    return W.VBox([W.HBox([w_video, w_frame]), w_runs, w_summary, out]), redraw


def _display_output(obj: Any) -> dict[str, Any]:
    """``obj`` as a ``display_data`` output for an Output widget's state, with binary data (a figure's
    PNG bytes) base64-encoded as in a notebook file. ``Output.append_display_data`` keeps the bytes,
    which the widget protocol sends as binary buffers that JupyterLab cannot render (a broken image)."""
    import base64

    from IPython.core.interactiveshell import InteractiveShell

    data, metadata = InteractiveShell.instance().display_formatter.format(obj)
    data = {k: base64.b64encode(v).decode("ascii") if isinstance(v, (bytes, bytearray)) else v for k, v in data.items()}
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def explore(ctx: Any, runs: Mapping[str, str | os.PathLike] | pd.DataFrame, task: str = "fixation",
            split: str = "test", *, video: str | None = None, t: int | None = None,
            default_runs: Sequence[str] | None = None, widgets: bool = True) -> Explorer:
    """Frame, ground truth and the maps of the selected runs side by side, with per-frame metrics.

    ``runs``: ``{label: run folder}`` or a :func:`run_table`. The first selection is ``default_runs``,
    else :func:`main_selection` (the runs of the profile's own settings); the first video and its
    middle labelled frame unless given. In IPython with ``widgets`` the controls and one output area
    are displayed, and every change clears and redraws that area (one figure and one table on screen);
    without :mod:`ipywidgets` the figure and table are displayed as they are. The figure and table of
    the last draw stay in the returned :class:`Explorer` (``.fig``, ``.table``).
    """
    table = runs if isinstance(runs, pd.DataFrame) else run_table(ctx, runs=runs)
    mapping = dict(zip(table["label"], table["run"]))
    names = [v.name for v in ctx.dataset(task, split).videos]
    video = video if video is not None else names[0]
    labelled = labelled_frames(ctx, task, split, video) or [0]
    t = int(t) if t is not None else labelled[len(labelled) // 2]
    chosen = list(default_runs) if default_runs is not None else main_selection(ctx, table, task)
    ex = Explorer(ctx, mapping, task, split, video, t, chosen)
    display = _display()
    if display is None:  # not in IPython: just draw
        ex.draw()
        return ex
    redraw = None
    if widgets:
        try:
            ex.widget, redraw = _widget(ex)
        except ImportError:  # no ipywidgets: a static figure and table
            pass
    if redraw is None:
        display(*ex.draw())
    else:
        display(ex.widget)
        redraw()
    return ex


def _display() -> Any:
    """IPython's ``display`` when running in IPython, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    return display if get_ipython() is not None else None
