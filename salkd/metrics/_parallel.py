"""Frame-level parallelism for the evaluators.

Intra-op (OpenMP) threading of torch on a few hundred thousand pixels gains little and becomes
very slow when the cores are busy with other work (a parallel region waits for its slowest
thread). The evaluators therefore run their tensor ops single-threaded
(``single_threaded_ops``) and, on CPU, process the frames of a batch concurrently on as many
Python threads as torch had intra-op threads (torch releases the GIL inside ops). Results do
not depend on the number of threads. Pass batches to ``update`` to use several cores.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, TypeVar

import torch

__all__ = ["map_frames", "single_threaded_ops"]

T = TypeVar("T")

_POOL: ThreadPoolExecutor | None = None


@contextlib.contextmanager
def single_threaded_ops() -> Iterator[int]:
    """Run torch ops with one intra-op thread inside the block; yields the previous thread count."""
    workers = torch.get_num_threads()
    if workers <= 1:
        yield 1
        return
    torch.set_num_threads(1)
    try:
        yield workers
    finally:
        torch.set_num_threads(workers)


def map_frames(fn: Callable[[int], T], n: int, device: torch.device, workers: int) -> list[T]:
    """``[fn(i) for i in range(n)]``; on CPU with ``workers > 1`` spread over a thread pool."""
    global _POOL
    if device.type != "cpu" or n < 2 or workers < 2:
        return [fn(i) for i in range(n)]
    if _POOL is None or _POOL._max_workers != workers:
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salkd-metrics")
    return list(_POOL.map(fn, range(n)))
