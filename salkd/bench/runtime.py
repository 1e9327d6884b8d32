"""Inference runtimes for the deployable models, their timing, and the machine's FLOP peak.

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
``cuda``       PyTorch on CUDA, float32, channels_last, cudnn.benchmark (only when CUDA is present)
``cuda_fp16``  PyTorch on CUDA, float16 autocast, channels_last (only when CUDA is present)
=============  =====================================================================================

``runtime="auto"`` picks ``cuda`` when CUDA is available, else ``onnx``, falling back to ``cl`` if
the ONNX export fails. Measured on the 2-core AMD EPYC (AVX2, no AVX-512/BF16/AMX), batch 64 at
64x64: skd_st eager 377 FPS, cl 631, jit 624, compile 690, onnx 662-738 (fp32 ceiling 899);
uva_st eager 63, cl 198, compile 259, onnx 664. bfloat16 is never chosen automatically: without
AVX512-BF16/AMX oneDNN emulates it (measured bf16 conv peak 19 GFLOP/s vs fp32 191) and it is
5-7x *slower* than fp32. ``compile`` sets ``torch._inductor.config.freezing = True`` process-wide.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

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
]

RUNTIMES: tuple[str, ...] = ("eager", "cl", "bf16_cl", "jit", "compile", "onnx", "cuda", "cuda_fp16")

ArrayLike = Any  # np.ndarray | torch.Tensor


def cpu_native_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 / AMX), not emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def available_runtimes() -> list[str]:
    """Runtimes usable on this machine (CUDA ones only with a GPU, ``onnx`` only with onnxruntime)."""
    out = ["eager", "cl", "bf16_cl", "jit", "compile"]
    try:
        import onnxruntime  # noqa: F401

        out.append("onnx")
    except ImportError:
        pass
    if torch.cuda.is_available():
        out += ["cuda", "cuda_fp16"]
    return out


def input_channels(model: nn.Module) -> tuple[int, ...]:
    """Channels of each input tensor: ``model.in_channels`` if set, else from ``model.input_kind``.

    "frame" -> (3,), "pair" -> (3, 3) (frames t and t+1), "flow" -> (3, 2) (frame and optical flow).
    """
    given = getattr(model, "in_channels", None)
    if isinstance(given, int):
        return (given,)
    if isinstance(given, (tuple, list)) and given:
        return tuple(int(c) for c in given)
    kind = getattr(model, "input_kind", "frame")
    table = {"frame": (3,), "pair": (3, 3), "flow": (3, 2)}
    if kind not in table:
        raise ValueError(f"model.input_kind must be one of {sorted(table)}, got {kind!r}")
    return table[kind]


def _smooth_noise(gen: torch.Generator, n: int, c: int, res: int, cells: int) -> torch.Tensor:
    coarse = torch.rand(n, c, cells, cells, generator=gen)
    return torch.nn.functional.interpolate(coarse, size=(res, res), mode="bicubic", align_corners=False)


def example_inputs(model: nn.Module, res: int, batch: int = 1, *, seed: int = 0,
                   device: str | torch.device = "cpu") -> tuple[torch.Tensor, ...]:
    """Random but structured inputs for ``model``: textured frames with bright moving blobs.

    Frame t = smooth colour noise (low and mid frequencies) + 1-3 Gaussian blobs; frame t+1 is
    the same scene with the blobs moved by up to 3 pixels; a "flow" input is the blobs' motion
    (2 channels, pixels). Values in [0, 1], float32, NCHW, deterministic for a given ``seed``.
    """
    if res <= 0 or batch <= 0:
        raise ValueError(f"example_inputs: res and batch must be positive, got res={res}, batch={batch}")
    gen = torch.Generator().manual_seed(seed)
    chans = input_channels(model)
    bg = 0.5 * _smooth_noise(gen, batch, 3, res, 4) + 0.2 * _smooth_noise(gen, batch, 3, res, max(4, res // 8))
    yy, xx = torch.meshgrid(torch.arange(res, dtype=torch.float32), torch.arange(res, dtype=torch.float32),
                            indexing="ij")
    frames = [bg.clone(), bg.clone()]
    flow = torch.zeros(batch, 2, res, res)
    n_blobs = 3
    for b in range(batch):
        for k in range(int(torch.randint(1, n_blobs + 1, (1,), generator=gen))):
            cy, cx = (torch.rand(2, generator=gen) * 0.6 + 0.2) * res
            sigma = float(torch.rand(1, generator=gen) * 0.08 + 0.04) * res
            colour = torch.rand(3, 1, 1, generator=gen)
            dy, dx = (torch.randint(-3, 4, (2,), generator=gen)).float()
            for i, (oy, ox) in enumerate(((0.0, 0.0), (dy, dx))):
                blob = torch.exp(-((yy - cy - oy) ** 2 + (xx - cx - ox) ** 2) / (2 * sigma**2))
                frames[i][b] = frames[i][b] * (1 - blob) + colour * blob
            mask = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)) > 0.5
            flow[b, 0][mask] = dx
            flow[b, 1][mask] = dy
    frames = [f.clamp(0, 1) for f in frames]
    out: list[torch.Tensor] = []
    for i, c in enumerate(chans):
        if i == 0:
            t = frames[0]
        elif c == 2:
            t = flow
        else:
            t = frames[min(i, 1)]
        if t.shape[1] != c:
            t = t[:, :1].expand(-1, c, -1, -1).contiguous() if t.shape[1] < c else t[:, :c].contiguous()
        out.append(t.to(device).contiguous())
    return tuple(out)


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
                 cleanup: Path | None = None, chunk: int | None = None) -> None:
        import onnxruntime as ort

        super().__init__(channels, res, "cpu")
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


def _default_threads() -> int:
    return max(1, torch.get_num_threads())


def make_runner(model: nn.Module, runtime: str = "auto", *, res: int = 64, batch: int = 64,
                threads: int | None = None, device: str | None = None,
                onnx_path: str | os.PathLike | None = None, chunk: int | None = None) -> Runner:
    """Build the inference path ``runtime`` for ``model`` (see the module docstring for the names).

    ``res`` fixes the input size for ``onnx`` (other runtimes accept any size the model accepts);
    ``batch`` is the batch used for the ONNX export check (the exported graph has a dynamic batch
    axis). ``threads`` sets ONNX Runtime's intra-op threads (default: torch's thread count).
    ``onnx_path`` keeps the exported file there (default: a temporary folder removed by ``close``).
    ``chunk``: ONNX Runtime runs batches larger than this as sub-batches of ``chunk`` (None: whole).
    The model is not modified for ``eager``/``onnx``; the torch runtimes work on a deep copy.
    """
    import copy

    threads = threads or _default_threads()
    if runtime == "auto":
        if torch.cuda.is_available() and device != "cpu":
            runtime = "cuda"
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
    if runtime == "onnx":
        from salkd.export import export_onnx

        cleanup = None
        if onnx_path is None:
            cleanup = Path(tempfile.mkdtemp(prefix="salkd-onnx-"))
            onnx_path = cleanup / "model.onnx"
        try:
            export_onnx(copy.deepcopy(model).float().cpu(), onnx_path, res=res, batch=min(batch, 2))
        except BaseException:
            if cleanup is not None:
                import shutil

                shutil.rmtree(cleanup, ignore_errors=True)
            raise
        return OnnxRunner(onnx_path, chans, res, threads, cleanup, chunk=chunk)
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


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def time_call(fn: Callable[..., Any], inputs: Sequence[ArrayLike], *, min_time: float = 1.0,
              repeats: int = 5, warmup: int = 2, device: str = "cpu", max_seconds: float | None = None
              ) -> dict[str, float]:
    """Time ``fn(*inputs)``: ``warmup`` calls, then ``repeats`` rounds of about ``min_time/repeats`` s.

    Returns ``{"sec_per_call": median over rounds, "best": fastest round, "calls": total timed}``.
    The median is reported (robust to the noise of a shared VM). When one call takes longer than
    ``max_seconds`` (or ``min_time``), a single warm-up and a single timed call are made.
    """
    _sync(device)
    t0 = time.perf_counter()
    fn(*inputs)  # first call: allocations, oneDNN primitive creation, compilation
    _sync(device)
    one = time.perf_counter() - t0
    slow = max_seconds if max_seconds is not None else min_time
    if one < slow:
        for _ in range(max(0, warmup - 1)):
            fn(*inputs)
    _sync(device)
    t0 = time.perf_counter()
    fn(*inputs)
    _sync(device)
    one = max(time.perf_counter() - t0, 1e-7)
    if one >= min(slow, min_time):
        return {"sec_per_call": one, "best": one, "calls": 1}
    per_round = max(1, int(math.ceil(min_time / max(1, repeats) / one)))
    rounds = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn(*inputs)
        _sync(device)
        rounds.append((time.perf_counter() - t0) / per_round)
    return {"sec_per_call": statistics.median(rounds), "best": min(rounds), "calls": per_round * len(rounds)}


def _onnx_worker(path: str, feed: dict[str, np.ndarray], min_time: float, barrier: Any, queue: Any) -> None:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    sess.run(None, feed)
    sess.run(None, feed)
    barrier.wait()
    t0 = time.perf_counter()
    calls = 0
    while True:
        sess.run(None, feed)
        calls += 1
        now = time.perf_counter()
        if now - t0 >= min_time:
            break
    queue.put((calls, t0, now))


def time_onnx_processes(path: str | os.PathLike, inputs: Sequence[np.ndarray], *, processes: int = 2,
                        min_time: float = 1.0) -> dict[str, float]:
    """Throughput of ``processes`` independent 1-thread ONNX Runtime processes (one per core).

    Each process gets its own session and the *whole* batch ``inputs`` (e.g. each serves its own
    video stream); all start together after a barrier and run for ``min_time`` seconds. Returns
    ``{"frames_per_s": total frames / wall time from the common start to the last finish,
    "sec_per_call": wall time per batch-equivalent}`` so it compares with single-process rows.
    """
    import onnxruntime as ort

    names = [i.name for i in ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()]
    feed = {n: np.ascontiguousarray(np.asarray(x), dtype=np.float32) for n, x in zip(names, inputs)}
    batch = next(iter(feed.values())).shape[0]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_onnx_worker, args=(str(path), feed, min_time, barrier, queue), daemon=True)
             for _ in range(processes)]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(queue.get(timeout=300 + 10 * min_time))
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    if any(p.exitcode not in (0, None) for p in procs):
        raise RuntimeError("an ONNX Runtime worker process failed")
    start = min(r[1] for r in results)
    end = max(r[2] for r in results)
    frames = sum(r[0] for r in results) * batch
    fps = frames / (end - start)
    return {"frames_per_s": fps, "sec_per_call": batch / fps}


def _ort_matmul_gflops(n: int, threads: int, min_time: float) -> float:
    """GFLOP/s of an n x n x n float32 MatMul in ONNX Runtime (MLAS kernels)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = min(proto.ir_version, 9)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"a": rng.random((n, n), dtype=np.float32), "b": rng.random((n, n), dtype=np.float32)}
    t = time_call(lambda: sess.run(None, feed), (), min_time=min_time, repeats=3, warmup=1)["best"]
    return 2 * n**3 / t / 1e9


