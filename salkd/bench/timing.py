"""Timing of inference calls: :func:`time_call` (one process, median of rounds) and
:func:`time_onnx_processes` (several 1-thread ONNX Runtime processes, one per core, started together).

Used by the runtimes (:mod:`salkd.bench.runtime`, which re-exports both), the peak measurement
(:mod:`salkd.bench.machine`) and the model benchmark (:mod:`salkd.bench.models`).
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import statistics
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = ["time_call", "time_onnx_processes"]

ArrayLike = Any  # np.ndarray | torch.Tensor


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
