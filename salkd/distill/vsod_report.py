"""The VSOD side of the distillation test: its table (``distill_vsod_label_scarcity``), figure and goals.

Every row is scored by test sequence (the units of the noise, :mod:`salkd.noise`: training seeds and
sequences together, t quantile); the teacher (its maps at its own input size) and the centred Gaussian are
rows of the same table. A student row whose max-F is not above the centred Gaussian's by more than the noise
says "at chance": a comparison between two such rows measures nothing and is not judged.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from salkd.context import Context
from salkd.distill import scores as ds
from salkd.distill import vsod as dv
from salkd.noise import Estimate, difference, estimate

__all__ = ["METRICS", "table", "verdict_rows", "figure", "run", "AT_CHANCE"]

#: max-F (higher is better) and MAE (lower is better), by sequence
METRICS = ("max_f", "mae")
#: the verdict of a comparison whose rows are both at the centred Gaussian's level
AT_CHANCE = "both at chance"


def _units(frames: list[pd.DataFrame], metric: str) -> np.ndarray:
    return np.stack([df[metric].to_numpy(np.float64) for df in frames])


def scores(ctx: Context, runs: Mapping[tuple[str, int], list[Path]]) -> dict[Any, list[pd.DataFrame]]:
    """Per-sequence scores of the teacher, the centred Gaussian and every student row (one table per seed)."""
    from salkd.papers.teachers import teacher_knowledge
    from salkd.runs import read_json
    from salkd.sizes import as_size

    test = dv.test_set(ctx)
    trun = dv.teacher_run(ctx)
    tres = as_size(read_json(trun / "config.json")["res"])
    tmaps = teacher_knowledge(ctx.base(), trun, tres, task="vsod", dataset=test)
    out: dict[Any, list[pd.DataFrame]] = {
        "teacher": [ds.map_scores(ctx, test, tmaps)],
        "centre": [ds.map_scores(ctx, test, ds.constant(test, ds.center_gaussian()))]}
    for row, rs in runs.items():
        out[row] = [ds.run_scores(ctx, run, test, "vsod") for run in rs]
    return out


def _at_chance(sc: Mapping[Any, list[pd.DataFrame]], key: Any) -> bool:
    d = difference(_units(sc[key], "max_f"), _units(sc["centre"], "max_f"))
    return not d.low > 0


def table(ctx: Context, sc: Mapping[Any, list[pd.DataFrame]]) -> pd.DataFrame:
    """One row per student (arm, k) and the two references: max-F and MAE with their 95 % half-widths."""
    sec = dv.section(ctx)
    n = len(dv.train_set(ctx).videos)
    rows = []
    for key, frames in sc.items():
        f, m = estimate(_units(frames, "max_f")), estimate(_units(frames, "mae"))
        if key == "teacher":
            name, k, arm = f"teacher {sec['teacher']}", "-", "teacher-row"
            trained = str(sec.get("teacher_note") or "the profile's vsod training split")
        elif key == "centre":
            name, k, arm, trained = "centred Gaussian", "-", "centre", "nothing"
        else:
            arm, k = key
            trained = (f"masks of {k} / {n} sequences" if arm == "masks" else
                       f"masks of {k} / {n} sequences + teacher maps of the other {n - k}" if k else
                       f"teacher maps of all {n} sequences (no mask)")
            name = "masks alone" if arm == "masks" else ("teacher maps alone (k = 0)" if k == 0 else "masks + teacher maps")
        student = isinstance(key, tuple)
        rows.append({"k": k, "row": name, "trained on": trained, "seeds": f.n_seeds, "sequences": f.n_units,
                     "max-F": f.text(3), "MAE": m.text(3),
                     "level": ("at chance" if _at_chance(sc, key) else "above chance") if student else "-",
                     "arm": arm, "max_f_mean": f.mean, "max_f_half": f.half, "mae_mean": m.mean, "mae_half": m.half})
    return pd.DataFrame(rows)


def verdict_rows(ctx: Context, sc: Mapping[Any, list[pd.DataFrame]]) -> list[dict[str, Any]]:
    """The VSOD goals as rows of ``distill_verdicts`` (same columns, plus ``data``)."""
    from salkd.distill.report import verdict_above

    sec = dv.section(ctx)
    goal = float(ctx.cfg["distill"]["keep_goal"])
    n = len(dv.train_set(ctx).videos)
    teacher = str(sec["teacher"])
    test = sec["test"]
    data = f"{'profile vsod test split' if test == 'profile' else str(test).split(':', 1)[-1]} by sequence (never trained on)"
    rows: list[dict[str, Any]] = []

    def add(claim: str, d: Estimate, verdict: str, note: str = "") -> None:
        rows.append({"claim": claim, "value": d.text(3), "df": round(d.df, 1) if np.isfinite(d.df) else "inf",
                     "seeds": d.n_seeds, "units": d.n_units, "verdict": verdict, "note": note,
                     "margin": d.mean, "noise": d.half, "data": data})

    def compare(a_key: Any, b_key: Any) -> tuple[Estimate, str, str]:
        d = difference(_units(sc[a_key], "max_f"), _units(sc[b_key], "max_f"))
        if _at_chance(sc, a_key) and _at_chance(sc, b_key):
            return d, AT_CHANCE, "neither row is above the centred Gaussian by more than the noise"
        return d, verdict_above(d), ""

    if ("teacher", 0) in sc:
        a = _units(sc[("teacher", 0)], "max_f")
        t = _units(sc["teacher"], "max_f")
        d = difference(a, t, goal)
        add(f"VSOD k = 0: a fastvsod student distilled from {teacher}'s maps alone keeps >= {goal:.0%} of its "
            f"max-F (student - {goal:g} x teacher)", d, verdict_above(d),
            f"student {estimate(a).mean:.3f}, teacher {estimate(t).mean:.3f}")
        d = difference(a, _units(sc["centre"], "max_f"))
        add("VSOD k = 0 student above the centred Gaussian in max-F", d, verdict_above(d))
        if ("masks", n) in sc:
            d, v, note = compare(("teacher", 0), ("masks", n))
            add(f"VSOD: {teacher}'s maps alone (k = 0) against the masks of all {n} sequences (max-F, maps - masks)",
                d, v, note)
    for arm, k in sorted(key for key in sc if isinstance(key, tuple) and key[0] == "masks" and 0 < key[1] < n):
        if ("teacher", k) in sc:
            d, v, note = compare(("teacher", k), ("masks", k))
            add(f"VSOD k = {k}: {teacher}'s maps of the other {n - k} sequences add to {k} masked ones (max-F, "
                f"with - without)", d, v, note)
    return rows


def figure(ctx: Context, tab: pd.DataFrame, out: Path) -> list[Path]:
    """max-F against k for both arms, with the teacher and the centred Gaussian as lines."""
    from salkd import plots

    fig = plots.new_figure(4.6, 3.2)
    ax = fig.subplots()
    students = tab[tab["arm"].isin(["teacher", "masks"])]
    ks = sorted({int(k) for k in students["k"]})
    pos = {k: i for i, k in enumerate(ks)}
    n = max(ks) if ks else 0
    series = [("teacher", f"masks of k sequences + {dv.section(ctx)['teacher']} maps of the rest"),
              ("masks", "masks of k sequences alone")]
    for j, (arm, label) in enumerate(series):
        sub = students[(students["arm"] == arm) | ((students["k"] == n) & (arm == "teacher"))]
        if sub.empty:
            continue
        x = [pos[int(k)] + (j - 0.5) * 0.08 for k in sub["k"]]
        ax.errorbar(x, sub["max_f_mean"], yerr=sub["max_f_half"], marker="o", ms=3, capsize=2, label=label,
                    color=plots.PALETTE[j])
    for arm, style, text in (("teacher-row", "--", f"teacher {dv.section(ctx)['teacher']}"),
                             ("centre", ":", "centred Gaussian")):
        r = tab[tab["arm"] == arm]
        if not r.empty:
            y = float(r["max_f_mean"].iloc[0])
            ax.axhline(y, ls=style, color="gray", lw=1)
            ax.text(len(ks) - 0.5, y, text, fontsize=6, va="bottom", ha="right", color="gray")
    ax.set_xticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("k mask-labelled training sequences")
    ax.set_ylabel("max-F on the test sequences (95 % interval)")
    ax.legend(fontsize=6, loc="lower right")
    return plots.save(fig, out, "distill_vsod_label_scarcity")


def run(ctx: Context, out: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Train (or reuse) every VSOD row, write its table and figure into ``out``; returns the table and the
    verdict rows for ``distill_verdicts``."""
    from salkd.tables import write_table

    runs = dv.train_all(ctx)
    sc = scores(ctx, runs)
    tab = table(ctx, sc)
    shown = tab[[c for c in tab.columns if not c.endswith(("_mean", "_half")) and c != "arm"]]
    write_table(shown, out, "distill_vsod_label_scarcity",
                "VSOD: a fastvsod student on k masked training sequences, with or without the teacher's maps of the "
                "rest (max-F / MAE by test sequence, mean ± 95 % half-width over seeds and sequences)")
    figure(ctx, tab, out)
    return tab, verdict_rows(ctx, sc)
