"""``python -m salkd.bench models``: deployment benchmark of the salkd test-time networks.

For every model x resolution it measures the cost (parameters, MACs by two counters, memory
footprint; definitions in :mod:`salkd.bench.cost`) and, for every runtime x batch, frames/s
(runtimes in :mod:`salkd.bench.runtime`, plus ``onnx_2proc``: two 1-thread ONNX Runtime
processes, one per core, each serving its own batch). Each runtime's FPS is compared with the
FLOP-bound ceiling of this machine (measured fp32/bf16 matmul/conv peak / (2 x MACs)), and each
optimized path's predictions with eager fp32 on the same structured inputs: max |logit diff|,
|NSS_opt - NSS_fp32| (fixations sampled from the fp32 map) and |maxF_opt - maxF_fp32| (mask =
fp32 map thresholded at half its range). The papers' own figures are printed beside ours.

Roofline: every speed row carries ``ceiling_fps`` = measured peak of its precision (fp32, bf16 or int8;
:func:`salkd.bench.machine.measure_peak`, at the row's thread count) / (2 x MACs) and ``peak_frac`` =
fps / ceiling_fps. Per-core rows (``threads`` = 1, one process; ``--no-per-core`` skips them) are measured
beside the all-core ones, so the papers' "one CPU core" figures compare like for like.

Reduced precision (``bf16_cl``, ``ort_int8``: static int8 QDQ through ONNX Runtime) is accepted only on a
trained run: ``--run RUN_DIR`` (a salkd run folder; its ``config.json`` names the model) replaces that
model's random weights with the run's, calibrates int8 on real frames of the run's train split and
scores every reduced-precision runtime against eager fp32 on the run's held-apart test split
(|Δ NSS|, |Δ CC| for fixation models, |Δ max-F|, |Δ MAE| for SOD models; :mod:`salkd.bench.trained`).
It ships (``accurate``) when within 0.01 NSS / 0.005 max-F; the deltas are printed either way. Without a
run, reduced-precision rows are measured but never accurate.

Writes ``bench_models.csv``, ``bench_models.md`` and ``bench_models.json`` (machine info, peak)
into ``--out`` (default ``runs/bench``; writers in :mod:`salkd.bench.report`). The last printed line is
``speedup <x>x, <p>% of ceiling (<runtime>, <cpu flags>)``: the best accurate optimized runtime over eager
fp32 for ``skd_st`` at 64x64, batch 64, all cores (or the first measured model/res/largest batch when that
configuration is not part of the run), and the fraction of its precision's ceiling it reaches.

Models are named like the registry (``salkd.models.build``); keyword arguments in brackets,
e.g. ``fastvsod[backbone=resnet18]`` (the lighter fastvsod backbone for CPU). Models with a
``deploy()`` method (fastvsod) are measured in their deployed form. Weights are random (fixed
seed) unless ``--run`` gives trained ones: speed and cost do not depend on them.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from salkd.bench import cost as cost_mod
from salkd.bench import machine, report
from salkd.bench import runtime as rt
from salkd.bench import trained as trained_mod
from salkd.bench.fidelity import ACCURACY_TOL, fidelity
from salkd.bench.model_bench import ModelBench
from salkd.bench.report import COLUMNS
from salkd.bench.specs import DEFAULT_RES, build_model, default_models, parse_model_spec, resolutions
from salkd.papers.numbers import SPEED

__all__ = ["main", "run", "PAPERS", "COLUMNS", "ACCURACY_TOL", "parse_model_spec", "fidelity"]

DEFAULT_BATCH = (1, 64)

#: the papers' own deployment figures (:data:`salkd.papers.numbers.SPEED`)
PAPERS = SPEED

Row = dict[str, Any]


def _default_runtimes() -> list[str]:
    """eager, channels-last, bfloat16 (only where the CPU has native bf16: otherwise oneDNN emulates
    it, 5-7x slower than fp32 on an AVX2 CPU), ONNX Runtime fp32 and static int8, and CUDA when present.
    ``--runtimes`` measures any of them regardless."""
    out = ["eager", "cl"] + (["bf16_cl"] if machine.cpu_native_bf16() else [])
    avail = rt.available_runtimes()
    if "onnx" in avail:
        out += ["onnx", "onnx_2proc", "ort_int8"]
    out += [r for r in ("cuda", "cuda_fp16") if r in avail]
    return out


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


@dataclass
class _Plan:
    """The settings shared by every model x resolution of one :func:`run`."""

    batches: Sequence[int]
    runtimes: list[str]  # "eager" first: the reference
    threads: int
    min_time: float
    repeats: int
    max_call_seconds: float
    seed: int
    peak: dict[str, float]  # measured at ``threads``
    bar: _Progress
    runs: dict[str, trained_mod.TrainedRun] = field(default_factory=dict)  # model name -> trained run (--run)
    real: dict[tuple[str, int, str, str], dict[str, float]] = field(default_factory=dict)  # val/test scores
    calib: dict[tuple[str, int], list[tuple[np.ndarray, ...]]] = field(default_factory=dict)  # int8 frames
    int8_method: dict[tuple[str, int], str] = field(default_factory=dict)  # chosen on the val split


def _runtime_list(runtimes: Sequence[str] | None) -> list[str]:
    """The runtimes to measure, validated, with ``eager`` (the reference) first."""
    runtimes = list(runtimes or _default_runtimes())
    unknown = [r for r in runtimes if r not in rt.RUNTIMES and r != "onnx_2proc"]
    if unknown:
        raise ValueError(f"unknown runtime(s) {unknown}; choose from {', '.join(rt.RUNTIMES)}, onnx_2proc")
    return ["eager"] + [r for r in runtimes if r != "eager"]


def run(models: Sequence[str | tuple[str, nn.Module]] | None = None, *, res: Sequence[int] | None = None,
        batch: Sequence[int] = DEFAULT_BATCH, runtimes: Sequence[str] | None = None, quick: bool = False,
        threads: int | None = None, max_call_seconds: float | None = None, seed: int = 0,
        peak: dict[str, float] | None = None, progress: bool = True,
        on_rows: Any = None, per_core: bool = True, runs: Sequence[str | Path] = (),
        peak_1core: dict[str, float] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns ``{"rows": [...], "peak": {...}, "peak_1core": {...}, "machine": {...},
    "speedup": {...}, "runs": {...}}``.

    ``models``: registry specs (``"skd_st"``, ``"fastvsod[backbone=resnet18]"``) or ``(label, module)``
    pairs (used by the tests with stand-in nets). A (model, res, batch, runtime) whose first call is
    estimated to exceed ``max_call_seconds`` (from MACs and the measured peak at 30 % efficiency)
    is skipped and listed with status "skipped". ``per_core``: also measure every runtime but
    ``onnx_2proc`` on one thread (rows with ``threads`` = 1, ceiling from the 1-thread peak).
    ``runs``: trained run folders (see the module docstring); their models are added to ``models``
    when not named there.
    """
    threads = threads or torch.get_num_threads()
    runtimes = _runtime_list(runtimes)
    if max_call_seconds is None:
        max_call_seconds = 2.0 if quick else 15.0
    trained = trained_mod.runs_by_model(runs) if runs else {}
    load0 = machine.cpu_info().get("loadavg_1min")
    peak = peak or machine.measure_peak(threads, quick=quick)
    counts = [threads] + ([1] if per_core and threads != 1 else [])
    if 1 in counts[1:]:
        peak_1core = peak_1core or machine.measure_peak(1, quick=quick)
    torch.set_num_threads(threads)
    specs = list(models) if models else (list(trained) if trained else default_models())
    specs += [n for n in trained if n not in [s if isinstance(s, str) else s[0] for s in specs]]
    configs = [(s, r) for s in specs for r in resolutions(s if isinstance(s, str) else s[0], res)]
    one_core = [r for r in runtimes if r != "onnx_2proc"]  # two processes are not one core
    bar = _Progress(len(configs) * len(batch) * (len(runtimes) + len(one_core) * (len(counts) - 1)),
                    quiet=not progress)
    plan = _Plan(batch, runtimes, threads, min_time=0.05 if quick else 1.0, repeats=2 if quick else 5,
                 max_call_seconds=max_call_seconds, seed=seed, peak=peak, bar=bar, runs=trained)
    # the per-core plan shares the trained runs, their test-split scores and calibration frames
    plans = [plan] + [replace(plan, threads=1, peak=peak_1core or peak, runtimes=one_core) for _ in counts[1:]]
    rows: list[Row] = []
    try:
        for spec, r in configs:
            rows += _bench_one(spec, r, plans)
            if on_rows is not None:
                on_rows(rows)
    finally:
        bar.close()
        torch.set_num_threads(threads)
    mach = machine.cpu_info()
    mach["loadavg_1min_start"] = load0
    return {"rows": rows, "peak": peak, "peak_1core": peak_1core if len(counts) > 1 else None, "machine": mach,
            "speedup": _headline(rows, threads, mach), "threads": threads, "quick": quick,
            "runs": {name: r.describe() for name, r in trained.items()}}


