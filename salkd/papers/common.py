"""Table and figure builders used by two or more papers (fixation metrics interleaved with the paper's,
teacher x resolution tables, ablations, sweeps, the comparison tables and the deployment tables)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from salkd import results
from salkd.papers.numbers import PAPER

__all__ = ["FIX_METRICS", "FIX_LABELS", "main_teacher", "SOD_METRICS", "SOD_LABELS", "fix_cols", "table_teacher_res",
           "table_ablation", "table_sweep", "comparison", "comparison_table", "our_comparison_rows", "speed_table", "fig_bars",
           "res_plot", "resolution_claims", "deployment_claims", "student_vs_teacher_claims", "speedup", "timing_note",
           "reduction_claims", "PAPER_MODELS", "MUCH_FASTER", "LABELLED_ONLY", "WITH_UNLABELED", "table_unlabeled",
           "unlabeled_claim", "teacher_comparison_rows"]

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
        rows += teacher_comparison_rows(ctx, teachers)
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
            ov = results.overall(df)
            sel = ov[(ov["variant"].astype(str) == variant) & (ov["teacher"].astype(str).str.lower() == main)
                     & (ov["res"] == res)]
            run = sel.iloc[0].get("run") if len(sel) else None
            macs = _run_cost(ctx, run, "macs")
            r.update({"input": f"{res}x{res}", "params (M)": params / 1e6 if params else None,
                      "MMACs/frame": None if macs is None else macs / 1e6, "memory (MB)": sp.get("mem_mb"),
                      "GPU FPS": "n/a (no GPU)", "CPU FPS": sp.get("fps"),
                      "CPU FPS (1 thread, batch 1)": _run_cost(ctx, run, "fps"),
                      "note": f"distilled from {main}"})
            rows.append(r)
    return rows


def _first_of(rows: pd.DataFrame, col: str) -> float | None:
    """The first finite value of ``col`` in ``rows``, or None (column absent or empty)."""
    if col not in rows.columns:
        return None
    v = pd.to_numeric(rows[col], errors="coerce").dropna()
    return float(v.iloc[0]) if len(v) else None


def _input_desc(run: Any) -> str | None:
    """A run's input as "<h>x<w>" (a published clip model: "<clip> x <h>x<w> clip"), from its config."""
    from salkd.runs import read_json

    if run is None or not (run / "config.json").is_file():
        return None
    cfg = read_json(run / "config.json")
    res = cfg.get("res")
    h, w = (res[0], res[1]) if isinstance(res, list) else (res, res)
    if str(cfg.get("pretrained", "")).startswith("tinyhd"):
        from salkd.models.pretrained.tinyhd import TinyHD

        return f"{TinyHD.clip_len} x {h}x{w} clip"
    return f"{h}x{w}"


