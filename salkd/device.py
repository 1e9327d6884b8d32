"""Device, process group and seeding: what inference, evaluation and training all need.

* :func:`resolve_device` -- ``"auto"`` / ``"cpu"`` / ``"cuda:1"`` -> a ``torch.device``.
* :func:`distributed_info` -- ``(rank, world_size)``; joins the ``torchrun`` process group.
* :func:`seed_everything` -- seeds Python, NumPy and torch.

Kept apart from :mod:`salkd.train` so modules that never train (evaluation, prediction, export,
benchmarks) do not import the training engine.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["resolve_device", "distributed_info", "seed_everything"]


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
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} was asked for but CUDA is not available here; use device='cpu'")
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
