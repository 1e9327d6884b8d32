"""Locks on run folders and generated data: two processes never write the same run or dataset at once."""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import Iterator

__all__ = ["BusyError", "locked"]

#: the locks this process holds: ``(lock file, thread id)``
_HELD: set[tuple[str, int]] = set()


class BusyError(RuntimeError):
    """Another process holds the lock of a run folder or dataset."""


@contextlib.contextmanager
def locked(path: str | os.PathLike, *, wait: bool, what: str = "folder") -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (beside ``path``) while the block runs.

    ``wait=False``: raise :class:`BusyError` naming the holder's pid when another process has it (a second
    ``salkd train`` of the same run stops with a clear message); ``wait=True``: block until it is free (a
    second process generating the same dataset waits, then finds it made). The lock is released when the
    block ends or the process dies (``flock``). Re-entrant: a thread that holds the lock already (a dataset
    generator called by a stage that locked the dataset) goes on without waiting for itself.
    """
    lock = Path(f"{Path(path)}.lock")
    key = (os.path.abspath(lock), threading.get_ident())
    if key in _HELD:
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise BusyError(f"{what} {path} is in use by another salkd process (pid {holder}); wait for it to "
                            f"finish, or use another run name / --out folder") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            fcntl.flock(f, fcntl.LOCK_UN)
