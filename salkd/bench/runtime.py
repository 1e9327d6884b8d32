"""Inference runtimes for the deployable models (their timing is in :mod:`salkd.bench.timing`, the
machine's FLOP peak and CPU info in :mod:`salkd.bench.machine`; both re-exported here).

``make_runner(model, runtime, res=..., batch=...)`` returns a :class:`Runner`: a callable taking
the model's inputs (one NCHW float array in [0, 1] for "frame" models, two for "pair"/"flow"
models; numpy arrays or tensors) and returning the logits as a float32 ``np.ndarray`` (N,1,H,W).
Runners validate their inputs (count, shape, channels, finiteness) and raise ``ValueError`` with
a clear message, also for runtimes (ONNX Runtime) that would otherwise fail obscurely.

Runtimes (``RUNTIMES``):

=============  =====================================================================================
``eager``      PyTorch eager, float32, contiguous NCHW (the reference)
``cl``         PyTorch eager, float32, channels_last model and inputs (oneDNN NHWC kernels)
``bf16_cl``    PyTorch eager, model and inputs cast to bfloat16, channels_last; output cast back
``jit``        TorchScript trace + ``torch.jit.freeze`` + ``optimize_for_inference`` (oneDNN fusions), fp32
``compile``    ``torch.compile`` (inductor, ``freezing=True``), channels_last float32
``onnx``       ONNX Runtime CPU, float32, ``intra_op_num_threads = threads``, all graph optimizations
``ort_int8``   ONNX Runtime CPU, static int8 QDQ graph (per-channel weights; :mod:`salkd.bench.quant`),
               calibrated on the ``calibration`` frames given (synthetic frames when none: speed only)
``cuda``       PyTorch on CUDA, float32, channels_last, cudnn.benchmark (only when CUDA is present)
``cuda_fp16``  PyTorch on CUDA, float16 autocast, channels_last (only when CUDA is present)
=============  =====================================================================================

``runtime="auto"`` picks ``cuda`` when CUDA is available; else, with ``precision="auto"`` on a CPU with
native bf16 (:func:`salkd.device.resolve_precision`), ``bf16_cl``; else ``onnx``, falling back to ``cl`` if
the ONNX export fails. ``ort_int8`` is never picked automatically: it ships only where the benchmark
measured its accuracy on a trained run (``python -m salkd.bench models --run``). Measured on the 2-core AMD EPYC (AVX2, no AVX-512/BF16/AMX), batch 64 at
64x64: skd_st eager 377 FPS, cl 631, jit 624, compile 690, onnx 662-738 (fp32 ceiling 899);
uva_st eager 63, cl 198, compile 259, onnx 664. bfloat16 is chosen automatically only where oneDNN
runs it natively: without AVX512-BF16/AMX oneDNN emulates it (measured bf16 conv peak 19 GFLOP/s vs fp32 191) and it is
5-7x *slower* than fp32. ``compile`` sets ``torch._inductor.config.freezing = True`` process-wide.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
import copy
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

# re-exported: the machine's peak and CPU info, and the timing helpers, live in their own modules
from salkd.bench.machine import cpu_info, cpu_native_bf16, measure_peak
from salkd.bench.timing import time_call, time_onnx_processes
# re-exported: the example inputs are shared with salkd.export and live in salkd.models.inputs
from salkd.models.inputs import example_inputs, input_channels

__all__ = [
    "RUNTIMES",
    "Runner",
    "available_runtimes",
    "input_channels",
    "example_inputs",
    "make_runner",
    "time_call",
    "time_onnx_processes",
    "measure_peak",
    "cpu_info",
    "cpu_native_bf16",
    "runtime_precision",
]

RUNTIMES: tuple[str, ...] = ("eager", "cl", "bf16_cl", "jit", "compile", "onnx", "ort_int8", "cuda", "cuda_fp16")

#: the arithmetic of each runtime (its ceiling divides by the measured peak of that precision)
PRECISION: dict[str, str] = {"bf16_cl": "bf16", "ort_int8": "int8", "cuda_fp16": "fp16"}


def runtime_precision(runtime: str) -> str:
    """``"fp32"``, ``"bf16"``, ``"int8"`` or ``"fp16"``: the arithmetic ``runtime`` computes in."""
    return PRECISION.get(runtime, "fp32")

ArrayLike = Any  # np.ndarray | torch.Tensor


def available_runtimes() -> list[str]:
    """Runtimes usable on this machine (CUDA ones only with a GPU, ``onnx`` only with onnxruntime)."""
    out = ["eager", "cl", "bf16_cl", "jit", "compile"]
    try:
        import onnxruntime  # noqa: F401

        out += ["onnx", "ort_int8"]
    except ImportError:
        pass
    if torch.cuda.is_available():
        out += ["cuda", "cuda_fp16"]
    return out


class Runner:
    """Callable inference path. ``runner(*inputs) -> np.ndarray`` of float32 logits (N, 1, H, W).

    Attributes: ``runtime`` (name), ``channels`` (per input), ``res`` (fixed input size or None),
    ``device``. Subclasses implement ``_run(arrays) -> np.ndarray``.
    """

    runtime = "base"

    def __init__(self, channels: tuple[int, ...], res: int | None, device: str = "cpu",
                 check_finite: bool = True) -> None:
        self.channels = channels
        self.res = res
        self.device = device
        self.check_finite = check_finite

    def _validate(self, inputs: Sequence[ArrayLike]) -> None:
        if len(inputs) != len(self.channels):
            raise ValueError(f"{self.runtime} runner: expected {len(self.channels)} input(s) "
                             f"(channels {self.channels}), got {len(inputs)}")
        first = None
        for i, (x, c) in enumerate(zip(inputs, self.channels)):
            shape = tuple(x.shape)
            if len(shape) != 4 or shape[1] != c:
                raise ValueError(f"{self.runtime} runner: input {i} must be (N, {c}, H, W), got {shape}")
            if self.res is not None and shape[2:] != (self.res, self.res):
                raise ValueError(f"{self.runtime} runner: input {i} must be {self.res}x{self.res} "
                                 f"(the size this runner was built for), got {shape[2]}x{shape[3]}")
            if first is None:
                first = shape
            elif (shape[0],) + shape[2:] != (first[0],) + first[2:]:
                raise ValueError(f"{self.runtime} runner: inputs differ in batch or size: {first} vs {shape}")
            if self.check_finite:
                finite = bool(torch.isfinite(x).all()) if isinstance(x, torch.Tensor) else bool(np.isfinite(x).all())
                if not finite:
                    raise ValueError(f"{self.runtime} runner: input {i} contains NaN or infinite values")

    def __call__(self, *inputs: ArrayLike) -> np.ndarray:
        self._validate(inputs)
        return self._run(inputs)

    def _run(self, inputs: Sequence[ArrayLike]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (sessions, temporary files)."""


