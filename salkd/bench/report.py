"""Output of the deployment benchmark: ``bench_models.csv`` / ``.md`` / ``.json``, the console
tables and the papers' figures beside ours (:data:`salkd.papers.numbers.SPEED`).

The Markdown tables are written by :func:`salkd.tables.to_markdown`. Their cells are formatted here
first (:func:`fmt_cell`): the benchmark needs per-column formats (``1.4e-08`` for fidelity
differences, thousands separators for MACs, ``yes``/``NO`` for ``accurate``, empty for missing)
that :func:`salkd.tables.fmt` (value-only, 3 decimals, ``—`` for missing) cannot express.
"""
from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd
import torch

from salkd import tables
from salkd.atomic import write_json, write_text
from salkd.bench.fidelity import ACCURACY_TOL
from salkd.bench.specs import parse_model_spec
from salkd.papers.numbers import SPEED

__all__ = ["COLUMNS", "MD_COLUMNS", "CONSOLE_COLUMNS", "PAPER_COLUMNS", "SHOWN_FLAGS", "machine_line", "peak_line",
           "headline_line", "check_text", "fmt_cell", "to_csv", "md_table",
           "paper_rows", "markdown", "print_table", "write_partial", "write_outputs", "print_summary"]

#: the columns of ``bench_models.csv`` (and of every row of :func:`salkd.bench.models.run`)
COLUMNS = [
    "model", "res", "batch", "runtime", "threads", "precision", "weights", "params", "macs", "macs_hooks",
    "params_mb", "act_peak_mb", "act_sum_mb", "mem_mb", "ms_per_batch", "fps", "fps_best", "speedup_vs_eager",
    "gflops", "ceiling_fps", "peak_frac", "max_abs_diff", "d_nss", "d_maxf", "d_nss_real", "d_cc_real",
    "d_maxf_real", "d_mae_real", "accurate", "status",
]

#: the columns of the main table of ``bench_models.md``
MD_COLUMNS = ["model", "res", "batch", "runtime", "threads", "precision", "params", "macs", "mem_mb", "act_peak_mb",
              "ms_per_batch", "fps", "ceiling_fps", "peak_frac", "speedup_vs_eager", "d_nss", "d_maxf", "d_nss_real",
              "d_cc_real", "d_maxf_real", "accurate", "status"]

#: the columns of the table printed on the console
CONSOLE_COLUMNS = ["model", "res", "batch", "runtime", "threads", "precision", "macs", "ms_per_batch", "fps",
                   "ceiling_fps", "peak_frac", "speedup_vs_eager", "d_nss", "d_maxf", "d_nss_real", "d_cc_real",
                   "d_maxf_real", "accurate", "status"]

#: the columns of the "papers vs ours" table (:func:`paper_rows`)
PAPER_COLUMNS = ["model", "res", "paper_params_m", "params_m", "paper_mem_mb", "act_peak_mb", "mem_mb",
                 "paper_cpu_fps", "b1_threads", "eager_b1_fps", "best_b1_fps", "best_b1", "best_fps", "best", "paper_gpu_fps"]

_SCI = {"d_nss", "d_maxf", "max_abs_diff", "d_nss_real", "d_cc_real", "d_maxf_real", "d_mae_real"}
_MB = {"params_mb", "act_peak_mb", "act_sum_mb", "mem_mb", "peak_frac"}
_COUNTS = {"params", "macs", "macs_hooks"}


def fmt_cell(v: Any, col: str = "") -> str:
    """A benchmark cell, formatted by column: empty when missing, ``yes``/``NO`` for booleans."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if col in _SCI:
            return f"{v:.1e}"
        if col == "speedup_vs_eager":
            return f"{v:.2f}"
        if col in _MB:
            return f"{v:.3f}"
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"
    if isinstance(v, int) and col in _COUNTS:
        return f"{v:,}"
    return str(v)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """``bench_models.csv``: every :data:`COLUMNS` column, raw values, empty when missing."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})
    return buf.getvalue()


def _cells(rows: Iterable[dict[str, Any]], cols: Sequence[str]) -> list[list[str]]:
    return [[fmt_cell(r.get(c), c) for c in cols] for r in rows]


def md_table(rows: Iterable[dict[str, Any]], cols: Sequence[str]) -> str:
    """A Markdown table of ``rows`` (cells by :func:`fmt_cell`, written by :func:`salkd.tables.to_markdown`)."""
    df = pd.DataFrame(_cells(rows, cols), columns=list(cols), dtype=object)
    return tables.to_markdown(df).rstrip("\n")


