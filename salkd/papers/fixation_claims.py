"""The claims skd and uvanet share (CLAIMS.md rows): resolution ladders (skd Table III / uvanet Table 3), the
student's deployment figures, the student against its teacher (skd Table I / uvanet Table 1: accuracy, speed,
size, reduction ratios) and the rows on video only the teacher labels. Tables and figures live in
:mod:`salkd.papers.common`; the papers' numbers in :mod:`salkd.papers.numbers`."""
from __future__ import annotations

from typing import Any

import pandas as pd

from salkd import results
import salkd.papers.common as common
from salkd.papers.common import main_teacher
from salkd.papers.numbers import NI_MARGINS, PAPER

__all__ = ["resolution_claims", "deployment_claims", "student_vs_teacher_claims", "speedup", "timing_note",
           "mac_ratio_note", "reduction_claims", "unlabeled_rows", "student_and_teacher", "PAPER_MODELS", "MUCH_FASTER",
           "LABELLED_ONLY", "WITH_UNLABELED", "STEP_MATCHED", "table_unlabeled", "unlabeled_claim",
           "unlabeled_step_claim", "teacher_labelled_notes"]


# ---- claims shared by skd and uvanet ---------------------------------------------------------------
def resolution_claims(ctx: Any, paper: str, ref: str, df: pd.DataFrame | None, variant: str, paper_key: str,
                      experiment: str, drop_at: int | None = None, runner_up: int | None = None) -> list[dict[str, Any]]:
    """skd Table III / uvanet Table 3, for every teacher run: the NSS falls step by step above 64x64
    (skd: 64 > 128 > 256; uvanet: 64 > 96 > 128 > 256), 64x64 beats 32x32, and 64x64 is the best
    resolution run. ``drop_at``: also "64x64 beats ``drop_at``" with the relative drop beside it (uvanet:
    "-27.0 % at 256"). ``runner_up``: also "``runner_up`` beats 128x128" (skd Sec. IV-C: "the best and
    runner-up performance are achieved when the input resolutions are 64x64 and 32x32"). A step whose resolutions this profile did not run is ``not measured`` and says so.
    The paper's values are its row for the same teacher, else its DVA row (marked)."""
    from salkd.claims import best_of_claim, compare_claim, missing_claim

    ptab = PAPER[paper_key]
    ov = results.overall(df) if df is not None else None
    ran = ov is not None and len(ov) > 0
    teachers = (sorted(set(ov["teacher"].astype(str).str.lower())) if ran
                else list(dict.fromkeys(t for t, _ in ptab)))
    ladder = sorted({r for _, r in ptab if r >= 64})        # 64, then the paper's higher resolutions
    rows = []
    for t in teachers:
        run_res = sorted({int(r) for r in ov.loc[ov["teacher"].astype(str).str.lower() == t, "res"]}) if ran else []
        src = t if (t, 64) in ptab else "dva"

        def pv(hi: int, lo: int) -> str | None:
            a, b = ptab.get((src, hi), {}).get("nss"), ptab.get((src, lo), {}).get("nss")
            if a is None or b is None:
                return None
            return f"{a:.3f} vs {b:.3f} ({(b / a - 1):+.1%} at {lo})" + ("" if src == t else " (paper: DVA)")

        def effect(hi: int, lo: int) -> float | None:
            a, b = ptab.get((src, hi), {}).get("nss"), ptab.get((src, lo), {}).get("nss")
            return None if a is None or b is None else a - b

        def pair(hi: int, lo: int, text: str) -> dict[str, Any]:
            if df is None:
                return missing_claim(paper, ref, text, "nss", pv(hi, lo),
                                     f"experiment {experiment!r} not run ({results.MAKER.get(experiment, '?')})")
            absent = [str(r) for r in (hi, lo) if r not in run_res]
            if absent:
                return missing_claim(paper, ref, text, "nss", pv(hi, lo),
                                     f"no runs at {'/'.join(absent)} in this profile (resolutions run: "
                                     f"{', '.join(map(str, run_res)) or 'none'})", results.data_desc(ctx, "fixation"))
            sa = results.summarize(ctx, df, "nss", variant=variant, teacher=t, res=hi)
            sb = results.summarize(ctx, df, "nss", variant=variant, teacher=t, res=lo)
            row = compare_claim(ctx, paper, ref, text, "nss", sa, sb, pv(hi, lo), "fixation",
                                missing=f"no {variant} result at {hi} and {lo}", paper_effect=effect(hi, lo))
            if sa is not None and sb is not None and sa.value:
                row["ours"] += f" ({(sb.value / sa.value - 1):+.1%} at {lo})"
            return row

        for hi, lo in zip(ladder, ladder[1:]):
            rows.append(pair(hi, lo, f"{t}: {hi}x{hi} beats {lo}x{lo}"))
        if drop_at is not None and drop_at != ladder[1]:
            rows.append(pair(64, drop_at, f"{t}: 64x64 beats {drop_at}x{drop_at} (the paper's drop at {drop_at})"))
        rows.append(pair(64, 32, f"{t}: 64x64 beats 32x32"))
        if runner_up is not None:
            rows.append(pair(runner_up, 128, f"{t}: {runner_up}x{runner_up} beats 128x128 ({runner_up} is the runner-up)"))
        text = f"{t}: 64x64 is the best resolution"
        best_pv = f"64 best of {', '.join(str(r) for _, r in sorted(k for k in ptab if k[0] == src))}"
        if len(run_res) < 3:
            rows.append(missing_claim(paper, ref, text, "nss", best_pv,
                                      f"only {len(run_res)} resolution(s) run ({', '.join(map(str, run_res)) or 'none'}): "
                                      f"the pairwise rows above are the whole comparison",
                                      results.data_desc(ctx, "fixation") if ran else "—"))
        else:
            sums = {f"{r}x{r}": results.summarize(ctx, df, "nss", variant=variant, teacher=t, res=r) for r in run_res}
            rivals = [ptab[(src, r)]["nss"] for r in run_res if r != 64 and (src, r) in ptab]
            rows.append(best_of_claim(ctx, paper, ref, text, sums, "64x64", "nss", "fixation", best_pv,
                                      what="resolution", paper_effect=ptab[(src, 64)]["nss"] - max(rivals)
                                      if rivals and (src, 64) in ptab else None))
    return rows


