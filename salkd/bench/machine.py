"""This machine: CPU model and ISA flags (:func:`cpu_info`), native bfloat16 support
(:func:`cpu_native_bf16`) and the measured FLOP peak (:func:`measure_peak`) that the benchmark's
``ceiling_fps`` divides by. Re-exported by :mod:`salkd.bench.runtime`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from salkd.bench.timing import time_call

__all__ = ["cpu_native_bf16", "measure_peak", "cpu_info"]


def cpu_native_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 / AMX), not emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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
