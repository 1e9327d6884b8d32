"""This machine: CPU model, cores and ISA flags (:func:`cpu_info`, :data:`KEY_FLAGS`), native bfloat16
support (:func:`cpu_native_bf16`, from :mod:`salkd.device`) and the measured peak per precision
(:func:`measure_peak`: fp32, bf16, int8) that the benchmark's ``ceiling_fps`` divides by. Re-exported by
:mod:`salkd.bench.runtime`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from salkd.bench.timing import time_call
from salkd.device import cpu_native_bf16

__all__ = ["cpu_native_bf16", "measure_peak", "cpu_info", "KEY_FLAGS", "flag_summary", "has_int8_dot"]

#: the ISA flags that decide which precision is fast: fp32 (avx2/fma, avx512f), bf16 (avx512_bf16, amx_bf16),
#: int8 dot products (avx512_vnni, avx_vnni, amx_int8)
KEY_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")


def flag_summary(info: dict[str, Any]) -> str:
    """The key flags of :func:`cpu_info` as one token, e.g. ``avx2+avx512f+avx512_bf16+avx512_vnni``."""
    return "+".join(f for f in info.get("flags", []) if f != "fma") or "no-avx2"


def has_int8_dot(info: dict[str, Any]) -> bool:
    """Whether the CPU has int8 dot-product instructions (VNNI / AMX-int8): without them int8 GEMMs are
    not much faster than fp32 ones and u8 x s8 products can saturate (hence ``reduce_range``)."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(info.get("flags", [])))


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


def _ort_int8_gops(n: int, threads: int, min_time: float, quick: bool) -> dict[str, float]:
    """Int8 GOP/s (1 MAC = 2 OP) of ONNX Runtime: an n x n x n ``MatMulInteger`` (u8 x s8 -> int32)
    and a 3x3, 64 -> 64 channel ``QLinearConv`` (the ops a QDQ-quantized conv net runs)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    def session(nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any]) -> Any:
        graph = helper.make_graph(nodes, "int8", inputs, outputs, initializer=inits)
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        proto.ir_version = min(proto.ir_version, 9)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    mm = session([helper.make_node("MatMulInteger", ["a", "b"], ["c"])],
                 [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n])],
                 [helper.make_tensor_value_info("c", TensorProto.INT32, [n, n])],
                 [numpy_helper.from_array(rng.integers(-64, 64, (n, n), dtype=np.int8), "b")])
    feed = {"a": rng.integers(0, 128, (n, n), dtype=np.uint8)}
    t = time_call(lambda: mm.run(None, feed), (), min_time=min_time, repeats=3, warmup=1)["best"]
    out["int8_ort_matmul"] = 2 * n**3 / t / 1e9
    nb, c, hw = (2 if quick else 8), 64, 56
    f32 = lambda v, name: numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)  # noqa: E731
    u8 = lambda v, name: numpy_helper.from_array(np.asarray(v, dtype=np.uint8), name)  # noqa: E731
    conv = session([helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"],
                                     pads=[1, 1, 1, 1])],
                   [helper.make_tensor_value_info("x", TensorProto.UINT8, [nb, c, hw, hw])],
                   [helper.make_tensor_value_info("y", TensorProto.UINT8, [nb, c, hw, hw])],
                   [f32(0.02, "xs"), u8(128, "xz"), f32(0.5, "ys"), u8(128, "yz"), f32(0.01, "ws"),
                    numpy_helper.from_array(np.asarray(0, dtype=np.int8), "wz"),
                    numpy_helper.from_array(rng.integers(-64, 64, (c, c, 3, 3), dtype=np.int8), "w")])
    feed = {"x": rng.integers(0, 255, (nb, c, hw, hw), dtype=np.uint8)}
    t = time_call(lambda: conv.run(None, feed), (), min_time=min_time, repeats=3, warmup=1)["best"]
    out["int8_ort_conv"] = 2 * nb * hw * hw * c * c * 9 / t / 1e9
    out["int8"] = max(out["int8_ort_matmul"], out["int8_ort_conv"])
    return out


def measure_peak(threads: int | None = None, *, quick: bool = False) -> dict[str, float]:
    """Measured compute peak of this machine's CPU in GFLOP/s (1 MAC = 2 FLOP), best of several kernels.

    * ``fp32_matmul``: ``torch.mm`` of two n x n float32 matrices (n = 2048, 512 if quick);
    * ``fp32_ort_matmul``: the same MatMul in ONNX Runtime (MLAS; on AMD CPUs often faster than
      torch's BLAS);
    * ``fp32_conv``: 3x3 conv 64 -> 64 channels on a 8x64x56x56 (2x... if quick) channels_last tensor;
    * ``bf16_matmul``, ``bf16_conv``: torch matmul (n / 2) / conv in bfloat16;
    * ``int8_ort_matmul``, ``int8_ort_conv``: ONNX Runtime ``MatMulInteger`` / ``QLinearConv`` (GOP/s);
    * ``fp32``/``bf16``/``int8``: the best of the above per precision -- the ceiling used by the benchmark;
    * ``threads``: the thread count it was measured with (the per-core rows divide by a 1-thread peak).
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
        out.update(_ort_int8_gops(n0, threads, min_time, quick))
    except ImportError:
        pass
    out["threads"] = float(threads)
    return out


def cpu_info() -> dict[str, Any]:
    """CPU model, core counts and the ISA flags that matter for fp32/bf16/int8 speed (Linux /proc/cpuinfo).

    ``cpus``: logical CPUs; ``cores``: the CPUs this process may run on (its affinity: the cores a
    container or ``taskset`` grants); ``flags``: the :data:`KEY_FLAGS` present; ``mkldnn_bf16``: oneDNN's
    native-bf16 verdict (what ``precision="auto"`` follows)."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    try:
        info["cores"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        info["cores"] = os.cpu_count()
    try:
        text = Path("/proc/cpuinfo").read_text()
        for line in text.splitlines():
            if line.startswith("model name") and "model" not in info:
                info["model"] = line.split(":", 1)[1].strip()
            if line.startswith("flags") and "flags" not in info:
                flags = set(line.split(":", 1)[1].split())
                info["flags"] = [f for f in KEY_FLAGS if f in flags]
    except OSError:
        pass
    info["mkldnn_bf16"] = cpu_native_bf16()
    info["torch"] = torch.__version__
    info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try:
        info["loadavg_1min"] = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    return info
