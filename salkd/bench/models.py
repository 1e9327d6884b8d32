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
into ``--out`` (default ``runs/bench``; writers in :mod:`salkd.bench.report`). The last printed line is ``speedup <x>x``: the best
accurate optimized runtime over eager fp32 for ``skd_st`` at 64x64, batch 64 (or the first
measured model/res/largest batch when that configuration is not part of the run).

Models are named like the registry (``salkd.models.build``); keyword arguments in brackets,
e.g. ``fastvsod[backbone=resnet18]`` (the lighter fastvsod backbone for CPU). Models with a
``deploy()`` method (fastvsod) are measured in their deployed form. Weights are random (fixed
seed): speed and cost do not depend on them; the accuracy check compares runtimes, not models.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from salkd.bench import cost as cost_mod
from salkd.bench import machine, report
from salkd.bench import runtime as rt
from salkd.bench.fidelity import ACCURACY_TOL, accurate, fidelity
from salkd.bench.report import COLUMNS
from salkd.bench.specs import DEFAULT_RES, build_model, default_models, parse_model_spec, resolutions
from salkd.bench.timing import time_call, time_onnx_processes
from salkd.papers.numbers import SPEED

__all__ = ["main", "run", "PAPERS", "COLUMNS", "ACCURACY_TOL", "parse_model_spec", "fidelity"]

DEFAULT_BATCH = (1, 64)

#: the papers' own deployment figures (:data:`salkd.papers.numbers.SPEED`)
PAPERS = SPEED

Row = dict[str, Any]


def _default_runtimes() -> list[str]:
    """eager, channels-last, bfloat16 (only where the CPU has native bf16: otherwise oneDNN emulates
    it, 5-7x slower than fp32 on an AVX2 CPU), ONNX Runtime, and CUDA when present. ``--runtimes``
    measures any of them regardless."""
    out = ["eager", "cl"] + (["bf16_cl"] if machine.cpu_native_bf16() else [])
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
    peak: dict[str, float]
    bar: _Progress


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
        on_rows: Any = None) -> dict[str, Any]:
    """Run the benchmark; returns ``{"rows": [...], "peak": {...}, "machine": {...}, "speedup": {...}}``.

    ``models``: registry specs (``"skd_st"``, ``"fastvsod[backbone=resnet18]"``) or ``(label, module)``
    pairs (used by the tests with stand-in nets). A (model, res, batch, runtime) whose first call is
    estimated to exceed ``max_call_seconds`` (from MACs and the measured peak at 30 % efficiency)
    is skipped and listed with status "skipped".
    """
    threads = threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    runtimes = _runtime_list(runtimes)
    if max_call_seconds is None:
        max_call_seconds = 2.0 if quick else 15.0
    load0 = machine.cpu_info().get("loadavg_1min")
    peak = peak or machine.measure_peak(threads, quick=quick)
    specs = list(models) if models else default_models()
    configs = [(s, r) for s in specs for r in resolutions(s if isinstance(s, str) else s[0], res)]
    bar = _Progress(len(configs) * len(batch) * len(runtimes), quiet=not progress)
    plan = _Plan(batch, runtimes, threads, min_time=0.05 if quick else 1.0, repeats=2 if quick else 5,
                 max_call_seconds=max_call_seconds, seed=seed, peak=peak, bar=bar)
    rows: list[Row] = []
    try:
        for spec, r in configs:
            rows += _bench_one(spec, r, plan)
            if on_rows is not None:
                on_rows(rows)
    finally:
        bar.close()
    mach = machine.cpu_info()
    mach["loadavg_1min_start"] = load0
    return {"rows": rows, "peak": peak, "machine": mach, "speedup": _headline(rows),
            "threads": threads, "quick": quick}


def _model_of(spec: str | tuple[str, nn.Module], seed: int) -> tuple[str, nn.Module]:
    if isinstance(spec, tuple):
        return spec[0], spec[1].float().eval()
    return spec, build_model(spec, seed)


def _fit_stride(model: nn.Module, res: int) -> tuple[int, str]:
    """``res`` rounded up to a multiple of the model's stride, and the status note saying so."""
    stride = int(getattr(model, "stride", 1) or 1)
    if res % stride == 0:
        return res, ""
    fitted = int(math.ceil(res / stride) * stride)
    return fitted, f"res {res} rounded up to {fitted} (stride {stride}); "


def _bench_one(spec: str | tuple[str, nn.Module], res: int, plan: _Plan) -> list[Row]:
    """The rows of one model at one resolution: cost, then every runtime (eager first) x batch."""
    label = spec if isinstance(spec, str) else spec[0]
    base: Row = {"model": label, "threads": plan.threads}
    try:
        label, model = _model_of(spec, plan.seed)
    except Exception as e:  # bad model spec: one error row, continue
        return [{**base, "res": res, "status": f"error: {type(e).__name__}: {e}"}]
    res, note = _fit_stride(model, res)
    base["res"] = res
    try:
        base.update(cost_mod.model_cost(model, rt.example_inputs(model, res, 1, seed=plan.seed)).as_dict())
    except Exception as e:
        msg = f"error: {type(e).__name__}: {e}"
        return [{**base, "batch": b, "runtime": r, "status": note + msg} for b in plan.batches for r in plan.runtimes]
    bench = _ModelBench(model, res, base, note, plan)
    try:
        return [row for name in plan.runtimes for row in bench.runtime_rows(name)]
    finally:
        bench.close()


