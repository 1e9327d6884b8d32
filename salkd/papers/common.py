"""Table and figure builders used by two or more papers (fixation metrics interleaved with the paper's,
teacher x resolution tables, ablations, sweeps, the comparison tables and the deployment tables)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from salkd import results
from salkd.papers.numbers import PAPER

__all__ = ["ERR", "FIX_METRICS", "FIX_LABELS", "main_teacher", "SOD_METRICS", "SOD_LABELS", "fix_cols", "table_teacher_res",
           "table_ablation", "table_sweep", "comparison", "comparison_table", "our_comparison_rows", "speed_table", "fig_bars",
           "res_plot", "teacher_comparison_rows", "run_cost", "inputs_of"]

#: the suffix of a table's error-bar column: the 95 % half-width t(0.975, df) x SE (:meth:`salkd.results.Summary.half`)
ERR = " ±95%"
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
            row[f"{labels.get(m, m)}{ERR}"] = s.half() if s else None
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


def runs_desc(ov: pd.DataFrame) -> dict[str, Any]:
    """``{"input (ours)": "32x32", "seeds": 3}`` of some rows of an experiment: the resolution(s) its runs were
    trained and scored at and how many training seeds they hold (the papers' numbers beside may be at another
    resolution: the row says which is ours)."""
    res = sorted({results.res_int(r) for r in ov["res"].dropna()}) if "res" in ov.columns else []
    seeds = ov["seed"].nunique() if "seed" in ov.columns and ov["seed"].notna().any() else 1
    return {"input (ours)": ", ".join(f"{r}x{r}" for r in res) or "—", "seeds": int(seeds)}


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
        ov = results.overall(df)
        row: dict[str, Any] = {"variant": v, "data": results.data_desc(ctx, task),
                               **runs_desc(ov[ov["variant"].astype(str) == v])}
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
        sel = ov[pd.to_numeric(ov[col], errors="coerce") == float(x)]
        row: dict[str, Any] = {col: float(x), "data": results.data_desc(ctx, task), **runs_desc(sel)}
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
            macs = run_cost(ctx, run, "macs")
            r.update({"input": f"{res}x{res}", "params (M)": params / 1e6 if params else None,
                      "MMACs/frame": None if macs is None else macs / 1e6, "memory (MB)": sp.get("mem_mb"),
                      "GPU FPS": "n/a (no GPU)", "CPU FPS": sp.get("fps"),
                      "CPU FPS (1 thread, batch 1)": run_cost(ctx, run, "fps"),
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
    ``fps_1thread`` of a published teacher, else measured on its run folder, :func:`run_cost`)."""
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
        macs = macs if macs is not None else run_cost(ctx, run, "macs")
        fps = _first_of(mine, "fps_1thread")
        r.update({"input": _input_desc(run), "params (M)": None if params is None else params / 1e6,
                  "MMACs/frame": None if macs is None else macs / 1e6, "memory (MB)": run_cost(ctx, run, "mem_mb"),
                  "GPU FPS": "n/a (no GPU)", "CPU FPS": None,
                  "CPU FPS (1 thread, batch 1)": fps if fps is not None else run_cost(ctx, run, "fps")})
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
    err = pd.to_numeric(tab.get(f"{metric_label}{ERR}"), errors="coerce").fillna(0).to_numpy() \
        if f"{metric_label}{ERR}" in tab else None
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


def inputs_of(model: Any, size: tuple[int, int]) -> tuple[tuple[Any, ...], int]:
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


def run_cost(ctx: Any, run_value: Any, what: str) -> float | None:
    """Frames/s on one thread (``what="fps"``, batch 1, eager fp32), memory footprint in MB (``"mem_mb"``:
    parameters + peak activations of one pass, :mod:`salkd.bench.cost`), activation memory per output map
    (``"act_mb"``, :data:`salkd.papers.cost_claims.DEFINITION`) or MACs per output frame (``"macs"``,
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
        inputs, per_pass = inputs_of(model, size)
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
        elif what == "act_mb":  # activation memory per output map (salkd.papers.cost_claims.DEFINITION)
            from salkd.papers.cost_claims import activation_mb

            _COSTS[key] = activation_mb(model, inputs, per_pass)
        else:
            from salkd.bench.cost import MB, activation_peak_bytes

            pbytes = sum(p.numel() * p.element_size() for p in model.parameters())
            _COSTS[key] = (pbytes + activation_peak_bytes(model, inputs)) / MB
    return _COSTS[key]
