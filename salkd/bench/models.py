"""``python -m salkd.bench models``: deployment benchmark of the salkd test-time networks.

For every model x resolution it measures the cost (parameters, MACs by two counters, memory
footprint; definitions in :mod:`salkd.bench.cost`) and, for every runtime x batch, frames/s
(runtimes in :mod:`salkd.bench.runtime`, plus ``onnx_2proc``: two 1-thread ONNX Runtime
processes, one per core, each serving its own batch). Each runtime's FPS is compared with the
FLOP-bound ceiling of this machine (measured fp32/bf16 matmul/conv peak / (2 x MACs)), and each
optimized path's predictions with eager fp32 on the same structured inputs: max |logit diff|,
|NSS_opt - NSS_fp32| (fixations sampled from the fp32 map) and |maxF_opt - maxF_fp32| (mask =
fp32 map thresholded at half its range). The papers' own figures are printed beside ours.

Writes ``bench_models.csv``, ``bench_models.md`` and ``bench_models.json`` (machine info, peak)
into ``--out`` (default ``runs/bench``). The last printed line is ``speedup <x>x``: the best
accurate optimized runtime over eager fp32 for ``skd_st`` at 64x64, batch 64 (or the first
measured model/res/largest batch when that configuration is not part of the run).

Models are named like the registry (``salkd.models.build``); keyword arguments in brackets,
e.g. ``fastvsod[backbone=resnet18]`` (the lighter fastvsod backbone for CPU). Models with a
``deploy()`` method (fastvsod) are measured in their deployed form. Weights are random (fixed
seed): speed and cost do not depend on them; the accuracy check compares runtimes, not models.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from salkd.atomic import write_json, write_text
from salkd.bench import cost as cost_mod
from salkd.bench import runtime as rt

__all__ = ["main", "run", "PAPERS", "COLUMNS", "parse_model_spec", "fidelity"]

DEFAULT_RES = (32, 64, 96, 128, 256)
FASTVSOD_EXTRA_RES = (224, 473)
DEFAULT_BATCH = (1, 64)
DEFAULT_MODELS = ("skd_spatial", "skd_temporal", "skd_st", "uva_st", "fastvsod[backbone=resnet18]", "fastvsod")

COLUMNS = [
    "model", "res", "batch", "runtime", "threads", "params", "macs", "macs_hooks", "params_mb",
    "act_peak_mb", "act_sum_mb", "mem_mb", "ms_per_batch", "fps", "fps_best", "speedup_vs_eager", "gflops",
    "ceiling_fps", "peak_frac", "max_abs_diff", "d_nss", "d_maxf", "accurate", "status",
]

#: the papers' own figures: (model, res) -> dict. CPU = one core (skd: Table V; uvanet: Table 4, "Intel
#: 3.4GHz"); GPU = 1080Ti (uvanet) / unnamed GPU (skd); memory footprint in MB; fastvsod: 0.01 s/frame on
#: a GPU at its 473x473 input (Table 2).
PAPERS: dict[tuple[str, int], dict[str, Any]] = {
    ("skd_st", 256): {"params_m": 0.30, "mem_mb": 9.24, "gpu_fps": 707, "cpu_fps": 26.4},
    ("skd_st", 128): {"params_m": 0.30, "mem_mb": 2.31, "gpu_fps": 2626, "cpu_fps": 103.4},
    ("skd_st", 64): {"params_m": 0.30, "mem_mb": 0.58, "gpu_fps": 8522, "cpu_fps": 411.7},
    ("skd_st", 32): {"params_m": 0.30, "mem_mb": 0.14, "gpu_fps": 28738, "cpu_fps": 1490.5},
    ("uva_st", 256): {"params_m": 0.16, "mem_mb": None, "gpu_fps": 151, "cpu_fps": 7.4},
    ("uva_st", 128): {"params_m": 0.16, "mem_mb": None, "gpu_fps": 631, "cpu_fps": 24.4},
    ("uva_st", 96): {"params_m": 0.16, "mem_mb": None, "gpu_fps": 1115, "cpu_fps": 44.5},
    ("uva_st", 64): {"params_m": 0.16, "mem_mb": 2.73, "gpu_fps": 2588, "cpu_fps": 101.7},
    ("uva_st", 32): {"params_m": 0.16, "mem_mb": 0.68, "gpu_fps": 10106, "cpu_fps": 404.3},
    ("fastvsod", 473): {"params_m": None, "mem_mb": None, "gpu_fps": 100, "cpu_fps": None},
}

ACCURACY_TOL = 1e-3


# ----------------------------------------------------------------------------------------------
# model specs
# ----------------------------------------------------------------------------------------------
def parse_model_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name[k=v,k2=v2]"`` -> (name, kwargs); values parsed as JSON when possible, else strings."""
    spec = spec.strip()
    if "[" not in spec:
        return spec, {}
    if not spec.endswith("]"):
        raise ValueError(f"bad model spec {spec!r}: expected name[key=value,...]")
    name, inner = spec[:-1].split("[", 1)
    kw: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in inner.split(","))):
        if "=" not in part:
            raise ValueError(f"bad model spec {spec!r}: {part!r} is not key=value")
        k, v = part.split("=", 1)
        try:
            kw[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            kw[k.strip()] = v.strip()
    return name.strip(), kw


def _build(spec: str, seed: int) -> nn.Module:
    from salkd.models import build

    name, kw = parse_model_spec(spec)
    torch.manual_seed(seed)
    model = build(name, **kw)
    if hasattr(model, "deploy"):
        model = model.deploy()
    return model.float().eval()


def _default_models() -> list[str]:
    try:
        from salkd.models import deployable_names

        names = list(deployable_names())
    except ImportError:
        names = ["skd_spatial", "skd_temporal", "skd_st", "uva_st", "fastvsod"]
    out: list[str] = []
    for n in names:
        if n == "fastvsod":
            out.append("fastvsod[backbone=resnet18]")
        out.append(n)
    return out


def _resolutions(name: str, res: Sequence[int] | None) -> list[int]:
    if res:
        return list(res)
    base = list(DEFAULT_RES)
    if parse_model_spec(name)[0] == "fastvsod":
        base += list(FASTVSOD_EXTRA_RES)
    return base


# ----------------------------------------------------------------------------------------------
# fidelity: does an optimized runtime predict what eager fp32 predicts?
# ----------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x.astype(np.float64), -60, 60)))


def _nss(maps: np.ndarray, fix: np.ndarray) -> float:
    """Mean over images of the mean standardized map value at the fixations (Peters et al. NSS)."""
    vals = []
    for m, f in zip(maps, fix):
        sd = m.std()
        z = (m - m.mean()) / (sd if sd > 0 else 1.0)
        vals.append(float(z[f].mean()))
    return float(np.mean(vals))


def _max_f(maps: np.ndarray, masks: np.ndarray, beta2: float = 0.3, steps: int = 256) -> float:
    """Max over thresholds of the mean-over-images F-measure (beta^2 = 0.3), maps min-max normalized."""
    f_curves = []
    th = np.linspace(0, 1, steps, endpoint=False)
    for m, g in zip(maps, masks):
        lo, hi = m.min(), m.max()
        p = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        pos = p.ravel()[:, None] >= th[None, :]
        tp = (pos & g.ravel()[:, None]).sum(0).astype(np.float64)
        prec = tp / np.maximum(pos.sum(0), 1)
        rec = tp / max(int(g.sum()), 1)
        f_curves.append((1 + beta2) * prec * rec / np.maximum(beta2 * prec + rec, 1e-12))
    return float(np.mean(f_curves, 0).max())


def fidelity(ref_logits: np.ndarray, logits: np.ndarray, *, fixations: int = 16, seed: int = 0) -> dict[str, float]:
    """Compare an optimized runtime's logits with eager fp32's on the same inputs.

    NSS: ``fixations`` points per image sampled from the fp32 map (sigmoid of the logits, as a
    probability distribution); ``d_nss = |NSS(opt) - NSS(fp32)|``. max-F: mask = fp32 map >= half
    its (min, max) range; ``d_maxf = |maxF(opt) - maxF(fp32)|``. Also ``max_abs_diff`` of the logits.
    """
    ref = _sigmoid(ref_logits[:, 0])
    opt = _sigmoid(logits[:, 0])
    rng = np.random.default_rng(seed)
    n, h, w = ref.shape
    fix = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        p = ref[i].ravel() / ref[i].sum()
        fix[i].ravel()[rng.choice(h * w, size=min(fixations, h * w), replace=False, p=p)] = True
    lo = ref.reshape(n, -1).min(1)[:, None, None]
    hi = ref.reshape(n, -1).max(1)[:, None, None]
    masks = ref >= lo + 0.5 * (hi - lo)
    return {
        "max_abs_diff": float(np.max(np.abs(ref_logits.astype(np.float64) - logits.astype(np.float64)))),
        "d_nss": abs(_nss(opt, fix) - _nss(ref, fix)),
        "d_maxf": abs(_max_f(opt, masks) - _max_f(ref, masks)),
    }


# ----------------------------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------------------------
def _default_runtimes() -> list[str]:
    """eager, channels-last, bfloat16 (only where the CPU has native bf16: otherwise oneDNN emulates
    it, 5-7x slower than fp32 on an AVX2 CPU), ONNX Runtime, and CUDA when present. ``--runtimes``
    measures any of them regardless."""
    out = ["eager", "cl"] + (["bf16_cl"] if rt.cpu_native_bf16() else [])
    avail = rt.available_runtimes()
    if "onnx" in avail:
        out += ["onnx", "onnx_2proc"]
    out += [r for r in ("cuda", "cuda_fp16") if r in avail]
    return out


def _peak_for(runtime: str, peak: dict[str, float]) -> float | None:
    if runtime.startswith("cuda"):
        return None  # GPU peak not measured
    return peak["bf16"] if runtime.startswith("bf16") else peak["fp32"]


class _Progress:
    """Minimal progress line on stderr (tqdm when available)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.bar = None
        if not quiet:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, file=sys.stderr, desc="bench", leave=False)
            except ImportError:  # pragma: no cover
                self.bar = None
        self.quiet = quiet

    def step(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(models: Sequence[str | tuple[str, nn.Module]] | None = None, *, res: Sequence[int] | None = None,
        batch: Sequence[int] = DEFAULT_BATCH, runtimes: Sequence[str] | None = None, quick: bool = False,
        threads: int | None = None, max_call_seconds: float | None = None, seed: int = 0,
        peak: dict[str, float] | None = None, progress: bool = True,
        on_rows: Any = None) -> dict[str, Any]:
    """Run the benchmark; returns ``{"rows": [...], "peak": {...}, "machine": {...}, "speedup": {...}}``.

    ``models``: registry specs (``"skd_st"``, ``"fastvsod[backbone=resnet18]"``) or ``(label, module)``
    pairs (used by the tests with stand-in nets). A (model, res, batch, runtime) whose first call is
    estimated to exceed ``max_call_seconds`` (from MACs and the measured peak at 30 % efficiency)
    is skipped and listed with status "skipped".
    """
    threads = threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    runtimes = list(runtimes or _default_runtimes())
    unknown = [r for r in runtimes if r not in rt.RUNTIMES and r != "onnx_2proc"]
    if unknown:
        raise ValueError(f"unknown runtime(s) {unknown}; choose from {', '.join(rt.RUNTIMES)}, onnx_2proc")
    if "eager" in runtimes:
        runtimes.remove("eager")
    runtimes.insert(0, "eager")  # the reference, measured first
    min_time = 0.05 if quick else 1.0
    if max_call_seconds is None:
        max_call_seconds = 2.0 if quick else 15.0
    load0 = rt.cpu_info().get("loadavg_1min")
    repeats = 2 if quick else 5
    peak = peak or rt.measure_peak(threads, quick=quick)
    specs = list(models) if models else _default_models()
    configs = [(s, r) for s in specs for r in _resolutions(s if isinstance(s, str) else s[0], res)]
    bar = _Progress(len(configs) * len(batch) * len(runtimes), quiet=not progress)
    rows: list[dict[str, Any]] = []
    try:
        for spec, r in configs:
            rows += _bench_one(spec, r, batch, runtimes, threads, min_time, repeats, max_call_seconds, seed,
                               peak, bar)
            if on_rows is not None:
                on_rows(rows)
    finally:
        bar.close()
    machine = rt.cpu_info()
    machine["loadavg_1min_start"] = load0
    return {"rows": rows, "peak": peak, "machine": machine, "speedup": _headline(rows),
            "threads": threads, "quick": quick}


def _model_of(spec: str | tuple[str, nn.Module], seed: int) -> tuple[str, nn.Module]:
    if isinstance(spec, tuple):
        return spec[0], spec[1].float().eval()
    return spec, _build(spec, seed)


def _bench_one(spec: str | tuple[str, nn.Module], res: int, batches: Sequence[int], runtimes: list[str],
               threads: int, min_time: float, repeats: int, max_call_seconds: float, seed: int,
               peak: dict[str, float], bar: _Progress) -> list[dict[str, Any]]:
    label = spec if isinstance(spec, str) else spec[0]
    base = {"model": label, "threads": threads}
    try:
        label, model = _model_of(spec, seed)
    except Exception as e:  # bad model spec: one error row, continue
        return [{**base, "res": res, "status": f"error: {type(e).__name__}: {e}"}]
    stride = int(getattr(model, "stride", 1) or 1)
    note = ""
    asked = res
    if res % stride:
        res = int(math.ceil(res / stride) * stride)
        note = f"res {asked} rounded up to {res} (stride {stride}); "
    base["res"] = asked if not note else res
    try:
        c = cost_mod.model_cost(model, rt.example_inputs(model, res, 1, seed=seed)).as_dict()
    except Exception as e:
        msg = f"error: {type(e).__name__}: {e}"
        return [{**base, "batch": b, "runtime": r, "status": note + msg} for b in batches for r in runtimes]
    base.update(c)
    rows: list[dict[str, Any]] = []
    ref_out: dict[int, np.ndarray] = {}
    eager_fps: dict[int, float] = {}
    onnx_path: Path | None = None
    runners: dict[str, rt.Runner] = {}
    try:
        for name in runtimes:
            sec_per_frame: float | None = None  # measured at the previous (smaller) batch
            for b in sorted(batches):
                row = {**base, "batch": b, "runtime": name, "status": note + "ok"}
                bar.step(f"{label} {res} b{b} {name}")
                p = _peak_for(name, peak)
                est = None
                if p is not None:
                    row["ceiling_fps"] = p * 1e9 / (2 * c["macs"]) if c["macs"] else float("nan")
                    est = b * 2 * c["macs"] / (0.3 * p * 1e9)
                if sec_per_frame is not None:
                    est = b * sec_per_frame
                if est is not None and est > max_call_seconds:
                    row["status"] = note + f"skipped: est. {est:.0f} s per batch > --max-call-seconds"
                    rows.append(row)
                    continue
                inputs = rt.example_inputs(model, res, b, seed=seed + 1)
                try:
                    if name == "onnx_2proc":
                        if onnx_path is None:
                            raise RuntimeError("needs the onnx runtime in the same run (--runtimes ... onnx)")
                        args = [x.numpy() for x in inputs]
                        t = rt.time_onnx_processes(onnx_path, args, processes=2, min_time=max(min_time, 0.2))
                        sec = best = t["sec_per_call"]
                        out = runners["onnx"](*args)  # same graph and library; fidelity of the onnx path
                    else:
                        if name not in runners:
                            runners[name] = rt.make_runner(model, name, res=res, batch=b, threads=threads)
                            if name == "onnx":
                                onnx_path = runners[name].path
                        runner = runners[name]
                        dev = runner.device
                        call_inputs = [x.numpy() for x in inputs] if name == "onnx" else list(inputs)
                        t = rt.time_call(runner, call_inputs, min_time=min_time, repeats=repeats, device=dev,
                                         max_seconds=max_call_seconds)
                        sec, best = t["sec_per_call"], t["best"]
                        out = runner(*call_inputs)
                except Exception as e:
                    row["status"] = note + f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                    rows.append(row)
                    continue
                fps = b / sec
                sec_per_frame = sec / b
                row.update(ms_per_batch=sec * 1e3, fps=fps, fps_best=b / best, gflops=fps * 2 * c["macs"] / 1e9)
                if row.get("ceiling_fps"):
                    row["peak_frac"] = fps / row["ceiling_fps"]
                if name == "eager":
                    ref_out[b] = out
                    eager_fps[b] = fps
                    row.update(speedup_vs_eager=1.0, max_abs_diff=0.0, d_nss=0.0, d_maxf=0.0, accurate=True)
                else:
                    if b in eager_fps:
                        row["speedup_vs_eager"] = fps / eager_fps[b]
                    if b in ref_out:
                        fid = fidelity(ref_out[b], out, seed=seed)
                        row.update(fid)
                        row["accurate"] = bool(fid["d_nss"] < ACCURACY_TOL and fid["d_maxf"] < ACCURACY_TOL)
                rows.append(row)
    finally:
        for r in runners.values():
            r.close()
    return rows


def _headline(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Best accurate non-eager runtime over eager for skd_st/64/batch 64, else the first measured config."""
    ok = [r for r in rows if r.get("fps") and r.get("speedup_vs_eager") is not None]
    if not ok:
        return {"model": None, "res": None, "batch": None, "runtime": None, "speedup": float("nan")}
    target = [r for r in ok if r["model"] == "skd_st" and r["res"] == 64 and r["batch"] == 64]
    if not target:
        first = ok[0]
        bmax = max(r["batch"] for r in ok if r["model"] == first["model"] and r["res"] == first["res"])
        target = [r for r in ok if r["model"] == first["model"] and r["res"] == first["res"] and r["batch"] == bmax]
    cands = [r for r in target if r["runtime"] != "eager" and r.get("accurate")]
    if not cands:
        t = target[0]
        return {"model": t["model"], "res": t["res"], "batch": t["batch"], "runtime": "eager", "speedup": 1.0}
    best = max(cands, key=lambda r: r["speedup_vs_eager"])
    return {"model": best["model"], "res": best["res"], "batch": best["batch"], "runtime": best["runtime"],
            "speedup": best["speedup_vs_eager"], "fps": best["fps"], "d_nss": best.get("d_nss"),
            "d_maxf": best.get("d_maxf")}


# ----------------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------------
def _fmt(v: Any, col: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if col in {"d_nss", "d_maxf", "max_abs_diff"}:
            return f"{v:.1e}"
        if col in {"params_mb", "act_peak_mb", "act_sum_mb", "mem_mb", "peak_frac", "speedup_vs_eager"}:
            return f"{v:.3f}" if col != "speedup_vs_eager" else f"{v:.2f}"
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"
    if isinstance(v, int) and col in {"params", "macs", "macs_hooks"}:
        return f"{v:,}"
    return str(v)


def _csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})
    return buf.getvalue()