def teacher_comparison_rows(ctx: Any, teachers: pd.DataFrame) -> list[dict[str, Any]]:
    """skd Table I / uvanet Table 1, issue 16 item 4: one row per teacher of the ``teachers`` results beside the
    students: its accuracy on the test split it is used with, its parameters, MACs per output frame, memory
    footprint and frames/s on one thread at its own input size (the recorded ``macs_per_frame`` /
    ``fps_1thread`` of a published teacher, else measured on its run folder, :func:`_run_cost`)."""
    from salkd.map_sources import is_pretrained

    ov = results.overall(teachers)
    rows = []
    for t in list(dict.fromkeys(ov["variant"].astype(str))):
        mine = ov[ov["variant"].astype(str) == t]
        run = results.run_path(ctx, mine.iloc[0].get("run"))
        published = is_pretrained(t)
        r: dict[str, Any] = {"model": f"{t} teacher ({'published' if published else 'ours'})", "source": "ours",
                             "data": results.data_desc(ctx, "fixation")}
        for m in FIX_METRICS:
            s = results.summarize(ctx, teachers, m, variant=t)
            r[FIX_LABELS[m]] = s.value if s else None
        params = _first_of(mine, "params")
        macs = _first_of(mine, "macs_per_frame")
        macs = macs if macs is not None else _run_cost(ctx, run, "macs")
        fps = _first_of(mine, "fps_1thread")
        r.update({"input": _input_desc(run), "params (M)": None if params is None else params / 1e6,
                  "MMACs/frame": None if macs is None else macs / 1e6, "memory (MB)": _run_cost(ctx, run, "mem_mb"),
                  "GPU FPS": "n/a (no GPU)", "CPU FPS": None,
                  "CPU FPS (1 thread, batch 1)": fps if fps is not None else _run_cost(ctx, run, "fps")})
        if published and t.startswith("tinyhd") and results.is_real(ctx, "fixation", "dhf1k"):
            r["note"] = ("published weights, trained on DHF1K, which includes this sample video: its score here is "
                         "optimistic")
        else:
            r["note"] = "published weights" if published else "trained here on the training split"
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
                      experiment: str, drop_at: int | None = None) -> list[dict[str, Any]]:
    """skd Table III / uvanet Table 3, for every teacher run: the NSS falls step by step above 64x64
    (skd: 64 > 128 > 256; uvanet: 64 > 96 > 128 > 256), 64x64 beats 32x32, and 64x64 is the best
    resolution run. ``drop_at``: also "64x64 beats ``drop_at``" with the relative drop beside it (uvanet:
    "-27.0 % at 256"). A step whose resolutions this profile did not run is ``not measured`` and says so.
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
                                missing=f"no {variant} result at {hi} and {lo}")
            if sa is not None and sb is not None and sa.value:
                row["ours"] += f" ({(sb.value / sa.value - 1):+.1%} at {lo})"
            return row

        for hi, lo in zip(ladder, ladder[1:]):
            rows.append(pair(hi, lo, f"{t}: {hi}x{hi} beats {lo}x{lo}"))
        if drop_at is not None and drop_at != ladder[1]:
            rows.append(pair(64, drop_at, f"{t}: 64x64 beats {drop_at}x{drop_at} (the paper's drop at {drop_at})"))
        rows.append(pair(64, 32, f"{t}: 64x64 beats 32x32"))
        text = f"{t}: 64x64 is the best resolution"
        best_pv = f"64 best of {', '.join(str(r) for _, r in sorted(k for k in ptab if k[0] == src))}"
        if len(run_res) < 3:
            rows.append(missing_claim(paper, ref, text, "nss", best_pv,
                                      f"only {len(run_res)} resolution(s) run ({', '.join(map(str, run_res)) or 'none'}): "
                                      f"the pairwise rows above are the whole comparison",
                                      results.data_desc(ctx, "fixation") if ran else "—"))
        else:
            sums = {f"{r}x{r}": results.summarize(ctx, df, "nss", variant=variant, teacher=t, res=r) for r in run_res}
            rows.append(best_of_claim(ctx, paper, ref, text, sums, "64x64", "nss", "fixation", best_pv,
                                      what="resolution"))
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


# ---- the student against its teacher: accuracy, speed, size (skd Table I, uvanet Table 1) ------------
#: the papers' comparison models (skd Table I, uvanet Table 1) that the text compares the student with, and
#: the teacher of ours (``teachers`` results) that stands for each; STS has no counterpart in salkd
PAPER_MODELS = {"DVA*": "dva", "SalNet*": "salnet", "STS*": "sts"}
#: the speed-up over its teacher that counts as "much faster" (the papers report 40-600x; see the row's note)
MUCH_FASTER = 20.0


def _student_and_teacher(ctx: Any, exp: str, variant: str, teacher: str, res: int) -> pd.DataFrame | None:
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


def _inputs_of(model: Any, size: tuple[int, int]) -> tuple[tuple[Any, ...], int]:
    """Batch-1 inputs of a model at its own input size and the maps one pass gives: a published clip model
    (TinyHD) sees a clip, a published frame model (CSNet) one frame, a salkd model its example inputs."""
    import torch

    from salkd.models.inputs import example_inputs

    gen = torch.Generator().manual_seed(0)
    if hasattr(model, "predict_video"):
        clip = int(model.clip_len)
        h, w = model.input_size
        return (torch.rand(1, 3, clip, h, w, generator=gen),), clip if getattr(model, "multi_output", False) else 1
    if hasattr(model, "input_size"):
        h, w = model.input_size
        return (torch.rand(1, 3, h, w, generator=gen),), 1
    return example_inputs(model, int(size[0])), 1


_COSTS: dict[tuple[str, str], float | None] = {}


def _run_cost(ctx: Any, run_value: Any, what: str) -> float | None:
    """Frames/s on one thread (``what="fps"``, batch 1, eager fp32), memory footprint in MB (``"mem_mb"``:
    parameters + peak activations of one pass, :mod:`salkd.bench.cost`) or MACs per output frame (``"macs"``,
    :func:`salkd.bench.cost.macs_flop_counter`, at its own input size) of a run's deployed model; None when
    the run folder (or its config) is missing or it is a fixed baseline. Cached per run."""
    run = results.run_path(ctx, run_value)
    if run is None or not (run / "config.json").is_file():
        return None
    key = (str(run), what)
    if key not in _COSTS:
        from salkd.models import load_for_inference
        from salkd.runs import read_json

        if read_json(run / "config.json").get("baseline"):
            _COSTS[key] = None
            return None
        model, _, size = load_for_inference(run)
        inputs, per_pass = _inputs_of(model, size)
        if what == "macs":  # per output frame (TinyHD-M: 16 maps per clip)
            from salkd.bench.cost import macs_flop_counter

            _COSTS[key] = float(macs_flop_counter(model.eval(), inputs)) / per_pass
        elif what == "fps":
            from salkd.bench.cost import one_core_cost

            # the best of several passes (on a shared machine the least disturbed one): 20 for a student,
            # about 4 s worth for a slow teacher
            first = one_core_cost(model, inputs, frames_per_pass=per_pass, repeats=1)["fps_1thread"] / per_pass
            repeats = int(min(20, max(3, 4.0 * first)))
            _COSTS[key] = float(one_core_cost(model, inputs, frames_per_pass=per_pass, repeats=repeats)["fps_1thread"])
        else:
            from salkd.bench.cost import MB, activation_peak_bytes

            pbytes = sum(p.numel() * p.element_size() for p in model.parameters())
            _COSTS[key] = (pbytes + activation_peak_bytes(model, inputs)) / MB
    return _COSTS[key]


def _column_or_run(ctx: Any, both: pd.DataFrame | None, who: str, col: str, what: str,
                   prefer_run: bool = False) -> float | None:
    """``col`` of the ``who`` rows ("student" / "teacher") when the results have it, else measured on the
    first such row's run folder (:func:`_run_cost`); ``prefer_run``: the measurement first, the column only
    when the run cannot be measured (speeds: both sides timed now, on the same machine and load)."""
    if both is None:
        return None
    rows = both[both["variant"] == who]
    if not len(rows):
        return None
    measured = (lambda: _run_cost(ctx, rows.iloc[0].get("run"), what)) if what in ("fps", "mem_mb") else (lambda: None)
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
    both = _student_and_teacher(ctx, exp, variant, t, res)
    text = f"distilled student at {res}x{res} keeps its teacher's accuracy (NSS within the noise or better)"
    keeps = better_claim(ctx, paper, ref, text, both, "nss", {"variant": "student"}, {"variant": "teacher"},
                         None, None, "fixation", exp, not_worse=True)
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
                      + timing_note() if sp is not None else "no teacher run or speed of the teacher in this profile")
    rows = [keeps, speed]
    tv = pd.to_numeric(both.loc[both["variant"] == "teacher", "nss"], errors="coerce").mean() if both is not None else None
    sv = pd.to_numeric(both.loc[both["variant"] == "student", "nss"], errors="coerce").mean() if both is not None else None
    ratio = sv / tv if tv and sv == sv and tv == tv else None
    rows.append(claim_row(paper, ref, f"trade-off: the student at {res}x{res} keeps its teacher's accuracy at a "
                          "fraction of its cost (both rows above)", "NSS ratio, speed-up",
                          f"{paper_delta:+.1%} NSS at {paper_speedup:.0f}x the speed (one CPU core)",
                          None if ratio is None or sp is None else f"NSS {ratio:.0%} of the teacher's, {sp:.1f}x faster",
                          None, None, keeps["data"], verdict_all(keeps["verdict"], speed["verdict"]),
                          f"both must hold: accuracy {keeps['verdict']}, speed {speed['verdict']}", central=True))
    rows += _other_model_claims(ctx, paper, ref, exp, variant, table_key, prefix, res)
    return rows + reduction_claims(ctx, paper, ref, exp, variant, table_key, prefix,
                                   "skd_st" if prefix == "SKD" else "uva_st")


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
        row = better_claim(ctx, paper, ref, text, _student_and_teacher(ctx, exp, variant, arch, res), "nss",
                           {"variant": "student"}, {"variant": "teacher"}, None, None, "fixation", exp)
        row["paper_value"] = pv
        row["note"] = f"ours: distilled from {t}, against our {arch} teacher; " + row["note"]
        rows.append(row)
    return rows


def reduction_claims(ctx: Any, paper: str, ref: str, exp: str, variant: str, table_key: str, prefix: str,
                     bench_model: str) -> list[dict[str, Any]]:
    """The papers' reduction ratios against DVA (skd: 98.8 % fewer parameters, 421.5x / 101.7x less memory at
    32 / 64; uvanet: the same from its Table 1), on ours against the student's own teacher: parameter
    counts from the results, the student's memory footprint from the benchmark (``speed``), the teacher's
    from its results (``mem_mb``) or measured on its run folder with the same definition
    (:mod:`salkd.bench.cost`). Reproduced when our ratio is at least the paper's."""
    from salkd.claims import claim_row, missing_claim
    from salkd.verdicts import verdict_at_least

    p1, pt = PAPER[table_key], PAPER[table_key]["DVA*"]
    t = main_teacher(ctx)
    ps64 = p1[f"{prefix}-DVA-64"]
    rows = []
    both = _student_and_teacher(ctx, exp, variant, t, 64)
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
    speed = results.load_or_none(ctx, "speed", quiet=True)
    for r in (32, 64):
        ps = p1[f"{prefix}-DVA-{r}"]
        text = f"the student at {r}x{r} needs far less memory than its teacher"
        paper_ratio = pt["mem_mb"] / ps["mem_mb"]
        pv_text = f"{paper_ratio:.1f}x less ({ps['mem_mb']} MB vs DVA's {pt['mem_mb']} MB)"
        smem = (results.speed_at(speed, bench_model, r) or {}).get("mem_mb")
        tmem = _column_or_run(ctx, both, "teacher", "mem_mb", "mem_mb") if both is not None and smem else None
        if not smem or not tmem:
            rows.append(missing_claim(paper, ref, text, "memory reduction (x)", pv_text,
                                      "no memory footprint of the student (benchmark) or of the teacher in this profile"))
            continue
        ratio = tmem / smem
        rows.append(claim_row(paper, ref, text, "memory reduction (x)", pv_text,
                              f"{ratio:.1f}x less ({smem:.2f} MB vs {t}'s {tmem:.2f} MB)", ratio / paper_ratio, None,
                              "model definitions (no data), batch 1, fp32", verdict_at_least(ratio, paper_ratio),
                              "margin = ours / paper; both footprints = parameters + peak activations of one pass "
                              "(salkd.bench.cost; the teacher at its own input size and clip), a definition the "
                              "paper does not state: the ratio, not the MB, is compared"))
    return rows


