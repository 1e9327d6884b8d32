"""CPU threads: how many intra-op threads salkd trains with, and the OpenMP wait policy.

Two salkd processes on one machine with torch's defaults collapse (each one 12x slower): every
process starts one thread per core, and OpenMP threads *spin* at each barrier, burning the cores the
other process needs. salkd therefore

* sets ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep instead of spinning) when ``salkd`` is
  imported, before torch starts OpenMP; child processes (papermill kernels, ``torchrun`` workers)
  inherit it. It only takes effect in this process when torch was not imported first.
* sets the thread count at its entry points (the ``salkd`` command and each new training run, so
  also in every notebook kernel) to a fixed number by default: one per core (torch's default),
  divided among the processes of a ``torchrun`` job. The count is fixed because the weights depend
  on it in the last bits, and the same command twice must give the same numbers.
* with ``SALKD_THREADS=auto``, uses the cores that other processes leave free instead, measured
  over ``0.2 s`` from ``/proc/stat`` (the 1-minute load average where that is missing), at least 1
  and at most torch's default: the fastest choice beside another heavy job, at the price of bits
  that depend on the machine's load.

It also sets glibc's malloc thresholds for child processes (:data:`MALLOC_ENV`, unless set): by default
glibc returns freed blocks above its dynamic mmap threshold to the kernel, so every large tensor of every
training step is mapped and zero-filled again. On a quick-profile skd seed (students + S_st + Ablation-O at
32x32, 2 threads, AMD EPYC) that was 0.64-1.76 M minor page faults and 7.6-12.0 s of system time; with
these settings 85 k faults, 6.3-6.6 s, and 10 % less wall time (40.9 / 43.1 s against 45.6 / 47.9 s). It
takes effect in processes started after ``import salkd`` (notebook kernels, worker processes), not in
the running one, and only with glibc (elsewhere the variables are ignored).

A resumed run keeps the thread count its checkpoint was written with, so it ends with the same bits
as an uninterrupted run. ``SALKD_THREADS=N`` (or ``OMP_NUM_THREADS=N``, read by torch itself) always
wins. :func:`record` says what was used, why, and is written to each run's ``env.json``.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Mapping

__all__ = ["set_wait_policy", "MALLOC_ENV", "choose_threads", "busy_cpus", "apply_thread_policy", "pinned_threads", "record"]

ENV_THREADS = "SALKD_THREADS"
WAIT_POLICY = "PASSIVE"

_state: dict[str, Any] = {}   # the wait policy seen at import, and the last applied choice

#: glibc malloc settings for child processes: keep freed memory (no mmap per large block, no trimming)
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 << 30), "MALLOC_TRIM_THRESHOLD_": str(64 << 30),
              "MALLOC_TOP_PAD_": str(512 << 20)}


def set_wait_policy() -> None:
    """``OMP_WAIT_POLICY=PASSIVE`` unless set; notes whether OpenMP (torch) had already started."""
    if "wait_policy" in _state:
        return
    preset = os.environ.get("OMP_WAIT_POLICY")
    late = "torch" in sys.modules and not preset
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)   # child processes get it in any case
    if not any(k in os.environ for k in MALLOC_ENV):          # the user's own malloc tuning wins
        os.environ.update(MALLOC_ENV)
    _state["wait_policy"] = "OpenMP's default (spin, then sleep)" if late else os.environ["OMP_WAIT_POLICY"]
    _state["wait_policy_set_by"] = "user" if preset else "salkd"
    _state["wait_policy_effective"] = not late


def _positive_int(name: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{name}={value!r}: expected a positive number of threads (or SALKD_THREADS=auto)")
    return n


def pinned_threads(env: Mapping[str, str] | None = None) -> tuple[int, str] | None:
    """The user's thread count, ``(n, "SALKD_THREADS=n")``, from SALKD_THREADS or OMP_NUM_THREADS; else None."""
    env = os.environ if env is None else env
    for name in (ENV_THREADS, "OMP_NUM_THREADS"):
        value = env.get(name, "").strip()
        if value:
            n = _positive_int(name, value)
            who = "a salkd worker process, salkd.workers" if env.get("SALKD_WORKER") else "set by the user"
            return n, f"{name}={n} ({who})"
    return None


