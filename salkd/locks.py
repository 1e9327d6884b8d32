"""Locks on run folders and generated data: two processes never write the same run or dataset at once."""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import IO, Iterator

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
    block ends or the process dies (``flock``); the lock file is removed when the block ends, so no
    ``.lock`` file stays behind a finished or refused command. Re-entrant: a thread that holds the lock
    already (a dataset generator called by a stage that locked the dataset) goes on without waiting for itself.
    """
    lock = Path(f"{Path(path)}.lock")
    key = (os.path.abspath(lock), threading.get_ident())
    if key in _HELD:
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    f = _acquire(lock, path, wait, what)
    try:
        with contextlib.suppress(OSError):   # the holder's pid only serves messages: a full disk goes without it
            os.ftruncate(f.fileno(), 0)
            os.write(f.fileno(), str(os.getpid()).encode())
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            with contextlib.suppress(OSError):   # removed while held: a waiter then sees a stale inode and retries
                lock.unlink()
            fcntl.flock(f, fcntl.LOCK_UN)
    finally:
        f.close()


def _acquire(lock: Path, path: str | os.PathLike, wait: bool, what: str) -> IO[str]:
    """Open and ``flock`` ``lock``; retried until the locked file is the one at ``lock`` (a holder removes the
    file when it is done, so a waiter may have locked a file no longer there)."""
    while True:
        f = open(lock, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            f.close()
            raise BusyError(f"{what} {path} is in use by another salkd process (pid {holder}); wait for it to "
                            f"finish, or use another run name / --out folder") from None
        except BaseException:
            f.close()
            raise
        try:
            same = os.stat(lock).st_ino == os.fstat(f.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return f
        f.close()