def _error_status(e: Exception) -> str:
    first = str(e).splitlines()[0] if str(e) else ""
    return f"error: {type(e).__name__}: {first}"


@dataclass
class _ModelBench:
    """One model at one resolution across runtimes. Keeps eager's logits and FPS per batch (the
    reference of the later runtimes), the runners built so far and the ONNX file ``onnx_2proc`` reuses."""

    model: nn.Module
    res: int
    base: Row  # model, res, threads and the cost columns
    note: str  # status prefix (resolution rounded up)
    plan: _Plan
    runners: dict[str, rt.Runner] = field(default_factory=dict)
    ref_out: dict[int, np.ndarray] = field(default_factory=dict)
    eager_fps: dict[int, float] = field(default_factory=dict)
    onnx_path: Path | None = None

    def runtime_rows(self, name: str) -> list[Row]:
        """One row per batch (increasing) of runtime ``name``: measured, skipped or error."""
        plan = self.plan
        rows: list[Row] = []
        sec_per_frame: float | None = None  # measured at the previous (smaller) batch
        for b in sorted(plan.batches):
            row = {**self.base, "batch": b, "runtime": name, "status": self.note + "ok"}
            plan.bar.step(f"{self.base['model']} {self.res} b{b} {name}")
            est = self._estimate(row, name, b, sec_per_frame)
            if est is not None and est > plan.max_call_seconds:
                row["status"] = self.note + f"skipped: est. {est:.0f} s per batch > --max-call-seconds"
                rows.append(row)
                continue
            inputs = rt.example_inputs(self.model, self.res, b, seed=plan.seed + 1)
            try:
                sec, best, out = self._time(name, b, inputs)
            except Exception as e:
                row["status"] = self.note + _error_status(e)
            else:
                sec_per_frame = sec / b
                self._record(row, name, b, sec, best, out)
            rows.append(row)
        return rows

    def _estimate(self, row: Row, name: str, b: int, sec_per_frame: float | None) -> float | None:
        """Expected seconds per batch: from the previous batch when measured, else from the MACs at 30 %
        of the peak. Sets the row's ``ceiling_fps`` (peak / (2 x MACs)) where the peak is known."""
        macs = self.base["macs"]
        p = _peak_for(name, self.plan.peak)
        est = None
        if p is not None:
            row["ceiling_fps"] = p * 1e9 / (2 * macs) if macs else float("nan")
            est = b * 2 * macs / (0.3 * p * 1e9)
        if sec_per_frame is not None:
            est = b * sec_per_frame
        return est

    def _runner(self, name: str, b: int) -> rt.Runner:
        if name not in self.runners:
            self.runners[name] = rt.make_runner(self.model, name, res=self.res, batch=b, threads=self.plan.threads)
            if name == "onnx":
                self.onnx_path = self.runners[name].path
        return self.runners[name]

    def _time(self, name: str, b: int, inputs: Sequence[torch.Tensor]) -> tuple[float, float, np.ndarray]:
        """(median s per batch, best s per batch, logits) of runtime ``name`` on ``inputs``."""
        plan = self.plan
        if name == "onnx_2proc":
            if self.onnx_path is None:
                raise RuntimeError("needs the onnx runtime in the same run (--runtimes ... onnx)")
            args = [x.numpy() for x in inputs]
            t = time_onnx_processes(self.onnx_path, args, processes=2, min_time=max(plan.min_time, 0.2))
            # same graph and library: the fidelity of the onnx path
            return t["sec_per_call"], t["sec_per_call"], self.runners["onnx"](*args)
        runner = self._runner(name, b)
        call_inputs = [x.numpy() for x in inputs] if name == "onnx" else list(inputs)
        t = time_call(runner, call_inputs, min_time=plan.min_time, repeats=plan.repeats, device=runner.device,
                      max_seconds=plan.max_call_seconds)
        return t["sec_per_call"], t["best"], runner(*call_inputs)

    def _record(self, row: Row, name: str, b: int, sec: float, best: float, out: np.ndarray) -> None:
        """Speed columns, and the speedup and fidelity against eager at the same batch."""
        fps = b / sec
        row.update(ms_per_batch=sec * 1e3, fps=fps, fps_best=b / best, gflops=fps * 2 * self.base["macs"] / 1e9)
        if row.get("ceiling_fps"):
            row["peak_frac"] = fps / row["ceiling_fps"]
        if name == "eager":
            self.ref_out[b] = out
            self.eager_fps[b] = fps
            row.update(speedup_vs_eager=1.0, max_abs_diff=0.0, d_nss=0.0, d_maxf=0.0, accurate=True)
            return
        if b in self.eager_fps:
            row["speedup_vs_eager"] = fps / self.eager_fps[b]
        if b in self.ref_out:
            fid = fidelity(self.ref_out[b], out, seed=self.plan.seed)
            row.update(fid)
            row["accurate"] = accurate(fid)

    def close(self) -> None:
        for r in self.runners.values():
            r.close()


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
                     progress=not args.no_progress, on_rows=lambda rows: report.write_partial(out, rows))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report.write_outputs(out, result)
    report.print_summary(result, out, time.time() - t0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