def choose_threads(cpus: int, busy: float, *, limit: int | None = None, processes: int = 1) -> tuple[int, str]:
    """Threads for one of ``processes`` salkd workers on ``cpus`` cores while others keep ``busy`` cores busy."""
    limit = limit or cpus
    free = cpus - busy
    n = max(1, min(limit, cpus // max(1, processes), int(free + 0.5)))
    return n, f"{cpus} CPUs, {busy:.1f} busy with other processes -> {n} thread{'s' * (n > 1)}"


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields[:8])


def busy_cpus(cpus: int, interval: float = 0.2) -> float:
    """Cores kept busy by other processes: sampled from /proc/stat over ``interval`` (this process
    sleeps meanwhile), else the 1-minute load average; 0 when neither is available."""
    a = _cpu_times()
    if a is not None:
        time.sleep(interval)
        b = _cpu_times()
        if b is not None and b[1] > a[1]:
            return cpus * (1.0 - (b[0] - a[0]) / (b[1] - a[1]))
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def apply_thread_policy(*, keep: int | None = None, refresh: bool = False) -> dict[str, Any]:
    """Set torch's intra-op thread count by salkd's policy and return :func:`record`.

    The user's ``SALKD_THREADS=N`` / ``OMP_NUM_THREADS`` wins; else ``keep`` (a resumed run's count);
    else one thread per core (shared among torchrun's local processes); with ``SALKD_THREADS=auto``
    the choice made once per process (``refresh``: measure again) from the free cores.
    """
    import torch

    set_wait_policy()
    _state.setdefault("torch_default", torch.get_num_threads())
    auto = os.environ.get(ENV_THREADS, "").strip().lower() == "auto"
    pinned = None if auto else pinned_threads()
    if pinned is not None:
        n, reason = pinned
    elif keep:
        n, reason = int(keep), f"{keep} thread{'s' * (keep > 1)}, as when this resumed run started (same bits)"
    elif not auto:
        cpus, local = _cpus(), int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
        n = max(1, min(_state["torch_default"], cpus // max(1, local)))
        reason = (f"{n} thread{'s' * (n > 1)}: one per core{f' of {local} torchrun processes' if local > 1 else ''}"
                  " (fixed, so the same command gives the same bits; SALKD_THREADS=auto adapts to the load)")
    else:
        if refresh or "auto" not in _state:
            cpus = _cpus()
            busy = busy_cpus(cpus)
            local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
            _state["auto"] = choose_threads(cpus, busy, limit=_state["torch_default"], processes=local)
        n, reason = _state["auto"]
        reason = f"SALKD_THREADS=auto: {reason}"
    torch.set_num_threads(n)
    _state["applied"] = {"threads": n, "reason": reason}
    return record()


def record() -> dict[str, Any]:
    """What this process uses: threads, OpenMP wait policy (and whether it reached OpenMP), why; for ``env.json``."""
    import torch

    set_wait_policy()
    applied = _state.get("applied") or {"reason": "torch's default (salkd's thread policy was not applied)"}
    out: dict[str, Any] = {"threads": torch.get_num_threads(), "reason": applied["reason"],
                           "omp_wait_policy": _state["wait_policy"], "omp_wait_policy_set_by": _state["wait_policy_set_by"]}
    if not _state["wait_policy_effective"]:
        out["omp_wait_policy_note"] = ("torch was imported before salkd, so OpenMP kept its default here; "
                                       "child processes get OMP_WAIT_POLICY=PASSIVE")
    try:
        out["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    return out