def _model_of(spec: str | tuple[str, nn.Module], plan: _Plan) -> tuple[str, nn.Module]:
    """The label and the model to measure: a given module, the trained run's (``--run``), or random weights."""
    if isinstance(spec, tuple):
        return spec[0], spec[1].float().eval()
    run = plan.runs.get(spec)
    if run is not None:
        return spec, copy.deepcopy(run.model).float().eval()
    return spec, build_model(spec, plan.seed)


def _fit_stride(model: nn.Module, res: int) -> tuple[int, str]:
    """``res`` rounded up to a multiple of the model's stride, and the status note saying so."""
    stride = int(getattr(model, "stride", 1) or 1)
    if res % stride == 0:
        return res, ""
    fitted = int(math.ceil(res / stride) * stride)
    return fitted, f"res {res} rounded up to {fitted} (stride {stride}); "


def _bench_one(spec: str | tuple[str, nn.Module], res: int, plans: Sequence[_Plan]) -> list[Row]:
    """The rows of one model at one resolution: cost, then, per thread count (all cores first, then one),
    every runtime (eager first) x batch."""
    plan = plans[0]
    label = spec if isinstance(spec, str) else spec[0]
    base: Row = {"model": label, "threads": plan.threads}
    try:
        label, model = _model_of(spec, plan)
    except Exception as e:  # bad model spec: one error row, continue
        return [{**base, "res": res, "status": f"error: {type(e).__name__}: {e}"}]
    res, note = _fit_stride(model, res)
    base["res"] = res
    if label in plan.runs:
        base["weights"] = f"trained: {plan.runs[label].path.name}"
    try:
        base.update(cost_mod.model_cost(model, rt.example_inputs(model, res, 1, seed=plan.seed)).as_dict())
    except Exception as e:
        msg = f"error: {type(e).__name__}: {e}"
        return [{**base, "batch": b, "runtime": r, "status": note + msg} for b in plan.batches for r in plan.runtimes]
    rows: list[Row] = []
    for p in plans:
        torch.set_num_threads(p.threads)
        bench = ModelBench(model, res, {**base, "threads": p.threads}, note, p)
        try:
            rows += [row for name in p.runtimes for row in bench.runtime_rows(name)]
        finally:
            bench.close()
    return rows