# ---- video only the teacher labels (issue 16): skd and uvanet ------------------------------------
#: the variants of the ``<paper>_unlabeled`` experiments: the distilled model as in the ablations, and the same
#: with students that also learn from the video only the teacher labels (mu = 1 on its frames)
LABELLED_ONLY = "labelled frames only"
WITH_UNLABELED = "+ unlabeled video (teacher only)"


def table_unlabeled(ctx: Any, experiment: str) -> pd.DataFrame | None:
    """The two variants of ``experiment`` (``skd_unlabeled`` / ``uva_unlabeled``) with the number of frames only
    the teacher labels; the papers have no such row (no paper columns)."""
    t = table_ablation(ctx, experiment, {}, order=[LABELLED_ONLY, WITH_UNLABELED])
    if t is None:
        return None
    t = t.drop(columns=[c for c in t.columns if c.endswith("(paper)")])
    ov = results.overall(results.load_or_none(ctx, experiment, quiet=True))
    frames = (pd.to_numeric(ov["unlabeled_frames"], errors="coerce").groupby(ov["variant"].astype(str)).max()
              if "unlabeled_frames" in ov.columns else pd.Series(dtype=float))
    t.insert(1, "unlabeled frames (teacher only)", [frames.get(str(v)) for v in t["variant"]])
    return t