MD_COLUMNS = ["model", "res", "batch", "runtime", "params", "macs", "mem_mb", "act_peak_mb", "fps", "fps_best",
              "speedup_vs_eager", "peak_frac", "d_nss", "d_maxf", "status"]


def _md_table(rows: Iterable[dict[str, Any]], cols: Sequence[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c), c) for c in cols) + " |")
    return "\n".join(lines)


def _paper_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for (model, res), p in PAPERS.items():
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


PAPER_COLUMNS = ["model", "res", "paper_params_m", "params_m", "paper_mem_mb", "act_peak_mb", "mem_mb",
                 "paper_cpu_fps", "eager_b1_fps", "best_b1_fps", "best_b1", "best_fps", "best", "paper_gpu_fps"]


def _markdown(result: dict[str, Any]) -> str:
    peak, mach = result["peak"], result["machine"]
    h = result["speedup"]
    parts = [
        "# salkd deployment benchmark",
        "",
        f"Machine: {mach.get('model', '?')}, {mach.get('cpus')} CPUs, ISA {', '.join(mach.get('flags', []))}, "
        f"CUDA: {mach.get('cuda') or 'none'}; torch {torch.__version__}; threads {result['threads']}"
        f"{' (quick mode)' if result['quick'] else ''}; 1-min load average at start/end "
        f"{mach.get('loadavg_1min_start', float('nan')):.1f}/{mach.get('loadavg_1min', float('nan')):.1f} "
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
        _md_table(result["rows"], MD_COLUMNS),
        "",
        "## Papers' figures beside ours",
        "",
        "Paper CPU FPS: one core (skd Table V; uvanet Table 4, Intel 3.4 GHz), GPU FPS: skd Table V, "
        "uvanet Table 4 (1080Ti), fastvsod Table 2 (0.01 s/frame). Paper memory: skd Table V, uvanet Table 1.",
        "",
        _md_table(_paper_rows(result["rows"]), PAPER_COLUMNS),
        "",
        f"Headline: {h['model']} {h['res']}x{h['res']} batch {h['batch']}: {h['runtime']} "
        f"{h['speedup']:.2f}x eager fp32.",
        "",
    ]
    return "\n".join(parts)