def _headline(rows: list[dict[str, Any]], threads: int | None = None,
              mach: dict[str, Any] | None = None) -> dict[str, Any]:
    """Best accurate non-eager runtime over eager for skd_st/64/batch 64 on ``threads`` threads (all cores),
    else the first measured config; with the fraction of its precision's ceiling and the CPU's key flags."""
    flags = machine.flag_summary(mach or {})
    out = _headline_row(rows if threads is None else [r for r in rows if r.get("threads") == threads])
    out["flags"] = flags
    return out


def _headline_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r.get("fps") and r.get("speedup_vs_eager") is not None]
    if not ok:
        return {"model": None, "res": None, "batch": None, "runtime": None, "speedup": float("nan"),
                "peak_frac": float("nan")}
    target = [r for r in ok if r["model"] == "skd_st" and r["res"] == 64 and r["batch"] == 64]
    if not target:
        first = ok[0]
        bmax = max(r["batch"] for r in ok if r["model"] == first["model"] and r["res"] == first["res"])
        target = [r for r in ok if r["model"] == first["model"] and r["res"] == first["res"] and r["batch"] == bmax]
    cands = [r for r in target if r["runtime"] != "eager" and r.get("accurate")]
    if not cands:
        t = next((r for r in target if r["runtime"] == "eager"), target[0])
        return {"model": t["model"], "res": t["res"], "batch": t["batch"], "runtime": "eager", "speedup": 1.0,
                "fps": t["fps"], "peak_frac": t.get("peak_frac", float("nan"))}
    best = max(cands, key=lambda r: r["speedup_vs_eager"])
    # the deltas that decided "accurate": the trained run's test frames for bf16 / int8 (d_<metric>_real),
    # else the output check against eager on the benchmark's own inputs (d_nss, d_maxf)
    real = {k: best[k] for k in best if k.startswith("d_") and k.endswith("_real") and best[k] is not None}
    check = ({"kind": "trained run", **real} if real else
             {"kind": "same inputs as eager", "d_nss": best.get("d_nss"), "d_maxf": best.get("d_maxf")})
    return {"model": best["model"], "res": best["res"], "batch": best["batch"], "runtime": best["runtime"],
            "speedup": best["speedup_vs_eager"], "fps": best["fps"], "d_nss": best.get("d_nss"),
            "d_maxf": best.get("d_maxf"), "check": check, "peak_frac": best.get("peak_frac", float("nan")),
            "precision": best.get("precision")}


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
    p.add_argument("--run", nargs="+", default=[], metavar="RUN_DIR",
                   help="trained run folders (config.json names the model): their weights replace the random "
                        "ones; bf16/int8 are calibrated on the run's train frames and accepted only within "
                        "0.01 NSS / 0.005 max-F of eager fp32 on its test frames")
    p.add_argument("--per-core", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure on 1 thread, 1 process (default: yes)")
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
                     progress=not args.no_progress, on_rows=lambda rows: report.write_partial(out, rows),
                     per_core=args.per_core, runs=args.run)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report.write_outputs(out, result)
    report.print_summary(result, out, time.time() - t0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