def _to_tensor(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


class TorchRunner(Runner):
    """PyTorch path: optional channels_last, dtype cast, CUDA, autocast or ``torch.compile``."""

    def __init__(self, model: nn.Module, runtime: str, channels: tuple[int, ...], device: str = "cpu",
                 dtype: torch.dtype = torch.float32, channels_last: bool = False,
                 autocast: torch.dtype | None = None, compile: bool = False,
                 jit_example: tuple[torch.Tensor, ...] | None = None) -> None:
        super().__init__(channels, None, device)
        self.runtime = runtime
        self.dtype = dtype
        self.channels_last = channels_last
        self.autocast = autocast
        m = model.eval().to(device=device, dtype=dtype)
        if hasattr(m, "check_inputs"):
            m.check_inputs = False  # the runner checks finiteness once, before any cast
        if channels_last:
            m = m.to(memory_format=torch.channels_last)
        self.model = m
        self.fn: Callable[..., torch.Tensor] = m
        if compile:
            import torch._inductor.config as inductor_config

            inductor_config.freezing = True
            self.fn = torch.compile(m, dynamic=False)
        if jit_example is not None:
            import warnings

            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(m, tuple(self._prep(x) for x in jit_example), check_trace=False)
                self.fn = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))

    def _prep(self, x: ArrayLike) -> torch.Tensor:
        t = _to_tensor(x).to(device=self.device, dtype=self.dtype, non_blocking=True)
        if self.channels_last:
            t = t.contiguous(memory_format=torch.channels_last)
        return t

    def _run(self, inputs: Sequence[ArrayLike]) -> np.ndarray:
        args = [self._prep(x) for x in inputs]
        with torch.inference_mode():
            if self.autocast is not None:
                with torch.autocast(device_type=torch.device(self.device).type, dtype=self.autocast):
                    out = self.fn(*args)
            else:
                out = self.fn(*args)
        return out.float().contiguous().cpu().numpy()