def input_size_note(rows: list[dict[str, Any]], res: int, key: str, paper_res: int = 64) -> list[dict[str, Any]]:
    """Say on each measured row which input size its runs trained and tested at when it is not the paper's
    (skd Table IV / Fig. 8 and uvanet Fig. 6 are the papers' 64x64 students): the comparison is still fair
    (every compared run at the same size), but it is made at another size than the paper's. ``key``: the
    profile key that sets the size, e.g. ``skd.res``."""
    from salkd.verdicts import NOT_MEASURED

    if int(res) == int(paper_res):
        return rows
    for r in rows:
        if r.get("verdict") != NOT_MEASURED:
            r["note"] = (f"every compared run at {int(res)}x{int(res)}, the paper's at {int(paper_res)}x{int(paper_res)} "
                         f"(set {key} to run it there); " + str(r.get("note") or ""))
    return rows


def deployment_claims(ctx: Any, paper: str, model: str, ref: str, table: str) -> list[dict[str, Any]]:
    """Parameters, one-core CPU FPS, GPU FPS and memory footprint of the deployed net at 32 and 64
    (skd Table I / V, uvanet Table 1 / 4; the paper's numbers from :mod:`salkd.papers.numbers`).

    The parameter count is a fact we fitted (the students' widths were chosen to reach it): ``by
    construction``. The papers' CPU figure is one core: ours is measured on one thread, batch 1, eager
    fp32 (:func:`salkd.bench.cost.one_core_cost`); the benchmark's best two-core figure is in the note.
    Absolute frames/s on another CPU than the paper's are ``not comparable`` (shown, not judged; the judged
    speed rows are ratios measured on one machine). Memory footprints are defined differently (``not
    comparable``)."""
    from salkd.claims import claim_row
    from salkd.papers.numbers import SPEED
    from salkd.verdicts import BY_CONSTRUCTION, NOT_COMPARABLE, NOT_MEASURED

    speed = results.load_or_none(ctx, "speed", quiet=True)
    params_m = SPEED[(model, 64)]["params_m"]
    sp64 = results.speed_at(speed, model, 64) or {}
    prm = sp64.get("params")
    if prm is None:
        for r in (32, 128, 96, 256):
            prm = (results.speed_at(speed, model, r) or {}).get("params") or prm
    ours_m = prm / 1e6 if prm else None
    rows = [claim_row(paper, ref, f"{model} has {params_m} M parameters", "params (M)", params_m,
                      None if ours_m is None else round(ours_m, 4), None if ours_m is None else ours_m - params_m,
                      None, "model definition (no data)", NOT_MEASURED if ours_m is None else BY_CONSTRUCTION,
                      "our channel widths were chosen to reach the paper's count: a fact of the model, not evidence")]
    for res, (gms, gfps, cms, cfps, mem) in PAPER[table].items():
        if res not in (32, 64):
            continue
        sp = results.speed_at(speed, model, res) or {}
        one = _one_core_fps(model, res) if speed is not None else None
        two = (f"; best on 2 cores: {sp['fps']:.1f} FPS ({sp.get('runtime')}, batch {sp.get('batch')})"
               if sp.get("fps") else "")
        rows.append(claim_row(paper, ref, f"{model} at {res}x{res}: {cfps} FPS on one CPU core", "CPU FPS (1 thread)",
                              cfps, None if one is None else round(one, 1), None if one is None else one / cfps, None,
                              f"this CPU ({_cpu_name()}), 1 thread, batch 1, eager fp32",
                              NOT_MEASURED if one is None else NOT_COMPARABLE,
                              "shown, not judged: frames/s on this CPU against the paper's CPU (one core of an "
                              "unnamed / Intel 3.4 GHz CPU) compare two machines, not two models; margin = ours / "
                              "paper" + two))
        rows.append(claim_row(paper, ref, f"{model} at {res}x{res}: {gfps} FPS on a GPU", "GPU FPS", gfps, None, None,
                              None, "—", NOT_MEASURED, "no GPU on this machine"))
        if mem is not None:
            from salkd.papers.cost_claims import DEFINITION, student_activation_mb

            m = student_activation_mb(model, res)
            rows.append(claim_row(paper, ref, f"{model} at {res}x{res}: memory footprint {mem} MB", "memory (MB)", mem,
                                  round(m, 3), m / mem, None, "model definition (no data)", NOT_COMPARABLE,
                                  f"ours = {DEFINITION}; the paper does not define its footprint, so the MB are shown, "
                                  f"not judged (parameters + activations: {sp.get('mem_mb', float('nan')):.3f} MB)"))
    return rows


