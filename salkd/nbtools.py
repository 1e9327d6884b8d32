"""The notebooks' namespace: ``from salkd import nbtools`` gives everything a notebook cell calls.

* :func:`setup` -- the one call after the ``parameters`` cell: display options, the
  :class:`~salkd.context.Context` of the profile (via :func:`salkd.pipeline.context`), one line
  naming the profile, the runs folder and the device.
* Picking runs: :func:`main_runs` (the rows at the profile's own settings of a paper),
  :func:`teacher_runs`, :func:`complete_runs`, :func:`run_table`, :func:`run_config`
  (from :mod:`salkd.explore`).
* Tables: :func:`results_view` (the key columns and main metrics of a results table),
  :func:`paper_table` / :func:`paper_speed` (the papers' own numbers, from
  :mod:`salkd.papers.numbers`: notebooks never type a paper's number) and :func:`settings_table`
  (the training settings of this run, from the profile, beside the paper's).
* Figures and maps (from :mod:`salkd.viz`): :func:`figure`, :func:`show_samples`,
  :func:`plot_histories`, :func:`compare_maps`, :func:`predict_frame`, :func:`ground_truth`,
  :func:`frame_metrics`, :func:`overlay`.
* The explorer of ``10_explore``: :func:`explore` (from :mod:`salkd.explore`).

Importing this module lets IPython show the object-API figures inline (:func:`salkd.viz.register_png`).
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import pandas as pd

from salkd.declarations import paper_of_stage, task_of_key, task_of_stage
from salkd.explore import (FIXATION_STAGES, MAX_MAPS, VSOD_STAGES, Explorer, complete_runs, explore, main_runs,
                           main_selection, main_settings, run_config, run_table, teacher_runs)
from salkd.viz import (compare_maps, default_picks, figure, frame_metrics, ground_truth, history, overlay,
                       plot_histories, predict_frame, register_png, resolve_run, show_map, show_samples)

__all__ = ["setup", "results_view", "paper_table", "paper_speed", "settings_table", "run_settings",
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
    if task_of_key(key) == "vsod" and isinstance(v, tuple) and len(v) == 2:
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


#: the stages :func:`settings_table` knows, with the label its rows carry when several are shown
SETTING_STAGES = {"teachers": "teachers", "skd_students": "skd S_s / S_t", "skd_st": "skd S_st",
                  "uva_student": "uvanet S", "uva_st": "uvanet S_sp", "fastvsod_stage1": "fastvsod stage 1",
                  "fastvsod_stage2": "fastvsod stage 2"}


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _seeds(cfg: dict[str, Any], section: str) -> str:
    return str(int((cfg.get(section) or {}).get("seeds", cfg.get("seeds", 1))))


def _teacher_settings(ctx: Any) -> dict[str, str]:
    from salkd.map_sources import is_pretrained

    tc = ctx.cfg["teacher"]
    archs = list(dict.fromkeys([*tc["spatial"], tc["temporal"]]))
    given = tc.get("checkpoints") or {}
    how = {a: "published weights" if is_pretrained(a) else "user checkpoint" if given.get(a) else "no: trained here"
           for a in archs}
    trained = [a for a in archs if how[a].startswith("no")]
    na = "n/a (not trained here)"
    res = tc["res"] if isinstance(tc["res"], (int, str)) else "x".join(str(r) for r in tc["res"])
    return {"model": f"{', '.join(tc['spatial'])} (spatial); {tc['temporal']} (temporal)",
            "pretrained": "; ".join(f"{a}: {h}" for a, h in how.items()),
            "resolution": (f"{res}" if trained else "") + ("; " if trained and len(trained) < len(archs) else "")
                          + ("published models: their own input size" if len(trained) < len(archs) else ""),
            "batch": str(tc["batch"]) if trained else na, "optimizer, lr": f"Adam, {tc['lr']:g}" if trained else na,
            "epochs": str(tc["epochs"]) if trained else na,
            **({} if trained else {"arithmetic": na})}


def run_settings(ctx: Any, stage: str) -> dict[str, str]:
    """The training settings of ``stage`` in this run, from the profile's configuration (``ctx.cfg``, with
    overrides): the keys of :data:`salkd.papers.numbers.SETTINGS` ``[stage]``."""
    from salkd import results

    cfg = ctx.cfg
    task = task_of_stage(stage) or "fixation"
    out = {"data": results.data_desc(ctx, task),
           "arithmetic": f"{cfg.get('precision', 'fp32')}, "
                         f"{'channels-last (NHWC)' if cfg.get('channels_last') else 'contiguous (NCHW)'} layout"}
    if stage == "teachers":
        out.update(_teacher_settings(ctx))
        return out
    paper = paper_of_stage(stage)
    if paper is not None and paper.task == "fixation":  # skd's and uvanet's students: their profile section
        sec = paper.key
        c = cfg[sec]
        grid = ", ".join(str(r) for r in c["resolutions"])
        out["resolution"] = f"{grid} (teacher x resolution table); {c['res']} for the ablations"
        out["batch"], out["optimizer, lr"] = str(c["batch"]), f"Adam, {c['lr']:g}"
        teachers = f"{', '.join(c['teachers'])} (spatial) + {cfg['teacher']['temporal']} (temporal)"
        if stage == "skd_students":
            out.update(model="S_s / S_t: 13-layer SalNet-style students", pretrained="no", epochs=str(c["epochs"]),
                       mu=f"{c['mu']:g} (sweep: {', '.join(f'{m:g}' for m in c['mu_sweep'])})", teachers=teachers)
        elif stage == "skd_st":
            out.update(model="S_st: first 8 layers of S_s and S_t + fusion subnet",
                       pretrained="streams from S_s / S_t, fusion subnet random",
                       epochs=f"{c['st_epochs']} (Ablation-O from scratch: {c['epochs'] + c['st_epochs']})",
                       loss="hard loss only (eq. 5)", seeds=_seeds(cfg, sec))
        elif stage == "uva_student":
            blocks = ", ".join(c.get("blocks", ["cares"]))
            out.update(model=f"S: two-branch student (blocks: {blocks}; CA-Res for the main rows)",
                       pretrained="no (from scratch)", epochs=str(c["epochs"]), mu=f"{c['mu']:g}", teachers=teachers)
        else:
            out.update(model="S_sp: first 6 blocks of S + fusion subnet", pretrained="from S",
                       epochs=str(c["st_epochs"]), loss="hard loss only (eq. 8)", seeds=_seeds(cfg, sec))
        return out
    fc = cfg["fastvsod"]
    one = stage == "fastvsod_stage1"
    extra = [f"{b} (published weights, frozen, at {fc['pretrained_res']}x{fc['pretrained_res']})"
             for b in fc.get("pretrained_backbones") or []]
    iters = fc.get("stage1_max_iters" if one else "stage2_max_iters")
    out.update(model=f"{fc['backbone']} (width {fc['width']:g}) + ASPP + 2 embedding units"
                     + ("" if one else " + SD + TD + inter-frame encoder (training only)"),
               pretrained=("yes: ImageNet weights" if fc.get("pretrained") else "no (from scratch)") if one else "stage 1",
               resolution=f"{fc['res']}x{fc['res']}", batch=str(fc["batch"]),
               **{"optimizer, lr": f"SGD, {fc['lr1' if one else 'lr2']:g}, momentum {0.9 if one else 0.95}, wd 5e-4, poly"},
               epochs=f"poly over {iters} iterations" if iters else _epochs(int(fc["stage1_epochs" if one else "stage2_epochs"])))
    if one and extra:
        out["pretrained"] += "; extra rows from " + ", ".join(extra)
    if not one:
        out.update(alpha=f"{fc['alpha']:g} (sweep: {', '.join(f'{a:g}' for a in fc['alpha_sweep'])})",
                   seeds=_seeds(cfg, "fastvsod"))
    return out


def settings_table(ctx: Any, *stages: str) -> pd.DataFrame:
    """``setting | this run | paper`` for the training ``stages`` (e.g. ``"skd_students"``): this run's
    settings from the profile (:func:`run_settings`) beside the paper's
    (:data:`salkd.papers.numbers.SETTINGS`); with several stages each setting is prefixed by its stage."""
    from salkd.papers.numbers import SETTINGS

    unknown = [s for s in stages if s not in SETTING_STAGES]
    if not stages or unknown:
        raise ValueError(f"settings_table: unknown stage(s) {unknown}; stages: {', '.join(SETTING_STAGES)}")
    rows = []
    for stage in stages:
        ours, paper = run_settings(ctx, stage), SETTINGS[stage]
        for key in list(dict.fromkeys([*paper, *ours])):
            name = f"{SETTING_STAGES[stage]}: {key}" if len(stages) > 1 else key
            rows.append({"setting": name, "this run": ours.get(key, "—"), "paper": paper.get(key, "not stated")})
    return pd.DataFrame(rows).set_index("setting")