def paper_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, res) of the papers' figures that this run measured: theirs beside ours."""
    out = []
    for (model, res), p in SPEED.items():
        mine = [r for r in rows if parse_model_spec(r["model"])[0] == model and r["res"] == res and r.get("fps")]
        if not mine:
            continue
        b1 = [r for r in mine if r["batch"] == 1]
        one = [r for r in b1 if r.get("threads") == 1]
        b1 = one or b1  # the papers' CPU figures are one core: compare with the per-core rows when measured
        best1 = max(b1, key=lambda r: r["fps"]) if b1 else None
        eager1 = next((r for r in b1 if r["runtime"] == "eager"), None)
        best = max(mine, key=lambda r: r["fps"])
        out.append({
            "model": model, "res": res,
            "paper_params_m": p["params_m"], "params_m": mine[0]["params"] / 1e6,
            "paper_mem_mb": p["mem_mb"], "act_peak_mb": mine[0]["act_peak_mb"], "mem_mb": mine[0]["mem_mb"],
            "paper_cpu_fps": p["cpu_fps"], "b1_threads": b1[0].get("threads") if b1 else None,
            "eager_b1_fps": eager1["fps"] if eager1 else None,
            "best_b1_fps": best1["fps"] if best1 else None, "best_b1": best1["runtime"] if best1 else None,
            "best_fps": best["fps"], "best": f"{best['runtime']} b{best['batch']}", "paper_gpu_fps": p["gpu_fps"],
        })
    return out


#: the flags the machine block always names, present or not
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def machine_line(result: dict[str, Any]) -> str:
    """CPU model, cores, the key ISA flags (each yes/no), oneDNN bf16, torch, threads and load."""
    mach = result["machine"]
    have = set(mach.get("flags", []))
    flags = " ".join(f"{f}={'yes' if f in have else 'no'}" for f in SHOWN_FLAGS)
    return (f"{mach.get('model', '?')}, {mach.get('cores', mach.get('cpus'))} cores usable of {mach.get('cpus')} CPUs; "
            f"flags {flags}; oneDNN native bf16 {'yes' if mach.get('mkldnn_bf16') else 'no'}; "
            f"CUDA {mach.get('cuda') or 'none'}; torch {torch.__version__}; threads {result['threads']}"
            f"{' + 1 (per-core rows)' if result.get('peak_1core') else ''}; 1-min load average start/end "
            f"{_loads(mach)}")


def peak_line(peak: dict[str, float] | None, label: str) -> str:
    """The measured peaks (GFLOP/s; int8: GOP/s) per precision and kernel."""
    if not peak:
        return ""
    g = lambda k: peak.get(k, float("nan"))  # noqa: E731
    return (f"{label}: fp32 {g('fp32'):.1f} (torch matmul {g('fp32_matmul'):.1f}, ORT matmul "
            f"{g('fp32_ort_matmul'):.1f}, conv {g('fp32_conv'):.1f}); bf16 {g('bf16'):.1f} (matmul "
            f"{g('bf16_matmul'):.1f}, conv {g('bf16_conv'):.1f}); int8 {g('int8'):.1f} (ORT MatMulInteger "
            f"{g('int8_ort_matmul'):.1f}, QLinearConv {g('int8_ort_conv'):.1f})")


def check_text(h: dict[str, Any]) -> str:
    """`` (accuracy vs eager fp32 on <what>: |d_nss| x, ...)``: the deltas that made the headline's runtime
    count as accurate, named by where they were measured (a trained run's test frames, or the benchmark's
    inputs through the same weights as eager); empty for eager itself."""
    c = h.get("check") or ({"kind": "same inputs as eager", "d_nss": h.get("d_nss"), "d_maxf": h.get("d_maxf")}
                           if h.get("d_nss") is not None else None)
    if not c:
        return ""
    ds = ", ".join(f"|{k.removesuffix('_real')}| {v:.1e}" for k, v in c.items()
                   if k.startswith("d_") and isinstance(v, (int, float)))
    return f" (accuracy vs eager fp32 on {c['kind']}: {ds})" if ds else ""


def headline_line(h: dict[str, Any]) -> str:
    """``speedup <x>x, <p>% of ceiling (<runtime>, <cpu flags>)``: the benchmark's last line."""
    frac = h.get("peak_frac")
    pct = 100 * frac if isinstance(frac, (int, float)) and frac is not None else float("nan")
    return f"speedup {h['speedup']:.2f}x, {pct:.0f}% of ceiling ({h.get('runtime') or 'none'}, {h.get('flags', '?')})"


def _loads(mach: dict[str, Any]) -> str:
    """``start/end`` 1-min load averages, e.g. ``3.0/3.3``."""
    return f"{mach.get('loadavg_1min_start', float('nan')):.1f}/{mach.get('loadavg_1min', float('nan')):.1f}"