class OnnxRunner(Runner):
    """ONNX Runtime CPU session on a model exported by :func:`salkd.export.export_onnx`."""

    runtime = "onnx"

    def __init__(self, path: str | os.PathLike, channels: tuple[int, ...], res: int, threads: int,
                 cleanup: Path | None = None, chunk: int | None = None, runtime: str = "onnx") -> None:
        import onnxruntime as ort

        super().__init__(channels, res, "cpu")
        self.runtime = runtime
        self.quantization: dict[str, Any] | None = None  # ort_int8: what quantize_int8 did
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self._cleanup = cleanup
        self.chunk = chunk

    def _run(self, inputs: Sequence[ArrayLike]) -> np.ndarray:
        arrays = []
        for x in inputs:
            a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
            arrays.append(np.ascontiguousarray(a, dtype=np.float32))
        n = arrays[0].shape[0]
        if not self.chunk or n <= self.chunk:
            return self.session.run(None, dict(zip(self.input_names, arrays)))[0]
        # sub-batches keep the activations of the first layers in cache
        parts = [self.session.run(None, {k: a[i:i + self.chunk] for k, a in zip(self.input_names, arrays)})[0]
                 for i in range(0, n, self.chunk)]
        return np.concatenate(parts, 0)

    def close(self) -> None:
        self.session = None
        if self._cleanup is not None:
            import shutil

            shutil.rmtree(self._cleanup, ignore_errors=True)
            self._cleanup = None

    def __del__(self) -> None:  # best effort; close() is the API
        try:
            self.close()
        except Exception:  # pragma: no cover
            pass


def _onnx_runner(model: nn.Module, runtime: str, chans: tuple[int, ...], *, res: int, batch: int, threads: int,
                 onnx_path: str | os.PathLike | None, chunk: int | None,
                 calibration: Sequence[tuple[np.ndarray, ...]] | None, calibrate_method: str = "minmax") -> OnnxRunner:
    """``onnx``: the exported fp32 graph; ``ort_int8``: that graph quantized (``onnx_path`` is the fp32 file,
    the int8 one is written beside it as ``<stem>.int8.onnx``)."""
    import shutil

    from salkd.export import export_onnx

    cleanup = None
    if onnx_path is None:
        cleanup = Path(tempfile.mkdtemp(prefix="salkd-onnx-"))
        onnx_path = cleanup / "model.onnx"
    onnx_path = Path(onnx_path)
    try:
        export_onnx(copy.deepcopy(model).float().cpu(), onnx_path, res=res, batch=min(batch, 2))
        quant = None
        if runtime == "ort_int8":
            from salkd.bench.quant import quantize_int8

            calib = list(calibration) if calibration else [
                tuple(x.numpy() for x in example_inputs(model, res, 8, seed=1000 + k)) for k in range(4)]
            quant = quantize_int8(onnx_path, onnx_path.with_suffix(".int8.onnx"), calib,
                                  calibrate_method=calibrate_method)
            quant["calibrated_on"] = "given frames" if calibration else "synthetic frames"
            onnx_path = onnx_path.with_suffix(".int8.onnx")
    except BaseException:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        raise
    runner = OnnxRunner(onnx_path, chans, res, threads, cleanup, chunk=chunk, runtime=runtime)
    runner.quantization = quant
    return runner