def _one_core_fps(model: str, res: int) -> float | None:
    """Frames/s of the deployed ``model`` at ``res`` on one thread, batch 1, eager fp32 (random weights:
    speed does not depend on them)."""
    import torch

    from salkd.bench.cost import one_core_cost
    from salkd.models import build
    from salkd.models.inputs import example_inputs

    torch.manual_seed(0)
    net = build(model).deploy().eval()
    return one_core_cost(net, example_inputs(net, res), repeats=20)["fps_1thread"]


def _cpu_name() -> str:
    """The CPU model name of this machine (``lscpu``'s, from /proc/cpuinfo)."""
    from salkd.bench.machine import cpu_info

    return str(cpu_info().get("model") or cpu_info().get("name") or "unknown CPU")


# ---- the student against its teacher: accuracy, speed, size (skd Table I, uvanet Table 1) ------------
#: the papers' comparison models (skd Table I, uvanet Table 1) that the text compares the student with, and
#: the teacher of ours (``teachers`` results) that stands for each; STS has no counterpart in salkd
PAPER_MODELS = {"DVA*": "dva", "SalNet*": "salnet", "STS*": "sts"}
#: the speed-up over its teacher that counts as "much faster" (the papers report 40-600x; see the row's note)
MUCH_FASTER = 20.0


