"""Table and figure builders used by two or more papers (fixation metrics interleaved with the paper's,
teacher x resolution tables, ablations, sweeps, the comparison tables and the deployment tables)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from salkd import results
from salkd.papers.numbers import PAPER

__all__ = ["FIX_METRICS", "FIX_LABELS", "main_teacher", "SOD_METRICS", "SOD_LABELS", "fix_cols", "table_teacher_res",
           "table_ablation", "table_sweep", "comparison", "comparison_table", "our_comparison_rows", "speed_table", "fig_bars",
           "res_plot", "resolution_claims", "deployment_claims",
           "student_vs_teacher_claims"]

FIX_METRICS = ["auc_judd", "sauc", "nss", "sim", "cc"]
FIX_LABELS = {"auc_judd": "AUC", "sauc": "sAUC", "nss": "NSS", "sim": "SIM", "cc": "CC", "kld": "KLD",
              "auc_borji": "AUC-B"}
SOD_METRICS = ["max_f", "mae", "s_measure", "mean_e"]
SOD_LABELS = {"max_f": "maxF", "mae": "MAE", "s_measure": "S", "mean_e": "meanE", "adp_f": "adpF",
              "mean_f": "meanF", "max_e": "maxE", "w_f": "wF"}


def main_teacher(ctx: Any) -> str:
    """The profile's main spatial teacher of skd / uvanet (the papers' DVA; its first listed teacher)."""
    return str(((getattr(ctx, "cfg", None) or {}).get("skd") or {}).get("teachers", ["dva"])[0]).lower()


def fix_cols(ctx: Any, df: pd.DataFrame | None, where: Mapping[str, Any], paper: Mapping[str, float] | None,
              metrics: Sequence[str] = FIX_METRICS, labels: Mapping[str, str] = FIX_LABELS,
              primary: str = "nss") -> dict[str, Any]:
    """Our and the paper's values of ``metrics`` for one variant, interleaved, + error bar of ``primary``."""
    row: dict[str, Any] = {}
    for m in metrics:
        s = results.summarize(ctx, df, m, **where) if df is not None else None
        row[labels.get(m, m)] = s.value if s else None
        if paper is not None:
            row[f"{labels.get(m, m)} (paper)"] = paper.get(m) if isinstance(paper, Mapping) else None
        if m == primary:
            se = s.se() if s else None
            row[f"{labels.get(m, m)} ±2SE"] = None if se is None else 2 * se
    return row


def table_teacher_res(ctx: Any, experiment: str, variant: str, paper_key: str, title: str) -> pd.DataFrame | None:
    df = results.load_or_none(ctx, experiment)
    if df is None:
        return None
    sub = results.overall(df)
    if "variant" in sub.columns:
        sub = sub[sub["variant"].str.lower() == variant.lower()]
    rows = []
    keys = sorted({(str(t), int(r)) for t, r in zip(sub["teacher"], sub["res"])}, key=lambda k: (k[0], -k[1]))
    for t, r in keys:
        row = {"teacher": t, "res": r, "data": results.data_desc(ctx, "fixation")}
        row.update(fix_cols(ctx, df, {"variant": variant, "teacher": t, "res": r},
                             PAPER[paper_key].get((t.lower(), r), {})))
        rows.append(row)
    for (t, r), p in PAPER[paper_key].items():   # paper rows we did not run
        if (t, r) not in {(k[0].lower(), k[1]) for k in keys}:
            row = {"teacher": t, "res": r, "data": "not run here"}
            row.update(fix_cols(ctx, None, {}, p))
            rows.append(row)
    return pd.DataFrame(rows)


def table_ablation(ctx: Any, experiment: str, paper: Mapping[str, Any], task: str = "fixation",
                   order: Sequence[str] | None = None) -> pd.DataFrame | None:
    df = results.load_or_none(ctx, experiment)
    if df is None:
        return None
    variants = list(dict.fromkeys(results.overall(df)["variant"].astype(str)))
    if order:
        variants = [v for v in order if v in variants] + [v for v in variants if v not in order]
    rows = []
    for v in variants:
        row: dict[str, Any] = {"variant": v, "data": results.data_desc(ctx, task)}
        p = paper.get(v)
        if task == "fixation":
            row.update(fix_cols(ctx, df, {"variant": v}, p if isinstance(p, Mapping) else {"nss": p}))
        else:
            pm = {"max_f": p[0], "mae": p[1]} if isinstance(p, tuple) else {}
            row.update(fix_cols(ctx, df, {"variant": v}, pm, metrics=SOD_METRICS, labels=SOD_LABELS, primary="max_f"))
        rows.append(row)
    return pd.DataFrame(rows)