def markdown(result: dict[str, Any]) -> str:
    """``bench_models.md``: machine, measured peak, definitions, the table, the papers' figures, headline."""
    h = result["speedup"]
    runs = result.get("runs") or {}
    parts = [
        "# salkd deployment benchmark",
        "",
        f"Machine: {machine_line(result)}{' (quick mode)' if result['quick'] else ''} "
        "(a load above the core count means other processes shared the cores and the FPS are low and noisy).",
        "",
        f"Measured peak, {peak_line(result['peak'], str(result['threads']) + ' threads')}.",
        "",
        (f"Measured peak, {peak_line(result['peak_1core'], '1 thread')}." if result.get("peak_1core") else ""),
        "",
        "`ceiling_fps` = the peak of the row's precision at its thread count / (2 x MACs); `peak_frac` = fps / "
        "ceiling_fps. Rows with `threads` 1 are one core, one process (the papers' CPU protocol).",
        "",
        ("Trained weights (`--run`): " + "; ".join(f"{k}: {v}" for k, v in runs.items()) + ". `d_*_real` = "
         "|metric(runtime) - metric(eager fp32)| on the run's held-apart test frames; bf16 / int8 ship when "
         "within 0.01 NSS (fixation) / 0.005 max-F (SOD)." if runs else
         "Random weights: bf16 / int8 rows are measured but not shipped (their accuracy needs `--run`)."),
        "",
        "Definitions: `params` = parameter elements; `macs` = multiply-accumulates per frame "
        "(torch FlopCounterMode / 2; `macs_hooks` = own module hooks, in the CSV); `mem_mb` = parameter "
        "bytes + peak live activation bytes at batch 1, fp32 (`act_peak_mb` alone; 1 MB = 2^20 B); "
        "`d_nss`, `d_maxf` = |metric(runtime) - metric(eager fp32)| on the same inputs "
        f"(accurate when both < {ACCURACY_TOL:g}). `onnx_2proc` = two 1-thread ONNX Runtime processes, "
        "each with its own batch (fidelity = the onnx graph).",
        "",
        md_table(result["rows"], MD_COLUMNS),
        "",
        "## Papers' figures beside ours",
        "",
        "Paper CPU FPS: one core (skd Table V; uvanet Table 4, Intel 3.4 GHz), GPU FPS: skd Table V, "
        "uvanet Table 4 (1080Ti), fastvsod Table 2 (0.01 s/frame). Paper memory: skd Table V, uvanet Table 1.",
        "",
        md_table(paper_rows(result["rows"]), PAPER_COLUMNS),
        "",
        f"Headline: {h['model']} {h['res']}x{h['res']} batch {h['batch']}: {headline_line(h)}{check_text(h)}.",
        "",
    ]
    return "\n".join(parts)


def print_table(rows: list[dict[str, Any]], cols: Sequence[str] = CONSOLE_COLUMNS) -> None:
    """A left-aligned fixed-width table on stdout."""
    cells = _cells(rows, cols)
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)))


def write_partial(out: Path, rows: list[dict[str, Any]]) -> None:
    """``bench_models.partial.csv``: the rows so far (rewritten after every model x resolution)."""
    write_text(out / "bench_models.partial.csv", to_csv(rows))


def write_outputs(out: Path, result: dict[str, Any]) -> None:
    """``bench_models.csv``, ``.md`` and ``.json`` (everything but the rows); removes the partial CSV."""
    write_text(out / "bench_models.csv", to_csv(result["rows"]))
    (out / "bench_models.partial.csv").unlink(missing_ok=True)
    write_text(out / "bench_models.md", markdown(result))
    write_json(out / "bench_models.json", {k: v for k, v in result.items() if k != "rows"})


def print_summary(result: dict[str, Any], out: Path, seconds: float) -> None:
    """The console report; its last line is ``speedup <x>x`` (the headline, see :func:`~salkd.bench.models.run`)."""
    mach = result["machine"]
    print(f"machine: {machine_line(result)}")
    if max(mach.get("loadavg_1min_start") or 0, mach.get("loadavg_1min") or 0) > (mach.get("cpus") or 1) + 0.5:
        print("warning: the machine was busy with other processes; FPS figures are low and noisy", file=sys.stderr)
    print(f"peak GFLOP/s, {peak_line(result['peak'], str(result['threads']) + ' threads')}")
    if result.get("peak_1core"):
        print(f"peak GFLOP/s, {peak_line(result['peak_1core'], '1 thread')}")
    for name, desc in (result.get("runs") or {}).items():
        print(f"trained weights: {name} from {desc}")
    print_table(result["rows"])
    papers = paper_rows(result["rows"])
    if papers:
        print("\npapers vs ours:")
        print_table(papers, PAPER_COLUMNS)
    for r in result["rows"]:
        if "error" in str(r.get("status", "")):
            print(f"!! {r['model']} {r.get('res')} b{r.get('batch')} {r.get('runtime')}: {r['status']}",
                  file=sys.stderr)
    print(f"wrote {out / 'bench_models.csv'}, {out / 'bench_models.md'} ({seconds:.0f} s)")
    h = result["speedup"]
    if h["model"] is not None:
        extra = check_text(h)
        print(f"best optimized path: {h['model']} {h['res']}x{h['res']} batch {h['batch']}: {h['runtime']}{extra}")
    print(headline_line(h))