def student_and_teacher(ctx: Any, exp: str, variant: str, teacher: str, res: int) -> pd.DataFrame | None:
    """One frame with the student's rows (``variant`` distilled from the main teacher at ``res``, relabelled
    "student") and the rows of ``teacher`` in the ``teachers`` results (relabelled "teacher"), or None."""
    teachers = results.load_or_none(ctx, "teachers", quiet=True)
    students = results.load_or_none(ctx, exp, quiet=True)
    if teachers is None or students is None:
        return None
    tt = results.overall(teachers)
    ss = results.overall(students)
    ss = ss[(ss["variant"].astype(str) == variant) & (ss["teacher"].astype(str).str.lower() == main_teacher(ctx))
            & (ss["res"] == res)]
    return pd.concat([tt[tt["variant"].astype(str).str.lower() == teacher].assign(variant="teacher"),
                      ss.assign(variant="student")], ignore_index=True)


def _column_or_run(ctx: Any, both: pd.DataFrame | None, who: str, col: str, what: str,
                   prefer_run: bool = False) -> float | None:
    """``col`` of the ``who`` rows ("student" / "teacher") when the results have it, else measured on the
    first such row's run folder (:func:`salkd.papers.common.run_cost`); ``prefer_run``: the measurement first, the column only
    when the run cannot be measured (speeds: both sides timed now, on the same machine and load)."""
    if both is None:
        return None
    rows = both[both["variant"] == who]
    if not len(rows):
        return None
    measured = (lambda: common.run_cost(ctx, rows.iloc[0].get("run"), what)) if what in ("fps", "mem_mb") else (lambda: None)
    if prefer_run:
        got = measured()
        if got is not None:
            return got
    if col in rows.columns:
        v = pd.to_numeric(rows[col], errors="coerce").dropna()
        if len(v):
            return float(v.max())
    return None if prefer_run else measured()


def student_vs_teacher_claims(ctx: Any, paper: str, ref: str, exp: str, variant: str, table_key: str,
                              prefix: str, res: int = 64) -> list[dict[str, Any]]:
    """The papers' central claim on our runs: the distilled student at ``res`` (``variant`` of ``exp``,
    distilled from the main teacher) against its own teacher, on the same test frames (paired noise):

    * it keeps the teacher's accuracy (NSS within the noise or better; paper: ``<prefix>-DVA-64`` vs DVA*);
    * it is much faster on one CPU thread (at least :data:`MUCH_FASTER` x; the paper's ratio beside);
    * both at once (the trade-off; :func:`salkd.verdicts.verdict_all`);
    * it beats the paper's other comparison models where we have a counterpart (:data:`PAPER_MODELS`);
    * its parameter and memory reduction ratios against the teacher (:func:`reduction_claims`).

    The teacher's speed is its ``fps_1thread`` (published teachers) or measured on its run folder; the
    student's is measured on its run folder (1 thread, batch 1, eager fp32)."""
    from salkd.claims import better_claim, claim_row
    from salkd.verdicts import NOT_MEASURED, verdict_all, verdict_at_least

    p1 = PAPER[table_key]
    ps, pt = p1[f"{prefix}-DVA-{res}"], p1["DVA*"]
    paper_delta, paper_speedup = ps["nss"] / pt["nss"] - 1, ps["cpu_fps"] / pt["cpu_fps"]
    t = main_teacher(ctx)
    both = student_and_teacher(ctx, exp, variant, t, res)
    text = f"distilled student at {res}x{res} keeps its teacher's accuracy (NSS not worse by more than the paper's margin)"
    keeps = better_claim(ctx, paper, ref, text, both, "nss", {"variant": "student"}, {"variant": "teacher"},
                         ps["nss"], pt["nss"], "fixation", exp, not_worse=True,
                         ni_margin=NI_MARGINS[f"{paper}_keeps"]["nss"])
    keeps["paper_value"] = f"{paper_delta:+.1%} NSS vs the teacher"
    keeps["central"] = True
    if both is not None and keeps["ours"]:
        keeps["note"] = (f"teacher {t}; " + keeps["note"] +
                         ("; the published teacher was trained on DHF1K, which includes this sample video, so its "
                          "score here is optimistic" if t.startswith("tinyhd") else ""))
    sp = speedup(ctx, both)
    speed = claim_row(paper, ref, f"the student at {res}x{res} is much faster than its teacher on one CPU thread",
                      "speed-up (1 thread)", round(paper_speedup, 1), None if sp is None else round(sp, 1), sp, None,
                      "this CPU, 1 thread, eager fp32, batch 1 (teacher: its own input size and clip)",
                      NOT_MEASURED if sp is None else verdict_at_least(sp, MUCH_FASTER),
                      f"reproduced when at least {MUCH_FASTER:g}x; the paper's own ratio (one CPU core) is beside it; "
                      + timing_note() + mac_ratio_note(ctx, both) if sp is not None
                      else "no teacher run or speed of the teacher in this profile")
    rows = [keeps, speed]
    tv = pd.to_numeric(both.loc[both["variant"] == "teacher", "nss"], errors="coerce").mean() if both is not None else None
    sv = pd.to_numeric(both.loc[both["variant"] == "student", "nss"], errors="coerce").mean() if both is not None else None
    ratio = sv / tv if tv and sv == sv and tv == tv else None
    rows.append(claim_row(paper, ref, f"trade-off: the student at {res}x{res} keeps its teacher's accuracy at a "
                          "fraction of its cost (both rows above)", "NSS ratio, speed-up",
                          f"{paper_delta:+.1%} NSS at {paper_speedup:.0f}x the speed (one CPU core)",
                          None if ratio is None or sp is None else f"NSS {ratio:.0%} of the teacher's, {sp:.1f}x faster",
                          None, None, keeps["data"], verdict_all(keeps["verdict"], speed["verdict"]),
                          f"both must hold: accuracy {keeps['verdict']}, speed {speed['verdict']}", central=True,
                          parts=f"{keeps['claim']} && {speed['claim']}"))
    rows += _other_model_claims(ctx, paper, ref, exp, variant, table_key, prefix, res)
    return rows + reduction_claims(ctx, paper, ref, exp, variant, table_key, prefix,
                                   "skd_st" if prefix == "SKD" else "uva_st")


