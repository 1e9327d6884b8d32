"""The notebooks' namespace: ``from salkd import nbtools`` gives everything a notebook cell calls.

* :func:`setup` -- the one call after the ``parameters`` cell: display options, the
  :class:`~salkd.context.Context` of the profile (via :func:`salkd.pipeline.context`), one line
  naming the profile, the runs folder and the device.
* Picking runs: :func:`main_runs` (the rows at the profile's own settings of a paper),
  :func:`teacher_runs`, :func:`complete_runs`, :func:`run_table`, :func:`run_config`
  (from :mod:`salkd.explore`).
* Tables: :func:`results_view` (the key columns and main metrics of a results table) and
  :func:`paper_table` / :func:`paper_speed` (the papers' own numbers, from
  :mod:`salkd.papers.numbers`: notebooks never type a paper's number).
* Figures and maps (from :mod:`salkd.viz`): :func:`figure`, :func:`show_samples`,
  :func:`plot_histories`, :func:`compare_maps`, :func:`predict_frame`, :func:`ground_truth`,
  :func:`frame_metrics`, :func:`overlay`.
* The explorer of ``09_explore``: :func:`explore` (from :mod:`salkd.explore`).

Importing this module lets IPython show the object-API figures inline (:func:`salkd.viz.register_png`).
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import pandas as pd

from salkd.explore import (FIXATION_STAGES, MAX_MAPS, VSOD_STAGES, Explorer, complete_runs, explore, main_runs,
                           main_selection, main_settings, run_config, run_table, teacher_runs)
from salkd.viz import (compare_maps, default_picks, figure, frame_metrics, ground_truth, history, overlay,
                       plot_histories, predict_frame, register_png, resolve_run, show_map, show_samples)

__all__ = ["setup", "results_view", "paper_table", "paper_speed",
           # salkd.explore
           "run_config", "complete_runs", "run_table", "main_settings", "main_runs", "teacher_runs", "main_selection",
           "Explorer", "explore", "FIXATION_STAGES", "VSOD_STAGES", "MAX_MAPS",
           # salkd.viz
           "figure", "show_map", "overlay", "resolve_run", "history", "plot_histories", "ground_truth",
           "show_samples", "predict_frame", "frame_metrics", "default_picks", "compare_maps"]

KEY_COLS = ["experiment", "variant", "teacher", "res"]
FIX_METRICS = ["nss", "cc", "sim", "auc_judd", "sauc", "kld"]
SOD_METRICS = ["max_f", "mae", "s_measure", "max_e", "w_f"]
#: pandas display options of every notebook
DISPLAY_OPTIONS = {"display.width": 180, "display.max_columns": 30}

register_png()


def setup(profile: str | None = None, data_fixation: str | os.PathLike | None = None,
          data_vsod: str | os.PathLike | None = None, out: str | os.PathLike | None = None, seed: int = 0,
          device: str = "auto", retrain: bool = False) -> Any:
    """The notebook's Context from its ``parameters`` cell (``PROFILE, DATA_FIXATION, DATA_VSOD, OUT,
    SEED, DEVICE, RETRAIN``): sets the pandas display options, builds the Context with
    :func:`salkd.pipeline.context` (``profile=None``: ``$SALKD_PROFILE`` or quick; a dataset path
    replaces the profile's data of that task) and prints one line naming the profile, the runs
    folder and the device."""
    from salkd.pipeline import context

    for k, v in DISPLAY_OPTIONS.items():
        pd.set_option(k, v)
    ctx = context(profile, data_fixation=data_fixation, data_vsod=data_vsod, out=out, seed=seed, device=device,
                  force=retrain)
    print(f"profile {ctx.profile!r}, runs in {ctx.runs_root / ctx.profile}, device {ctx.device}")
    return ctx


def results_view(df: pd.DataFrame, metrics: Sequence[str] | None = None, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The key columns (variant, teacher, res, ...) and the main metrics of a results DataFrame,
    rounded, for display (the full frame stays in ``runs/<profile>/results/``)."""
    if metrics is None:
        metrics = FIX_METRICS if "nss" in df.columns else SOD_METRICS
    cols = [c for c in [*KEY_COLS, *extra] if c in df.columns]
    cols += [c for c in metrics if c in df.columns]
    if "params" in df.columns:
        cols.append("params")
    view = df[cols].copy()
    num = view.select_dtypes("number").columns
    view[num] = view[num].round(3)
    return view.reset_index(drop=True)


def _paper_row(key: str, v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return dict(v)
    if key.startswith("fastvsod") and isinstance(v, tuple) and len(v) == 2:
        return {"max_f": v[0], "mae": v[1]}
    return {"value": v}


def paper_table(key: str, rows: Sequence[Any] | None = None) -> pd.DataFrame:
    """The papers' numbers of ``salkd.papers.numbers.PAPER[key]`` (e.g. ``"skd_table1"``) as a table,
    one row per entry (or only ``rows``); fixation rows have the columns ``auc_judd, sauc, nss, sim,
    cc`` (+ ``params_m, mem_mb, gpu_fps, cpu_fps`` where the paper gives them), SOD entries are
    ``(max F, MAE)`` pairs."""
    from salkd.papers.numbers import PAPER

    table = PAPER[key]
    keys = list(table) if rows is None else list(rows)
    missing = [k for k in keys if k not in table]
    if missing:
        raise KeyError(f"PAPER[{key!r}] has no {missing}; it has {list(table)}")
    df = pd.DataFrame([_paper_row(key, table[k]) for k in keys])
    df.index = pd.MultiIndex.from_tuples(keys) if keys and all(isinstance(k, tuple) for k in keys) else keys
    return df


def paper_speed() -> pd.DataFrame:
    """The papers' deployment numbers (``salkd.papers.numbers.SPEED``): parameters (M), memory
    footprint (MB), GPU and one-CPU-core frames/s per model and input resolution (empty: not quoted)."""
    from salkd.papers.numbers import SPEED

    df = pd.DataFrame([{"model": m, "res": r, **v} for (m, r), v in SPEED.items()]).set_index(["model", "res"])
    return df.astype(object).where(df.notna(), "")
