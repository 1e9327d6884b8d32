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

__all__ = ["COLUMNS", "MD_COLUMNS", "CONSOLE_COLUMNS", "PAPER_COLUMNS", "fmt_cell", "to_csv", "md_table",
           "paper_rows", "markdown", "print_table", "write_partial", "write_outputs", "print_summary"]

#: the columns of ``bench_models.csv`` (and of every row of :func:`salkd.bench.models.run`)
COLUMNS = [
    "model", "res", "batch", "runtime", "threads", "params", "macs", "macs_hooks", "params_mb",
    "act_peak_mb", "act_sum_mb", "mem_mb", "ms_per_batch", "fps", "fps_best", "speedup_vs_eager", "gflops",
    "ceiling_fps", "peak_frac", "max_abs_diff", "d_nss", "d_maxf", "accurate", "status",
]

#: the columns of the main table of ``bench_models.md``
MD_COLUMNS = ["model", "res", "batch", "runtime", "params", "macs", "mem_mb", "act_peak_mb", "fps", "fps_best",
              "speedup_vs_eager", "peak_frac", "d_nss", "d_maxf", "status"]

#: the columns of the table printed on the console
CONSOLE_COLUMNS = ["model", "res", "batch", "runtime", "params", "macs", "mem_mb", "fps", "fps_best", "ceiling_fps",
                   "speedup_vs_eager", "peak_frac", "d_nss", "d_maxf", "status"]

#: the columns of the "papers vs ours" table (:func:`paper_rows`)
PAPER_COLUMNS = ["model", "res", "paper_params_m", "params_m", "paper_mem_mb", "act_peak_mb", "mem_mb",
                 "paper_cpu_fps", "eager_b1_fps", "best_b1_fps", "best_b1", "best_fps", "best", "paper_gpu_fps"]

_SCI = {"d_nss", "d_maxf", "max_abs_diff"}
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
        best1 = max(b1, key=lambda r: r["fps"]) if b1 else None
        eager1 = next((r for r in b1 if r["runtime"] == "eager"), None)
        best = max(mine, key=lambda r: r["fps"])
        out.append({
            "model": model, "res": res,
            "paper_params_m": p["params_m"], "params_m": mine[0]["params"] / 1e6,
            "paper_mem_mb": p["mem_mb"], "act_peak_mb": mine[0]["act_peak_mb"], "mem_mb": mine[0]["mem_mb"],
            "paper_cpu_fps": p["cpu_fps"], "eager_b1_fps": eager1["fps"] if eager1 else None,
            "best_b1_fps": best1["fps"] if best1 else None, "best_b1": best1["runtime"] if best1 else None,
            "best_fps": best["fps"], "best": f"{best['runtime']} b{best['batch']}", "paper_gpu_fps": p["gpu_fps"],
        })
    return out


def _loads(mach: dict[str, Any]) -> str:
    """``start/end`` 1-min load averages, e.g. ``3.0/3.3``."""
    return f"{mach.get('loadavg_1min_start', float('nan')):.1f}/{mach.get('loadavg_1min', float('nan')):.1f}"


def markdown(result: dict[str, Any]) -> str:
    """``bench_models.md``: machine, measured peak, definitions, the table, the papers' figures, headline."""
    peak, mach = result["peak"], result["machine"]
    h = result["speedup"]
    parts = [
        "# salkd deployment benchmark",
        "",
        f"Machine: {mach.get('model', '?')}, {mach.get('cpus')} CPUs, ISA {', '.join(mach.get('flags', []))}, "
        f"CUDA: {mach.get('cuda') or 'none'}; torch {torch.__version__}; threads {result['threads']}"
        f"{' (quick mode)' if result['quick'] else ''}; 1-min load average at start/end {_loads(mach)} "
        "(above the CPU count means other processes shared the cores and the FPS are low and noisy).",
        "",
        f"Measured peak (GFLOP/s): fp32 torch matmul {peak['fp32_matmul']:.1f}, ONNX Runtime matmul "
        f"{peak.get('fp32_ort_matmul', float('nan')):.1f}, fp32 conv {peak['fp32_conv']:.1f}, "
        f"bf16 matmul {peak['bf16_matmul']:.1f}, bf16 conv {peak['bf16_conv']:.1f}. "
        "`ceiling_fps` = peak / (2 x MACs); `peak_frac` = fps / ceiling_fps.",
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
        f"Headline: {h['model']} {h['res']}x{h['res']} batch {h['batch']}: {h['runtime']} "
        f"{h['speedup']:.2f}x eager fp32.",
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
    peak, mach = result["peak"], result["machine"]
    print(f"machine: {mach.get('model', '?')}, threads {result['threads']}, ISA {','.join(mach.get('flags', []))}, "
          f"load avg start/end {_loads(mach)}")
    if max(mach.get("loadavg_1min_start") or 0, mach.get("loadavg_1min") or 0) > (mach.get("cpus") or 1) + 0.5:
        print("warning: the machine was busy with other processes; FPS figures are low and noisy", file=sys.stderr)
    print(f"peak GFLOP/s: fp32 {peak['fp32']:.1f} (torch matmul {peak['fp32_matmul']:.1f}, "
          f"ORT matmul {peak.get('fp32_ort_matmul', float('nan')):.1f}, conv {peak['fp32_conv']:.1f}); "
          f"bf16 {peak['bf16']:.1f} (matmul {peak['bf16_matmul']:.1f}, conv {peak['bf16_conv']:.1f})")
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
        extra = ""
        if h.get("d_nss") is not None:
            extra = f" (d_nss {h['d_nss']:.1e}, d_maxf {h['d_maxf']:.1e})"
        print(f"best optimized path: {h['model']} {h['res']}x{h['res']} batch {h['batch']}: {h['runtime']}{extra}")
    print(f"speedup {h['speedup']:.2f}x")