def mac_ratio_note(ctx: Any, both: pd.DataFrame | None) -> str:
    """``; MACs per output frame: student <s> M, teacher <t> M (<t/s>x fewer: ...)``: what the arithmetic alone
    allows (a teacher that is itself a small net, or amortizes a clip over its frames, leaves little to gain); ""
    when either run cannot be measured."""
    if both is None:
        return ""
    macs = {}
    for who in ("student", "teacher"):
        rows = both[both["variant"] == who]
        macs[who] = common.run_cost(ctx, rows.iloc[0].get("run"), "macs") if len(rows) else None
    s, t = macs["student"], macs["teacher"]
    if not s or not t:
        return ""
    return (f"; MACs per output frame: student {s / 1e6:.1f} M, teacher {t / 1e6:.1f} M ({t / s:.1f}x fewer: the "
            f"speed-up a runtime equally efficient on both would give)")


def timing_note() -> str:
    """How loaded the machine was when the speeds were timed (the ratio of two timings drifts with it)."""
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"student and teacher timed one after the other (load average {load:.1f} on {os.cpu_count()} CPUs)"


def speedup(ctx: Any, both: pd.DataFrame | None) -> float | None:
    """The student's one-thread frames/s over its teacher's (rows "student" / "teacher" of ``both``), both
    timed now on their run folders (a teacher's recorded ``fps_1thread`` only when its run cannot be loaded:
    a ratio of two timings taken under different machine loads would measure the load)."""
    teacher = _column_or_run(ctx, both, "teacher", "fps_1thread", "fps", prefer_run=True)
    student = _column_or_run(ctx, both, "student", "fps_1thread", "fps", prefer_run=True) if teacher else None
    return student / teacher if student and teacher else None