def _print_table(rows: list[dict[str, Any]]) -> None:
    cols = ["model", "res", "batch", "runtime", "params", "macs", "mem_mb", "fps", "fps_best", "ceiling_fps", "speedup_vs_eager",
            "peak_frac", "d_nss", "d_maxf", "status"]
    cells = [[_fmt(r.get(c), c) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m salkd.bench models", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=None,
                   help="model specs (default: the deployable models; fastvsod also with backbone=resnet18)")
    p.add_argument("--res", nargs="+", type=int, default=None,
                   help=f"input sizes (default {' '.join(map(str, DEFAULT_RES))}; fastvsod adds 224 473)")
    p.add_argument("--batch", nargs="+", type=int, default=list(DEFAULT_BATCH), help="batch sizes (default 1 64)")
    p.add_argument("--runtimes", nargs="+", default=None,
                   help=f"runtimes (default eager cl [bf16_cl if the CPU has native bf16] onnx onnx_2proc "
                        f"[cuda cuda_fp16]); "
                        f"available: {', '.join(rt.RUNTIMES)}, onnx_2proc")
    p.add_argument("--quick", action="store_true", help="few iterations (tests, notebooks)")
    p.add_argument("--threads", type=int, default=None, help="torch / ONNX Runtime threads (default: all cores)")
    p.add_argument("--out", default="runs/bench", help="output folder (default runs/bench)")
    p.add_argument("--max-call-seconds", type=float, default=None,
                   help="skip configurations estimated slower than this per batch (default 15; 2 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.models and len(args.models) == 1 and "," in args.models[0] and "[" not in args.models[0]:
        args.models = args.models[0].split(",")
    return args


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (``python -m salkd.bench models --help``). Returns the exit code."""
    args = _parse_args(argv)
    if any(b <= 0 for b in args.batch) or (args.res and any(r <= 0 for r in args.res)):
        print("error: --batch and --res must be positive", file=sys.stderr)
        return 2
    t0 = time.time()
    out = Path(args.out)
    try:
        result = run(args.models, res=args.res, batch=args.batch, runtimes=args.runtimes, quick=args.quick,
                     threads=args.threads, max_call_seconds=args.max_call_seconds, seed=args.seed,
                     progress=not args.no_progress,
                     on_rows=lambda rows: write_text(out / "bench_models.partial.csv", _csv(rows)))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_text(out / "bench_models.csv", _csv(result["rows"]))
    (out / "bench_models.partial.csv").unlink(missing_ok=True)
    write_text(out / "bench_models.md", _markdown(result))
    write_json(out / "bench_models.json", {k: v for k, v in result.items() if k != "rows"})
    peak = result["peak"]
    mach = result["machine"]
    print(f"machine: {mach.get('model', '?')}, threads {result['threads']}, ISA {','.join(mach.get('flags', []))}, "
          f"load avg start/end {mach.get('loadavg_1min_start', float('nan')):.1f}/"
          f"{mach.get('loadavg_1min', float('nan')):.1f}")
    if max(mach.get("loadavg_1min_start") or 0, mach.get("loadavg_1min") or 0) > (mach.get("cpus") or 1) + 0.5:
        print("warning: the machine was busy with other processes; FPS figures are low and noisy", file=sys.stderr)
    print(f"peak GFLOP/s: fp32 {peak['fp32']:.1f} (torch matmul {peak['fp32_matmul']:.1f}, "
          f"ORT matmul {peak.get('fp32_ort_matmul', float('nan')):.1f}, conv {peak['fp32_conv']:.1f}); "
          f"bf16 {peak['bf16']:.1f} (matmul {peak['bf16_matmul']:.1f}, conv {peak['bf16_conv']:.1f})")
    _print_table(result["rows"])
    papers = _paper_rows(result["rows"])
    if papers:
        print("\npapers vs ours:")
        _print_table_generic(papers, PAPER_COLUMNS)
    errors = [r for r in result["rows"] if str(r.get("status", "")).find("error") >= 0]
    for r in errors:
        print(f"!! {r['model']} {r.get('res')} b{r.get('batch')} {r.get('runtime')}: {r['status']}", file=sys.stderr)
    print(f"wrote {out / 'bench_models.csv'}, {out / 'bench_models.md'} ({time.time() - t0:.0f} s)")
    h = result["speedup"]
    if h["model"] is not None:
        extra = ""
        if h.get("d_nss") is not None:
            extra = f" (d_nss {h['d_nss']:.1e}, d_maxf {h['d_maxf']:.1e})"
        print(f"best optimized path: {h['model']} {h['res']}x{h['res']} batch {h['batch']}: {h['runtime']}{extra}")
    print(f"speedup {h['speedup']:.2f}x")
    return 0


def _print_table_generic(rows: list[dict[str, Any]], cols: Sequence[str]) -> None:
    cells = [[_fmt(r.get(c), c) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