def unlabeled_claim(ctx: Any, paper: str, experiment: str, model: str) -> dict[str, Any]:
    """The KD promise of learning from unlabeled video (issue 16, not a claim of the papers): ``model`` distilled
    with the video only the teacher labels (``<paper>.unlabeled``, mu = 1 on its frames) beats the same model
    distilled from the labelled frames alone, in NSS on the same test split (paired over test clips, with the
    seeds' spread; :func:`salkd.claims.better_claim`)."""
    from salkd.claims import better_claim, missing_claim

    text = f"adding video only the teacher labels (mu = 1 on it) improves the distilled {model}"
    ref, pv = "issue 16 (KD on unlabeled video)", "— (not a claim of the paper)"
    listed = ((getattr(ctx, "cfg", None) or {}).get(paper) or {}).get("unlabeled") or []
    df = results.load_or_none(ctx, experiment, quiet=True)
    if df is None and not listed:
        return missing_claim(paper, ref, text, "nss", pv, f"the profile lists no unlabeled video ({paper}.unlabeled)")
    row = better_claim(ctx, paper, ref, text, df, "nss", {"variant": WITH_UNLABELED}, {"variant": LABELLED_ONLY},
                       None, None, "fixation", experiment)
    row["paper_value"] = pv
    if df is not None and "unlabeled_frames" in df.columns:
        n = pd.to_numeric(results.overall(df)["unlabeled_frames"], errors="coerce").max()
        row["note"] = (f"{n:.0f} frames only the teacher labels added to the students' training split (same epochs, "
                       f"hence more steps); " + row["note"])
    return row
