"""Device, process group and seeding: what inference, evaluation and training all need.

* :func:`resolve_device` -- ``"auto"`` / ``"cpu"`` / ``"cuda:1"`` -> a ``torch.device``.
* :func:`distributed_info` -- ``(rank, world_size)``; joins the ``torchrun`` process group.
* :func:`seed_everything` -- seeds Python, NumPy and torch.
* :func:`cpu_native_bf16`, :func:`resolve_precision` -- ``precision="auto"`` -> the arithmetic this
  machine runs fast: fp16 on CUDA, bf16 on a CPU where oneDNN runs bfloat16 natively
  (AVX512-BF16 / AMX), fp32 elsewhere.

Kept apart from :mod:`salkd.train` so modules that never train (evaluation, prediction, export,
benchmarks) do not import the training engine.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["resolve_device", "distributed_info", "seed_everything", "cpu_native_bf16", "resolve_precision",
           "PRECISIONS"]

#: the precisions of training and inference (``"auto"`` resolves to one of the others)
PRECISIONS = ("fp32", "bf16", "fp16", "auto")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> the local CUDA device when present (per ``LOCAL_RANK``), else CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use --device cpu "
                         f"(device='cpu')")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def distributed_info() -> tuple[int, int]:
    """``(rank, world_size)``; initializes the process group when launched by ``torchrun``."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def cpu_native_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 / AMX), not emulated.

    Without native support oneDNN emulates bf16 and it is 5-7x *slower* than fp32 (measured on an AVX2
    AMD EPYC), so ``"auto"`` must never pick it there."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """The arithmetic actually used for ``precision`` on ``device``: ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    ``"auto"``: fp16 on CUDA; on CPU bf16 where :func:`cpu_native_bf16` is True, else fp32. The same
    rule serves training (autocast) and inference. Other values are returned checked, unchanged.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if torch.device(device).type == "cuda":
        return "fp16"
    return "bf16" if cpu_native_bf16() else "fp32"
