"""Tables, figures and verdicts of the distillation test (written by :func:`run`).

* ``distill_transfer``: the corpus-only students on every frame of the test video, beside the teacher, the
  centred Gaussian, the corpus mean map and the human ceiling; no student trained on a frame of it.
* ``distill_label_scarcity`` (+ figure): k gaze-labelled frames alone, and with the corpus, against the mean
  map of the same k labels, on the test video's last part (these rows trained on its first part: they say so).
* ``distill_fidelity``: how close each student's map is to its teacher's on video neither trained on.
* ``distill_verdicts`` and ``DISTILLATION.md``: the goals read off those tables with their noise
  (:mod:`salkd.noise`: seeds and test blocks together, t quantile).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from salkd.context import Context
from salkd.distill import data as dd
from salkd.distill import rows as dr
from salkd.distill import scores as ds
from salkd.noise import Estimate, difference, estimate

__all__ = ["run", "verdict_above", "verdict_at_least"]

HOLDS, FAILS, UNDECIDED = "holds", "fails", "inconclusive"
#: a comparison with one seed and one test unit: no noise measured, no verdict
NO_NOISE = "no noise measured"


def verdict_above(d: Estimate) -> str:
    """``holds`` when the difference is above 0 by more than its 95 % half-width, ``fails`` when below by
    more, else ``inconclusive`` (``no noise measured`` with one seed and one unit)."""
    if d.se == 0:
        return NO_NOISE
    return HOLDS if d.low > 0 else FAILS if d.high < 0 else UNDECIDED


def verdict_at_least(e: Estimate, goal: float) -> str:
    """``holds`` when the whole 95 % interval is at or above ``goal``, ``fails`` when it is below."""
    if e.se == 0:
        return NO_NOISE
    return HOLDS if e.low >= goal else FAILS if e.high < goal else UNDECIDED


def _cell(e: Estimate) -> str:
    return e.text(3)


def _est(ctx: Context, frames: Sequence[pd.DataFrame], metric: str) -> Estimate:
    return estimate(ds.units(ctx, frames, metric))


def _transfer(ctx: Context, runs: Mapping[tuple, list[Path]], test: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    sec = ctx.cfg["distill"]
    base = ds.baselines(ctx, test, None)
    rows, scores = [], {}
    teacher = str(sec["teacher"])
    scores["teacher"] = [base["teacher"]]
    corpus_rows = [r for r in runs if r[0] == "corpus"]
    for r in corpus_rows:
        scores[f"student-{r[2]}"] = [ds.run_scores(ctx, run, test, "test") for run in runs[r]]
    labels = {"teacher": (f"teacher {teacher}", sec.get("teacher_note", ""), "-"),
              "centre": ("centred Gaussian", "nothing", "-"),
              "train-mean": ("corpus mean map (mean teacher map of the corpus)", "corpus (teacher maps)", "-"),
              "human": ("human ceiling (split-half observers)", "-", "-")}
    t_nss, t_cc = _est(ctx, scores["teacher"], "nss"), _est(ctx, scores["teacher"], "cc")
    order = ["teacher"] + [f"student-{r[2]}" for r in corpus_rows] + ["centre", "train-mean", "human"]
    for key in order:
        if key.startswith("student"):
            res = int(key.split("-")[1])
            frames = scores[key]
            name, trained, inp = f"student {sec['student']}, corpus only (k = 0)", "corpus (teacher maps, mu = 1)", f"{res}x{res}"
        elif key in base:
            frames = [base[key]]
            scores[key] = frames
            name, trained, inp = labels[key]
        else:
            continue
        n, c = _est(ctx, frames, "nss"), _est(ctx, frames, "cc")
        seen: Any = 0
        if key == "teacher" and sec.get("teacher_saw_test"):
            seen = "all (in its training set)"
        elif key == "human":
            seen = "-"
        rows.append({"row": name, "trained on": trained, "input": inp, "seeds": n.n_seeds, "units": n.n_units,
                     "NSS": _cell(n), "CC": _cell(c), "NSS / teacher": f"{n.mean / t_nss.mean:.0%}",
                     "CC / teacher": f"{c.mean / t_cc.mean:.0%}", "frames of the test video trained on": seen,
                     "nss_mean": n.mean, "nss_half": n.half, "cc_mean": c.mean, "cc_half": c.half})
    return pd.DataFrame(rows), scores


def _scarcity(ctx: Context, runs: Mapping[tuple, list[Path]], test: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    sec = ctx.cfg["distill"]
    sres = int(sec["scarcity_res"])
    ks = sorted({r[1] for r in runs if r[2] == sres and r[0] != "corpus" or r == ("corpus", 0, sres, r[3])})
    rows, scores = [], {}
    refs = ds.baselines(ctx, test, 0)
    for ref in ("teacher", "centre", "human"):
        if ref in refs:
            scores[ref] = [refs[ref]]
    for r, rs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if r[2] != sres or (r[0] == "corpus" and r[3] != int(sec["scarcity_iters"])):
            continue
        arm, k = r[0], r[1]
        scores[(arm, k)] = [ds.run_scores(ctx, run, test, "scarcity") for run in rs]
    for k in ks:
        if k > 0:
            scores[("train-mean", k)] = [ds.baselines(ctx, test, k)["train-mean"]]
    names = {"labels": "labels alone (mu = 0)", "labels+corpus": f"labels + corpus (mu = {sec['mu']:g} / 1)",
             "corpus": "corpus alone (k = 0)", "train-mean": "mean map of the k labels",
             "teacher": f"teacher {sec['teacher']}", "centre": "centred Gaussian",
             "human": "human ceiling (split-half observers)"}
    for key, frames in scores.items():
        n, c = _est(ctx, frames, "nss"), _est(ctx, frames, "cc")
        arm, k = (key, None) if isinstance(key, str) else key
        seen: Any = 0 if k in (None, 0) else k
        if arm == "teacher" and sec.get("teacher_saw_test"):
            seen = "all (in its training set)"
        elif arm == "human":
            seen = "-"
        rows.append({"k": "-" if k is None else k, "row": names.get(arm, arm),
                     "seeds": n.n_seeds, "units": n.n_units, "NSS": _cell(n), "CC": _cell(c),
                     "frames of the test video trained on": seen if arm != "train-mean" else f"{seen} (their mean)",
                     "arm": arm, "nss_mean": n.mean, "nss_half": n.half, "cc_mean": c.mean, "cc_half": c.half})
    return pd.DataFrame(rows), scores


def _fidelity(ctx: Context, runs: Mapping[tuple, list[Path]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from salkd.distill.maps import center_gaussian, mean_map, teacher_maps, teacher_run

    fid = dd.fidelity_set(ctx)
    corpus_runs = [run for r, rs in runs.items() if r[0] == "corpus" for run in rs]
    cmaps = teacher_maps(ctx, teacher_run(ctx), list(dd.corpus(ctx).videos), progress=False)
    fixed = [("centred Gaussian", center_gaussian()), ("corpus mean map", mean_map([m.mean(axis=0) for m in cmaps.values()]))]
    per = ds.fidelity(ctx, [*corpus_runs, *fixed], fid)
    rows = []
    groups: dict[str, list[str]] = {}
    for r, rs in runs.items():
        if r[0] == "corpus":
            groups[f"student {ctx.cfg['distill']['student']} {r[2]}x{r[2]}, corpus only"] = [p.name for p in rs]
    groups.update({name: [name] for name, _ in fixed})
    for label, names in groups.items():
        row: dict[str, Any] = {"row": label, "seeds": len(names), "videos": len(fid.videos)}
        for m in ("cc", "kld", "sim"):
            table = np.stack([per[per["run"] == n][m].to_numpy() for n in names])
            e = estimate(table)
            row[m.upper()] = _cell(e)
            row[f"{m}_mean"], row[f"{m}_half"], row[f"{m}_low"], row[f"{m}_high"] = e.mean, e.half, e.low, e.high
            row[f"{m}_se"], row[f"{m}_df"] = e.se, e.df
        rows.append(row)
    return pd.DataFrame(rows), per


def _verdicts(ctx: Context, tscores: Mapping[str, Any], sscores: Mapping[Any, Any],
              fid: pd.DataFrame) -> pd.DataFrame:
    sec = ctx.cfg["distill"]
    res = int(sec["res"])
    goal = float(sec["keep_goal"])
    rows = []
    student = tscores[f"student-{res}"]

    def add(claim: str, d: Estimate, verdict: str, note: str = "") -> None:
        rows.append({"claim": claim, "value": _cell(d), "df": round(d.df, 1) if np.isfinite(d.df) else "inf",
                     "seeds": d.n_seeds, "units": d.n_units, "verdict": verdict, "note": note,
                     "margin": d.mean, "noise": d.half})

    for m in ds.METRICS:
        a = ds.units(ctx, student, m)
        t = ds.units(ctx, tscores["teacher"], m)
        d = difference(a, t, goal)
        add(f"k = 0 student at {res}x{res} keeps >= {goal:.0%} of the teacher's {m.upper()} (student - {goal:g} x teacher)",
            d, verdict_above(d), f"student {estimate(a).mean:.3f}, teacher {estimate(t).mean:.3f}")
        for ref in ("centre", "train-mean"):
            b = ds.units(ctx, tscores[ref], m)
            d = difference(a, b)
            add(f"k = 0 student above the {'centred Gaussian' if ref == 'centre' else 'corpus mean map'} in {m.upper()}",
                d, verdict_above(d))
    fgoal = float(sec["fidelity_goal"])
    for _, r in fid[fid["row"].str.startswith("student")].iterrows():
        e = Estimate(r["cc_mean"], r["cc_se"], r["cc_df"], int(r["seeds"]), int(r["videos"]))
        rows.append({"claim": f"fidelity CC to the teacher >= {fgoal:g} on held-out video ({r['row']})",
                     "value": r["CC"], "df": round(e.df, 1) if np.isfinite(e.df) else "inf", "seeds": int(r["seeds"]),
                     "units": int(r["videos"]), "verdict": verdict_at_least(e, fgoal),
                     "margin": e.mean - fgoal, "noise": e.half,
                     "note": f"95 % interval {r['cc_low']:.3f}-{r['cc_high']:.3f}"})
    ks = sorted({k for key in sscores if isinstance(key, tuple) and key[0] == "labels" for k in [key[1]]})
    for k in ks:
        for m in ds.METRICS:
            a = ds.units(ctx, sscores[("labels+corpus", k)], m)
            b = ds.units(ctx, sscores[("labels", k)], m)
            d = difference(a, b)
            add(f"k = {k}: the corpus adds to {k} labelled frames ({m.upper()}, with - without)", d, verdict_above(d),
                "trained on frames of the test video's first part")
            mm = ds.units(ctx, sscores[("train-mean", k)], m)
            d = difference(b, mm)
            add(f"k = {k}: labels alone beat the mean map of the same labels ({m.upper()})", d, verdict_above(d),
                "trained on frames of the test video's first part")
    return pd.DataFrame(rows)


def _figure(ctx: Context, table: pd.DataFrame, out: Path) -> list[Path]:
    from salkd import plots

    fig = plots.new_figure(4.6, 3.2)
    ax = fig.subplots()
    arms = [("labels", "labels alone"), ("labels+corpus", "labels + teacher-labelled corpus"),
            ("train-mean", "mean map of the k labels")]
    ks = sorted({int(k) for k in table["k"] if k != "-"})
    pos = {k: i for i, k in enumerate(ks)}
    for j, (arm, label) in enumerate(arms):
        sub = table[table["arm"] == arm]
        if arm == "labels+corpus":
            sub = pd.concat([table[table["arm"] == "corpus"], sub])
        if sub.empty:
            continue
        x = [pos[int(k)] + (j - 1) * 0.06 for k in sub["k"]]
        ax.errorbar(x, sub["nss_mean"], yerr=sub["nss_half"], marker="o", ms=3, capsize=2, label=label,
                    color=plots.PALETTE[j])
    for ref, style in (("teacher", "--"), ("centre", ":"), ("human", "-.")):
        r = table[table["arm"] == ref]
        if not r.empty:
            ax.axhline(float(r["nss_mean"].iloc[0]), ls=style, color="gray", lw=1)
            ax.text(len(ks) - 0.5, float(r["nss_mean"].iloc[0]), {"centre": "centred Gaussian"}.get(ref, ref),
                    fontsize=6, va="bottom", ha="right", color="gray")
    ax.set_xticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("k gaze-labelled frames of the test video's first part")
    ax.set_ylabel("NSS on its last part (95 % interval)")
    ax.legend(fontsize=6, loc="lower right")
    return plots.save(fig, out, "distill_label_scarcity")


def _qualitative(ctx: Context, runs: Mapping[tuple, list[Path]], out: Path) -> list[Path]:
    from salkd import plots
    from salkd.data.lowres import reduce
    from salkd.device import resolve_device
    from salkd.distill.maps import teacher_maps, teacher_run
    from salkd.evaluate import model_inputs, pair_index
    from salkd.models import from_run
    import cv2
    import torch

    res = int(ctx.cfg["distill"]["res"])
    run = runs[next(r for r in runs if r[0] == "corpus" and r[2] == res)][0]
    model = from_run(run).eval()
    test = dd.gaze_videos(ctx)
    fid = dd.fidelity_set(ctx).videos
    picks = [(v, t) for v in test for t in np.linspace(0, len(v) - 1, 3).round().astype(int)]
    picks += [(v, len(v) // 2) for v in fid[:3]]
    teach = teacher_maps(ctx, teacher_run(ctx), [v for v, _ in picks], progress=False)
    frames, gts, tm, sm = [], [], [], []
    for v, t in picks:
        img = v.read_frame(int(t))
        frames.append(img)
        gts.append(v.read_density(int(t)) if v.density is not None else np.zeros(img.shape[:2], np.float32))
        tm.append(teach[v.name][int(t)])
        small = np.stack([reduce(v.read_frame(i), (res, res)) for i in (int(t), pair_index(int(t), len(v)))])
        with torch.no_grad():
            x = model_inputs(model, small, [0], resolve_device("cpu"))
            pred = torch.sigmoid(model(*x))[0, 0].numpy()
        sm.append(cv2.resize(pred, tm[-1].shape[::-1], interpolation=cv2.INTER_LINEAR))  # the frame's aspect
    fig = plots.qualitative_grid(frames, gts, {"teacher": tm, f"student {res}x{res} (k = 0)": sm},
                                 gt_label="gaze (test video only)",
                                 title="test video (first rows) and held-out video (last rows)")
    return plots.save(fig, out, "distill_qualitative")


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    """Train (or reuse) every row, score them, and write the tables, figures and ``DISTILLATION.md`` into
    :meth:`~salkd.context.Context.figures_dir`. Returns the tables."""
    from salkd.tables import write_table

    runs = dr.train_all(ctx)
    out = ctx.figures_dir()
    transfer, tscores = _transfer(ctx, runs, dd.test_set(ctx))
    scarcity, sscores = _scarcity(ctx, runs, dd.scarcity_test(ctx))
    fidelity, _ = _fidelity(ctx, runs)
    verdicts = _verdicts(ctx, tscores, sscores, fidelity)
    vsod = None
    if sec_vsod(ctx):  # the VSOD side: its own table and figure, its goals joined to the verdicts
        from salkd.distill import vsod_report

        vsod, vrows = vsod_report.run(ctx, out)
        verdicts = pd.concat([verdicts, pd.DataFrame(vrows)], ignore_index=True)
    shown = lambda df: df[[c for c in df.columns if not c.endswith(("_mean", "_half", "_low", "_high", "_se", "_df")) and c != "arm"]]  # noqa: E731
    write_table(shown(transfer), out, "distill_transfer", "Students that never saw the test video (values: mean ± 95 % half-width over seeds and test blocks)")
    write_table(shown(scarcity), out, "distill_label_scarcity", "Label scarcity: k gaze-labelled frames of the test video's first part, scored on its last part")
    write_table(shown(fidelity), out, "distill_fidelity", "Fidelity of each student to its teacher on held-out video")
    write_table(verdicts, out, "distill_verdicts", "Goals of the distillation test")
    _figure(ctx, scarcity, out)
    _qualitative(ctx, runs, out)
    from salkd.distill.summary import write_summary

    write_summary(ctx, out, transfer, scarcity, fidelity, verdicts, vsod)
    return {"transfer": transfer, "scarcity": scarcity, "fidelity": fidelity, "verdicts": verdicts, "vsod": vsod}


def sec_vsod(ctx: Context) -> bool:
    """True when the profile's distillation test has a VSOD side (``distill.vsod``)."""
    return bool((ctx.cfg.get("distill") or {}).get("vsod"))
