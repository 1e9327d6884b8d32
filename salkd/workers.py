"""Independent training runs side by side in worker processes, one torch thread each.

The students of skd and uvanet and fastvsod's stage-2 heads are small: at 32x32 and batch 32 a second
thread adds little to a training step, while a second *process* doubles the work done. Measured on the
2-core AMD EPYC (quick profile, one skd seed: two students, S_st and Ablation-O, each evaluated): two
seeds one after the other on 2 threads took 2 x 42-44 s, the same two seeds in two 1-thread processes
44.7 s together.

:func:`train_side_by_side` takes independent jobs (each training seed of an ablation, each teacher of a
table) and runs the first in this process, then the others in ``workers`` processes (the profile's
``workers`` key; ``spawn``, one torch thread each, progress bars off). The caller then runs its loop as
before: every run is complete, so the loop only reuses and evaluates (evaluations are cached in the run
folders, so the workers' evaluations are reused too). With ``workers`` 1, on CUDA, with ``RETRAIN``
(``force``), or with one job, it does nothing and the loop trains as it always did.

Reproducibility: a run's bits depend on the thread count it trained with. The number of workers is a
setting of the profile and every worker uses exactly one thread, so the same command on the same machine
gives the same numbers; the first job of each call trains in this process with its usual threads, as
without workers. A failing job stops the call with the worker's exception (the other jobs finish their
current run first); complete runs are kept and reused by the next call, as always.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

__all__ = ["train_side_by_side", "worker_count", "context_args"]


def worker_count(ctx: Any, jobs: int) -> int:
    """How many worker processes :func:`train_side_by_side` starts for ``jobs`` jobs (0: none, the caller's
    loop trains): the profile's ``workers`` (at most ``jobs - 1``), 0 on CUDA, with ``force`` or ``workers`` 1."""
    from salkd.device import resolve_device

    n = int(ctx.cfg.get("workers", 1) or 1)
    if n <= 1 or jobs <= 1 or ctx.force or resolve_device(str(ctx.device)).type != "cpu":
        return 0
    return min(n, jobs - 1)


def context_args(ctx: Any) -> dict[str, Any]:
    """Plain arguments that rebuild ``ctx`` in another process (progress bars off)."""
    return {"profile": ctx.profile, "data": None if ctx.data is None else {k: str(v) for k, v in ctx.data.items()},
            "runs": str(ctx.runs_root), "overrides": None if ctx.overrides is None else dict(ctx.overrides),
            "seed": int(ctx.seed), "device": str(ctx.device), "force": False, "progress": False,
            "data_seed": int(ctx.data_seed)}


def _init_worker() -> None:
    os.environ["SALKD_THREADS"] = "1"     # every run this worker trains uses one thread (salkd.threads)
    os.environ["SALKD_WORKER"] = "1"      # env.json says so
    import torch

    torch.set_num_threads(1)


def _run_job(fn: Callable[..., Any], ctx_args: dict[str, Any], args: tuple[Any, ...]) -> None:
    from salkd.context import Context

    ctx = Context(**ctx_args)
    fn(ctx, *args)


def train_side_by_side(fn: Callable[..., Any], jobs: Sequence[tuple[Any, tuple[Any, ...]]]) -> int:
    """Run ``fn(ctx, *args)`` for each ``(ctx, args)`` of ``jobs``: the first here, the rest in
    :func:`worker_count` worker processes; returns that count (0: nothing was run, train in the caller's
    loop). ``fn`` must be a module-level function (it is pickled by name) and its results are not returned:
    the caller's loop collects them from the complete runs."""
    jobs = list(jobs)
    if not jobs:
        return 0
    n = worker_count(jobs[0][0], len(jobs))
    if n == 0:
        return 0
    first_ctx, first_args = jobs[0]
    fn(first_ctx, *first_args)   # upstream runs shared by every job (teachers, stage 1) are made here, once
    rest = jobs[1:]
    print(f"training {len(rest)} more job(s) in {n} worker process(es), one thread each", flush=True)
    pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)
    try:
        futures = [pool.submit(_run_job, fn, context_args(c), tuple(a)) for c, a in rest]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            if f in done and f.exception() is not None:
                for g in futures:
                    g.cancel()
                raise f.exception()  # type: ignore[misc]
        for f in futures:
            f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return n