def measure_peak(threads: int | None = None, *, quick: bool = False) -> dict[str, float]:
    """Measured compute peak of this machine's CPU in GFLOP/s (1 MAC = 2 FLOP), best of several kernels.

    * ``fp32_matmul``: ``torch.mm`` of two n x n float32 matrices (n = 2048, 512 if quick);
    * ``fp32_ort_matmul``: the same MatMul in ONNX Runtime (MLAS; on AMD CPUs often faster than
      torch's BLAS);
    * ``fp32_conv``: 3x3 conv 64 -> 64 channels on a 8x64x56x56 (2x... if quick) channels_last tensor;
    * ``bf16_matmul``, ``bf16_conv``: torch matmul (n / 2) / conv in bfloat16;
    * ``fp32``/``bf16``: the best of the above -- the FLOP-bound ceiling used by the benchmark.
    """
    threads = threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    n0 = 512 if quick else 2048
    min_time = 0.1 if quick else 1.0
    out: dict[str, float] = {}
    gen = torch.Generator().manual_seed(0)
    for dtype, tag in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        n = n0 if dtype == torch.float32 else n0 // 2  # bf16 can be emulated (slow): keep it short
        a = torch.rand(n, n, generator=gen).to(dtype)
        b = torch.rand(n, n, generator=gen).to(dtype)
        t = time_call(torch.mm, (a, b), min_time=min_time, repeats=3, warmup=1)["best"]
        out[f"{tag}_matmul"] = 2 * n**3 / t / 1e9
        conv = nn.Conv2d(64, 64, 3, padding=1, bias=False).to(dtype=dtype, memory_format=torch.channels_last)
        nb = 2 if quick else 8
        x = torch.rand(nb, 64, 56, 56, generator=gen).to(dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            t = time_call(conv, (x,), min_time=min_time, repeats=3, warmup=1)["best"]
        out[f"{tag}_conv"] = 2 * nb * 56 * 56 * 64 * 64 * 9 / t / 1e9
        out[tag] = max(out[f"{tag}_matmul"], out[f"{tag}_conv"])
    try:
        out["fp32_ort_matmul"] = _ort_matmul_gflops(n0, threads, min_time)
        out["fp32"] = max(out["fp32"], out["fp32_ort_matmul"])
    except ImportError:
        pass
    return out


def cpu_info() -> dict[str, Any]:
    """CPU model, core count and the ISA flags that matter for fp32/bf16 speed (Linux /proc/cpuinfo)."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        for line in text.splitlines():
            if line.startswith("model name") and "model" not in info:
                info["model"] = line.split(":", 1)[1].strip()
            if line.startswith("flags") and "flags" not in info:
                flags = set(line.split(":", 1)[1].split())
                keep = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni"]
                info["flags"] = [f for f in keep if f in flags]
    except OSError:
        pass
    info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try:
        info["loadavg_1min"] = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    return info