def _other_model_claims(ctx: Any, paper: str, ref: str, exp: str, variant: str, table_key: str, prefix: str,
                        res: int) -> list[dict[str, Any]]:
    """"<prefix>-DVA-64 beats SalNet / STS (/ DVA)" (skd: +14.4 / +15.3 / +2.7 % NSS; uvanet: +8.0 / +8.8 %):
    our student against our teacher of the same name. The main teacher is the "keeps its teacher's
    accuracy" row; a model with no counterpart here is ``not measured``."""
    from salkd.claims import better_claim, missing_claim

    p1 = PAPER[table_key]
    student = f"{prefix}-DVA-{res}"
    t = main_teacher(ctx)
    teachers = results.load_or_none(ctx, "teachers", quiet=True)
    ours = set(results.overall(teachers)["variant"].astype(str).str.lower()) if teachers is not None else set()
    rows = []
    for name, arch in PAPER_MODELS.items():
        if arch == t:
            continue  # the student's own teacher: the "keeps its teacher's accuracy" row
        text = f"the student at {res}x{res} beats the {name.rstrip('*')} model"
        pv = f"{p1[student]['nss']:.3f} vs {p1[name]['nss']:.3f} ({p1[student]['nss'] / p1[name]['nss'] - 1:+.1%} NSS)"
        if arch not in ours:
            rows.append(missing_claim(paper, ref, text, "nss", pv,
                                      f"no {name.rstrip('*')} model in this profile (teachers run: "
                                      f"{', '.join(sorted(ours)) or 'none'})"))
            continue
        row = better_claim(ctx, paper, ref, text, student_and_teacher(ctx, exp, variant, arch, res), "nss",
                           {"variant": "student"}, {"variant": "teacher"}, None, None, "fixation", exp)
        row["paper_value"] = pv
        row["note"] = f"ours: distilled from {t}, against our {arch} teacher; " + row["note"]
        rows.append(row)
    return rows


def reduction_claims(ctx: Any, paper: str, ref: str, exp: str, variant: str, table_key: str, prefix: str,
                     bench_model: str) -> list[dict[str, Any]]:
    """The papers' reduction ratios against DVA (parameters, and memory at 32 / 64, computed from their
    Table I / Table 1 in :data:`salkd.papers.numbers.PAPER`), on ours against the student's own teacher: parameter
    counts from the results; activation memory of both under one definition
    (:func:`salkd.papers.cost_claims.memory_reduction_rows`). Reproduced when our ratio is at least the paper's."""
    from salkd.claims import claim_row, missing_claim
    from salkd.verdicts import verdict_at_least

    p1, pt = PAPER[table_key], PAPER[table_key]["DVA*"]
    t = main_teacher(ctx)
    ps64 = p1[f"{prefix}-DVA-64"]
    rows = []
    both = student_and_teacher(ctx, exp, variant, t, 64)
    text = "the student has far fewer parameters than its teacher"
    pv = 1 - ps64["params_m"] / pt["params_m"]
    pv_text = f"{pv:.1%} fewer ({ps64['params_m']} M vs DVA's {pt['params_m']} M)"
    tp = _column_or_run(ctx, both, "teacher", "params", "none") if both is not None else None
    sp = _column_or_run(ctx, both, "student", "params", "none") if both is not None else None
    if not tp or not sp:
        rows.append(missing_claim(paper, ref, text, "parameter reduction", pv_text,
                                  "no parameter count of the teacher and the student in this profile"))
    else:
        red = 1 - sp / tp
        rows.append(claim_row(paper, ref, text, "parameter reduction", pv_text,
                              f"{red:.1%} fewer ({sp / 1e6:.3f} M vs {t}'s {tp / 1e6:.3f} M)", red - pv, None,
                              "model definitions (no data)", verdict_at_least(red, pv),
                              f"margin = ours - paper; the student's widths were fitted to the paper's count, the "
                              f"teacher is ours ({t}), not DVA"))
    from salkd.papers.cost_claims import memory_reduction_rows

    trow = both[both["variant"] == "teacher"] if both is not None else None
    tmb = common.run_cost(ctx, trow.iloc[0].get("run"), "act_mb") if trow is not None and len(trow) else None
    rows += memory_reduction_rows(ctx, paper, ref, table_key, prefix, bench_model, tmb, t)
    return rows


# the rows on video only the teacher labels live in salkd.papers.unlabeled_claims (re-exported: their old home)
from salkd.papers.unlabeled_claims import (LABELLED_ONLY, STEP_MATCHED, WITH_UNLABELED, table_unlabeled,  # noqa: E402
                                           teacher_labelled_notes, unlabeled_claim, unlabeled_rows,
                                           unlabeled_step_claim)