def table_sweep(ctx: Any, experiment: str, col: str, paper: Mapping[float, Any], task: str) -> pd.DataFrame | None:
    df = results.load_or_none(ctx, experiment)
    if df is None:
        return None
    ov = results.overall(df)
    if col not in ov.columns:
        print(f"[salkd.report] skipped: {experiment} has no column {col!r}")
        return None
    rows = []
    for x in sorted(pd.to_numeric(ov[col], errors="coerce").dropna().unique()):
        p = paper.get(round(float(x), 3))
        row: dict[str, Any] = {col: float(x), "data": results.data_desc(ctx, task)}
        if task == "fixation":
            row.update(fix_cols(ctx, df, {col: float(x)}, {"nss": p} if p is not None else {}))
        else:
            row.update(fix_cols(ctx, df, {col: float(x)}, {"max_f": p[0], "mae": p[1]} if p else {},
                                 metrics=SOD_METRICS, labels=SOD_LABELS, primary="max_f"))
        rows.append(row)
    return pd.DataFrame(rows)


def comparison(ctx: Any, paper_rows: Mapping[str, Mapping[str, Any]], ours: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for name, p in paper_rows.items():
        r = {"model": name, "source": "paper", "data": "AVS1K"}
        r.update({FIX_LABELS[m]: p.get(m) for m in FIX_METRICS})
        r.update({"params (M)": p.get("params_m"), "memory (MB)": p.get("mem_mb"), "GPU FPS": p.get("gpu_fps"),
                  "CPU FPS": p.get("cpu_fps")})
        rows.append(r)
    rows.extend(ours)
    return pd.DataFrame(rows)


def comparison_table(ctx: Any, paper_key: str, exp: str, variant: str, prefix: str,
                     bench_model: str) -> pd.DataFrame | None:
    """skd Table I / uvanet Table 1: the paper's rows (AVS1K) and ours (teachers, the student at 32 and 64),
    or None when neither the teachers nor ``exp`` have been run."""
    if results.load_or_none(ctx, exp, quiet=True) is None and results.load_or_none(ctx, "teachers", quiet=True) is None:
        return results.load_or_none(ctx, exp)
    return comparison(ctx, PAPER[paper_key], our_comparison_rows(ctx, paper_key, exp, variant, prefix, bench_model))


def our_comparison_rows(ctx: Any, paper_key: str, exp: str, variant: str, prefix: str, bench_model: str,
                         resolutions: Sequence[int] = (32, 64)) -> list[dict[str, Any]]:
    rows = []
    speed = results.load_or_none(ctx, "speed", quiet=True)
    teachers = results.load_or_none(ctx, "teachers", quiet=True)
    if teachers is not None:
        for t in list(dict.fromkeys(results.overall(teachers)["variant"].astype(str))):
            r = {"model": f"{t} teacher (ours)", "source": "ours", "data": results.data_desc(ctx, "fixation")}
            for m in FIX_METRICS:
                s = results.summarize(ctx, teachers, m, variant=t)
                r[FIX_LABELS[m]] = s.value if s else None
            pr = results.summarize(ctx, teachers, "params", variant=t)
            r.update({"params (M)": pr.value / 1e6 if pr else None, "memory (MB)": None,
                      "GPU FPS": "n/a (no GPU)", "CPU FPS": None})
            rows.append(r)
    df = results.load_or_none(ctx, exp, quiet=True)
    main = main_teacher(ctx)
    if df is not None:
        for res in resolutions:
            if results.summarize(ctx, df, "nss", variant=variant, teacher=main, res=res) is None:
                continue
            r = {"model": f"{prefix}-{main.upper()}-{res} (ours)", "source": "ours",
                 "data": results.data_desc(ctx, "fixation")}
            for m in FIX_METRICS:
                s = results.summarize(ctx, df, m, variant=variant, teacher=main, res=res)
                r[FIX_LABELS[m]] = s.value if s else None
            sp = results.speed_at(speed, bench_model, res) or {}
            pr = results.summarize(ctx, df, "params", variant=variant, teacher=main, res=res)
            params = sp.get("params") or (pr.value if pr else None)
            r.update({"params (M)": params / 1e6 if params else None, "memory (MB)": sp.get("mem_mb"),
                      "GPU FPS": "n/a (no GPU)",
                      "CPU FPS": sp.get("fps")})
            rows.append(r)
    return rows


def speed_table(ctx: Any, model: str, paper: Mapping[int, tuple], label: str) -> pd.DataFrame | None:
    speed = results.load_or_none(ctx, "speed")
    if speed is None:
        return None
    rows = []
    for res in sorted(set(paper) | set(int(r) for r in speed.loc[speed["model"].astype(str) == model, "res"].map(results.res_int))):
        sp = results.speed_at(speed, model, res) or {}
        p = paper.get(res, (None,) * 5)
        rows.append({"model": f"{label}-{res}", "res": res,
                     "GPU ms (paper)": p[0], "GPU FPS (paper)": p[1], "GPU FPS (ours)": "n/a (no GPU)",
                     "CPU ms (paper)": p[2], "CPU FPS (paper)": p[3],
                     "CPU ms (ours)": 1000.0 / sp["fps"] if sp.get("fps") else None,
                     "CPU FPS (ours)": sp.get("fps"),
                     "ours runtime/batch": f"{sp.get('runtime')}/{sp.get('batch')}" if sp.get("fps") else None,
                     "memory MB (paper)": p[4], "memory MB (ours)": sp.get("mem_mb"),
                     "params M (ours)": sp["params"] / 1e6 if sp.get("params") else None})
    return pd.DataFrame(rows)




def fig_bars(ctx: Any, tab: pd.DataFrame | None, metric_label: str, paper: Mapping[str, Any], title: str,
              second: str | None = None, ylabel: str | None = None):
    from salkd import plots

    if tab is None or not len(tab):
        return None
    labels = [str(v) for v in tab["variant"]]
    vals = pd.to_numeric(tab[metric_label], errors="coerce").to_numpy()
    err = pd.to_numeric(tab.get(f"{metric_label} ±2SE"), errors="coerce").fillna(0).to_numpy() \
        if f"{metric_label} ±2SE" in tab else None
    pp = {k: (v[0] if isinstance(v, tuple) else v) for k, v in paper.items()}
    sp = {k: v[1] for k, v in paper.items() if isinstance(v, tuple)}
    return plots.bar_metric(labels, vals, err=err, paper=pp, ylabel=ylabel or metric_label, title=title,
                            second=pd.to_numeric(tab[second], errors="coerce").to_numpy() if second else None,
                            second_label=second, second_paper=sp or None,
                            note=f"ours: {results.data_desc(ctx, 'vsod' if second else 'fixation')}")



def res_plot(tables: Mapping[str, pd.DataFrame | None], key: str, paper_key: str, title: str) -> Any:
    """NSS vs input resolution per teacher (skd Table III / uvanet Table 3), ours beside the paper's."""
    from salkd import plots

    t = tables.get(key)
    if t is None:
        return None
    t = t[t["data"] != "not run here"].copy()
    t["nss"] = pd.to_numeric(t["NSS"], errors="coerce")
    paper: dict[str, dict[int, float]] = {}
    for (te, r), p in PAPER[paper_key].items():
        paper.setdefault(te, {})[r] = p["nss"]
    paper = {k: v for k, v in paper.items() if k in set(t["teacher"].str.lower())}
    t["teacher"] = t["teacher"].str.lower()
    return plots.metric_vs_resolution(t, metric="nss", paper=paper, title=title)



# ---- claims shared by skd and uvanet ---------------------------------------------------------------
def resolution_claims(ctx: Any, paper: str, ref: str, df: pd.DataFrame | None, variant: str, paper_key: str,
                      experiment: str) -> list[dict[str, Any]]:
    """skd Table III / uvanet Table 3: for every teacher, 64x64 beats the largest resolution run (and 32x32)."""
    from salkd.claims import better_claim

    rows = []
    ov = results.overall(df) if df is not None else None
    teachers = sorted(set(ov["teacher"].astype(str).str.lower())) if ov is not None else ["dva"]
    for t in teachers:
        rs = sorted(set(ov.loc[ov["teacher"].astype(str).str.lower() == t, "res"])) if ov is not None else []
        top = max([r for r in rs if r != 64], default=256)
        pa, pb = PAPER[paper_key].get((t, 64), {}).get("nss"), PAPER[paper_key].get((t, min(top, 256)), {}).get("nss")
        rows.append(better_claim(ctx, paper, ref, f"{t}: 64x64 beats {top}x{top} (largest resolution run)", df,
                                 "nss", {"variant": variant, "teacher": t, "res": 64},
                                 {"variant": variant, "teacher": t, "res": top}, pa, pb, "fixation", experiment))
        if (32 in rs and top != 32) or df is None:
            rows.append(better_claim(ctx, paper, ref, f"{t}: 64x64 beats 32x32", df, "nss",
                                     {"variant": variant, "teacher": t, "res": 64},
                                     {"variant": variant, "teacher": t, "res": 32},
                                     PAPER[paper_key].get((t, 64), {}).get("nss"),
                                     PAPER[paper_key].get((t, 32), {}).get("nss"), "fixation", experiment))
    return rows


def deployment_claims(ctx: Any, paper: str, model: str, ref: str, table: str) -> list[dict[str, Any]]:
    """Parameters, one-core CPU FPS, GPU FPS and memory footprint of the deployed net at 32 and 64
    (skd Table I / V, uvanet Table 1 / 4; the paper's numbers from :mod:`salkd.papers.numbers`).

    The parameter count is a fact we fitted (the students' widths were chosen to reach it): ``by
    construction``. The papers' CPU figure is one core: ours is measured on one thread, batch 1, eager
    fp32 (:func:`salkd.bench.cost.one_core_cost`); the benchmark's best two-core figure is in the note.
    Memory footprints are defined differently (``not comparable``)."""
    from salkd.claims import claim_row
    from salkd.papers.numbers import SPEED
    from salkd.verdicts import BY_CONSTRUCTION, NOT_COMPARABLE, NOT_MEASURED, verdict_at_least

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
                              verdict_at_least(one, cfps),
                              "margin = ours / paper; different CPU (paper: one core of an unnamed / Intel 3.4 GHz "
                              "CPU)" + two))
        rows.append(claim_row(paper, ref, f"{model} at {res}x{res}: {gfps} FPS on a GPU", "GPU FPS", gfps, None, None,
                              None, "—", NOT_MEASURED, "no GPU on this machine"))
        if mem is not None:
            m = sp.get("mem_mb")
            rows.append(claim_row(paper, ref, f"{model} at {res}x{res}: memory footprint {mem} MB", "memory (MB)", mem,
                                  None if m is None else round(m, 3), None if m is None else m / mem, None,
                                  "model definition (no data)", NOT_MEASURED if m is None else NOT_COMPARABLE,
                                  "ours = parameters + peak activations (salkd.bench.cost); the paper does not define "
                                  "its footprint"))
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


