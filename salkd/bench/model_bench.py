"""One model at one resolution across runtimes (:mod:`salkd.bench.models` drives it): eager fp32 first (the
reference), then each optimized runtime's frames/s against this machine's ceiling and its predictions against
eager's; reduced precision scored on a trained run's frames (:mod:`salkd.bench.trained`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn

from salkd.bench import runtime as rt
from salkd.bench import trained as trained_mod
from salkd.bench.fidelity import accurate, fidelity
from salkd.bench.timing import time_call, time_onnx_processes

if TYPE_CHECKING:  # the plan type only annotates; models.py imports this module
    from salkd.bench.models import _Plan

__all__ = ["ModelBench", "INT8_CALIBRATIONS", "peak_for", "error_status"]

Row = dict[str, Any]

#: int8 activation-range methods tried on a trained run; the one closest to eager fp32 on the run's
#: *validation* frames is kept (the test frames only give the verdict)
INT8_CALIBRATIONS = ("minmax", "percentile")

def peak_for(runtime: str, peak: dict[str, float]) -> float | None:
    """The measured peak (GFLOP/s or int8 GOP/s) of ``runtime``'s precision; None for GPUs (not measured)."""
    if runtime.startswith("cuda"):
        return None
    return peak.get(rt.runtime_precision(runtime))


def error_status(e: Exception) -> str:
    first = str(e).splitlines()[0] if str(e) else ""
    return f"error: {type(e).__name__}: {first}"


@dataclass
class ModelBench:
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
                row["status"] = self.note + error_status(e)
            else:
                sec_per_frame = sec / b
                self._record(row, name, b, sec, best, out)
            rows.append(row)
        return rows

    def _estimate(self, row: Row, name: str, b: int, sec_per_frame: float | None) -> float | None:
        """Expected seconds per batch: from the previous batch when measured, else from the MACs at 30 %
        of the peak. Sets the row's ``ceiling_fps`` (peak / (2 x MACs)) where the peak is known."""
        macs = self.base["macs"]
        p = peak_for(name, self.plan.peak)
        est = None
        if p is not None:
            row["ceiling_fps"] = p * 1e9 / (2 * macs) if macs else float("nan")
            est = b * 2 * macs / (0.3 * p * 1e9)
        if sec_per_frame is not None:
            est = b * sec_per_frame
        return est

    @property
    def run(self) -> trained_mod.TrainedRun | None:
        """The trained run whose weights this model carries (``--run``), or None."""
        return self.plan.runs.get(str(self.base["model"]))

    def _calibration(self) -> list[tuple[np.ndarray, ...]] | None:
        """Real frames of the trained run's train split at this resolution (None without a run)."""
        if self.run is None:
            return None
        key = (str(self.base["model"]), self.res)
        if key not in self.plan.calib:
            self.plan.calib[key] = self.run.calibration(self.res)
        return self.plan.calib[key]

    def _runner(self, name: str, b: int) -> rt.Runner:
        if name not in self.runners:
            if name == "ort_int8" and self.run is not None:
                self.runners[name] = self._int8_runner(b)
            else:
                self.runners[name] = rt.make_runner(self.model, name, res=self.res, batch=b,
                                                    threads=self.plan.threads)
            if name == "onnx":
                self.onnx_path = self.runners[name].path
        return self.runners[name]

    def _int8_runner(self, b: int) -> rt.Runner:
        """``ort_int8`` calibrated on the run's train frames with the :data:`INT8_CALIBRATIONS` method that
        is closest to eager fp32 on its validation frames (chosen once per model and resolution)."""
        assert self.run is not None
        key = (str(self.base["model"]), self.res)
        methods = [self.plan.int8_method[key]] if key in self.plan.int8_method else list(INT8_CALIBRATIONS)
        best: tuple[float, str, rt.Runner] | None = None
        for method in methods:
            runner = rt.make_runner(self.model, "ort_int8", res=self.res, batch=b, threads=self.plan.threads,
                                    calibration=self._calibration(), calibrate_method=method)
            err = 0.0 if len(methods) == 1 else trained_mod.gated_error(
                trained_mod.deltas(self._real("eager", "val"), self.run.score(runner, self.res, "val")))
            if best is None or err < best[0]:
                if best is not None:
                    best[2].close()
                best = (err, method, runner)
            else:
                runner.close()
        assert best is not None
        self.plan.int8_method[key] = best[1]
        return best[2]

    def _real(self, name: str, split: str = "test") -> dict[str, float]:
        """Scores of runtime ``name`` on the trained run's ``split`` (once per model, res, runtime, split)."""
        assert self.run is not None
        key = (str(self.base["model"]), self.res, name, split)
        if key not in self.plan.real:
            runner = self.runners.get(name) or self._runner(name, 1)
            self.plan.real[key] = self.run.score(runner, self.res, split)
        return self.plan.real[key]

    def _check_reduced(self, row: Row, name: str) -> None:
        """bf16 / int8: accurate only within :data:`salkd.bench.trained.TOLERANCE` on the run's test split."""
        if self.run is None:
            row["accurate"] = None
            row["status"] += "; not shipped: accuracy needs a trained run (--run)"
            return
        d = trained_mod.deltas(self._real("eager"), self._real(name))
        row.update(d)
        ok = trained_mod.within_tolerance(d)
        row["accurate"] = ok
        tol = ", ".join(f"{k} {v:g}" for k, v in trained_mod.TOLERANCE.items())
        frames = int(self._real("eager").get("n_frames", 0))
        method = self.plan.int8_method.get((str(self.base["model"]), self.res))
        calib = f", {method} calibration on train frames" if name == "ort_int8" and method else ""
        row["status"] += (f"; {'shipped' if ok else 'rejected'}: vs eager fp32 on {frames} held-apart test frames "
                          f"(tolerance {tol}{calib})")

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
        row.update(ms_per_batch=sec * 1e3, fps=fps, fps_best=b / best, gflops=fps * 2 * self.base["macs"] / 1e9,
                   precision=rt.runtime_precision(name))
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
        if name in trained_mod.REDUCED:
            self._check_reduced(row, name)

    def close(self) -> None:
        for r in self.runners.values():
            r.close()