def _default_threads() -> int:
    return max(1, torch.get_num_threads())


def make_runner(model: nn.Module, runtime: str = "auto", *, res: int = 64, batch: int = 64,
                threads: int | None = None, device: str | None = None,
                onnx_path: str | os.PathLike | None = None, chunk: int | None = None,
                precision: str = "fp32", calibration: Sequence[tuple[np.ndarray, ...]] | None = None,
                calibrate_method: str = "minmax") -> Runner:
    """Build the inference path ``runtime`` for ``model`` (see the module docstring for the names).

    ``res`` fixes the input size for ``onnx`` (other runtimes accept any size the model accepts);
    ``batch`` is the batch used for the ONNX export check (the exported graph has a dynamic batch
    axis). ``threads`` sets ONNX Runtime's intra-op threads (default: torch's thread count).
    ``onnx_path`` keeps the exported file there (default: a temporary folder removed by ``close``).
    ``chunk``: ONNX Runtime runs batches larger than this as sub-batches of ``chunk`` (None: whole).
    ``precision``: what ``runtime="auto"`` may use on CPU (``"auto"``: bf16 where native, see the module
    docstring). ``calibration``: ``ort_int8``'s calibration batches (input tuples of real frames);
    ``calibrate_method``: its activation-range method (:func:`salkd.bench.quant.quantize_int8`).
    The model is not modified for ``eager``/``onnx``; the torch runtimes work on a deep copy.
    """
    threads = threads or _default_threads()
    if runtime == "auto":
        from salkd.device import resolve_precision

        if torch.cuda.is_available() and device != "cpu":
            runtime = "cuda"
        elif resolve_precision(precision, "cpu") == "bf16":
            runtime = "bf16_cl"
        else:
            try:
                return make_runner(model, "onnx", res=res, batch=batch, threads=threads, onnx_path=onnx_path,
                                   chunk=chunk)
            except Exception:
                runtime = "cl"
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose from auto, {', '.join(RUNTIMES)}")
    chans = input_channels(model)
    if runtime.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"runtime {runtime!r} needs CUDA, which is not available here")
    if runtime in ("onnx", "ort_int8"):
        return _onnx_runner(model, runtime, chans, res=res, batch=batch, threads=threads, onnx_path=onnx_path,
                            chunk=chunk, calibration=calibration, calibrate_method=calibrate_method)
    m = copy.deepcopy(model)
    if runtime == "eager":
        return TorchRunner(m, "eager", chans, device or "cpu")
    if runtime == "cl":
        return TorchRunner(m, "cl", chans, device or "cpu", channels_last=True)
    if runtime == "bf16_cl":
        return TorchRunner(m, "bf16_cl", chans, device or "cpu", dtype=torch.bfloat16, channels_last=True)
    if runtime == "jit":
        example = example_inputs(m, res, 1)
        return TorchRunner(m, "jit", chans, device or "cpu", jit_example=example)
    if runtime == "compile":
        return TorchRunner(m, "compile", chans, device or "cpu", channels_last=True, compile=True)
    if runtime == "cuda":
        torch.backends.cudnn.benchmark = True
        return TorchRunner(m, "cuda", chans, device or "cuda", channels_last=True)
    if runtime == "cuda_fp16":
        torch.backends.cudnn.benchmark = True
        return TorchRunner(m, "cuda_fp16", chans, device or "cuda", channels_last=True, autocast=torch.float16)
    raise AssertionError(runtime)  # pragma: no cover