def student_vs_teacher_claims(ctx: Any, paper: str, ref: str, exp: str, variant: str, paper_delta: float,
                              paper_speedup: float | None, res: int = 64) -> list[dict[str, Any]]:
    """The papers' central claim on our runs: the distilled student at ``res`` against its own teacher,
    on the same test frames (paired noise), and how many times faster it is on one thread.

    ``paper_delta``: the paper's relative NSS difference student vs teacher (skd: SKD-DVA-64 +2.7 % over
    DVA; uvanet: UVA-DVA-64 -3.1 %); ``paper_speedup``: the paper's CPU speed ratio (uvanet: 206x)."""
    from salkd.claims import better_claim, claim_row
    from salkd.verdicts import NOT_MEASURED, verdict_at_least

    t = main_teacher(ctx)
    teachers = results.load_or_none(ctx, "teachers", quiet=True)
    students = results.load_or_none(ctx, exp, quiet=True)
    text = f"distilled student at {res}x{res} keeps its teacher's accuracy (NSS within the noise or better)"
    both = None
    if teachers is not None and students is not None:
        tt = results.overall(teachers)
        ss = results.overall(students)
        ss = ss[(ss["variant"] == variant) & (ss["teacher"].str.lower() == t) & (ss["res"] == res)]
        both = pd.concat([tt[tt["variant"].str.lower() == t].assign(variant="teacher"),
                          ss.assign(variant="student")], ignore_index=True)
    row = better_claim(ctx, paper, ref, text, both, "nss", {"variant": "student"}, {"variant": "teacher"},
                       None, None, "fixation", exp, not_worse=True)
    row["paper_value"] = f"{paper_delta:+.1%} NSS vs the teacher"
    row["central"] = True
    if both is not None and row["ours"]:
        row["note"] = (f"teacher {t}; " + row["note"] +
                       ("; the published teacher was trained on DHF1K, which includes this sample video, so its "
                        "score here is optimistic" if t.startswith("tinyhd") else ""))
    rows = [row]
    sp = None
    if both is not None and len(both[both["variant"] == "student"]) and "fps_1thread" in both:
        from salkd.bench.cost import one_core_cost
        from salkd.models import load_for_inference
        from salkd.models.inputs import example_inputs

        run = results.run_path(ctx, both[both["variant"] == "student"].iloc[0]["run"])
        model, _, size = load_for_inference(run)
        student = one_core_cost(model, example_inputs(model, size[0]))["fps_1thread"]
        teacher = pd.to_numeric(both.loc[both["variant"] == "teacher", "fps_1thread"], errors="coerce").max()
        sp = student / teacher if teacher and teacher == teacher else None
    rows.append(claim_row(paper, ref, f"the student at {res}x{res} is much faster than its teacher on one CPU thread",
                          "speed-up (1 thread)", paper_speedup, None if sp is None else round(sp, 1), sp, None,
                          "this CPU, 1 thread, eager fp32, batch 1 (teacher: its own input size and clip)",
                          NOT_MEASURED if sp is None else verdict_at_least(sp, 20.0),
                          "reproduced when at least 20x (the issue's goal); the paper's own ratio is beside it"
                          if sp is not None else "no published teacher with a measured speed in this profile"))
    return rows
