"""Frame-level parallelism for the evaluators (CPU only; CUDA runs frame by frame on the device)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

import torch

__all__ = ["map_frames"]

T = TypeVar("T")

_POOL: ThreadPoolExecutor | None = None


def map_frames(fn: Callable[[int], T], n: int, device: torch.device) -> list[T]:
    """``[fn(i) for i in range(n)]``, on CPU spread over ``torch.get_num_threads()`` Python threads.

    torch releases the GIL inside ops, and ``bincount`` itself is single-threaded, so frames are
    processed concurrently; results do not depend on the number of threads.
    """
    global _POOL
    workers = torch.get_num_threads()
    if device.type != "cpu" or n < 2 or workers < 2:
        return [fn(i) for i in range(n)]
    if _POOL is None or _POOL._max_workers != workers:
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salkd-metrics")
    # The workers already use every thread; nested intra-op (OpenMP) teams would oversubscribe
    # the cores, which is very slow when the machine is busy. Restored on exit.
    torch.set_num_threads(1)
    try:
        return list(_POOL.map(fn, range(n)))
    finally:
        torch.set_num_threads(workers)


