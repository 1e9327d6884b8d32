"""Atomic file output: a file appears complete or not at all.

Every writer in salkd goes through these helpers: data is written to a temporary
name in the destination folder, flushed, then renamed over the target (``os.replace``
is atomic on POSIX and Windows when source and target share a file system).
Files and folders get the modes of a plain ``open`` / ``mkdir`` (``0o666`` / ``0o777`` less the
umask), not the private ``0o600`` / ``0o700`` of ``mkstemp`` / ``mkdtemp``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["atomic_path", "atomic_dir", "write_json", "write_text", "write_bytes", "save_npy", "remove_stale_temps",
           "remove_stale_file_temps"]


def _new_file(path: Path) -> None:
    """Create an empty file; the kernel applies the umask to mode 0o666 (mkstemp would force 0o600)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _new_dir(path: Path) -> None:
    """Create a folder; the kernel applies the umask to mode 0o777 (mkdtemp would force 0o700)."""
    os.mkdir(path, 0o777)


def _create_unique(parent: Path, prefix: str, suffix: str, make: Callable[[Path], None]) -> Path:
    """``parent/<prefix><random hex><suffix>``, created by ``make`` under a name no one else holds."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            make(path)
            return path
        except FileExistsError:
            continue
        except OSError as exc:  # a read-only or full folder: name the folder, not the temporary name
            raise OSError(exc.errno, exc.strerror, str(parent)) from exc
    raise FileExistsError(f"no free temporary name {prefix}*{suffix} in {parent}")


def _temp_prefix(target: Path) -> str:
    """Temporary names of ``target``: ``.<name>.<pid>.<hex>.tmp...``, so that a leftover names its owner."""
    return f".{target.name}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists (on this machine)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


#: leftovers of :func:`atomic_dir` beside its target (after the ``.<name>.`` prefix): a temporary folder
#: with its owner's pid, one of an older salkd (``mkdtemp``, no owner) and a replaced folder
_LEFTOVERS = (re.compile(r"(?P<pid>\d+)\.[0-9a-f]{8}\.tmp"), re.compile(r"[a-z0-9_]{8}\.tmp"),
              re.compile(r"old-(?P<pid>\d+)"))


def _stale(rest: str) -> bool:
    """True when ``.<name>.<rest>`` is a leftover of :func:`atomic_dir` whose owner is gone (or unknown)."""
    for pattern in _LEFTOVERS:
        m = pattern.fullmatch(rest)
        if m:
            pid = m.groupdict().get("pid")
            return pid is None or not _pid_alive(int(pid))
    return False


def remove_stale_temps(target: str | os.PathLike) -> list[Path]:
    """Remove the leftovers of killed :func:`atomic_dir` writers of ``target`` (hidden ``.<name>.*.tmp``
    folders beside it) whose process is gone or unknown; returns what was removed.

    Call it while holding ``target``'s lock (:func:`salkd.locks.locked`): a writer that takes the lock is
    then never running, and one that does not is spared while its process lives.
    """
    target = Path(target)
    head = f".{target.name}."
    if not target.parent.is_dir():
        return []
    removed = []
    for entry in target.parent.iterdir():
        if entry.name.startswith(head) and _stale(entry.name[len(head):]):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def remove_stale_file_temps(target: str | os.PathLike) -> list[Path]:
    """Remove the leftovers of killed :func:`atomic_path` writers of ``target``
    (``.<stem>.<pid>.<hex>.tmp<suffix>`` beside it) whose process is gone; returns what was removed."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(target.stem)}\.(?P<pid>\d+)\.[0-9a-f]{{8}}\.tmp{re.escape(target.suffix)}")
    removed = []
    for entry in target.parent.iterdir():
        m = pattern.fullmatch(entry.name)
        if m and not _pid_alive(int(m["pid"])) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``.

    The temporary name keeps the target's suffix (``suffix`` overrides it) so that
    writers that pick a format from the extension (``cv2.imwrite``, ``np.save``) work.
    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sfx = target.suffix if suffix is None else suffix
    tmp_path = _create_unique(target.parent, f".{target.stem}.{os.getpid()}.", f".tmp{sfx}", _new_file)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success it replaces ``path`` whole."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_unique(target.parent, _temp_prefix(target), ".tmp", _new_dir)
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, shown: str | os.PathLike | None = None) -> Path:
    """Write ``data`` to ``path`` atomically with Python's file API. An OS error (a full disk, no permission)
    names ``shown`` (default ``path``), not the temporary file; one on a parent folder names that folder."""
    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
    except OSError as exc:
        where = exc.filename
        if exc.errno is None or (where is not None and Path(os.fsdecode(where)) in target.parents):
            raise
        raise OSError(exc.errno, exc.strerror, str(shown or target)) from exc
    return target


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8); an OS error names ``path`` (:func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def save_npy(path: str | os.PathLike, array: Any) -> Path:
    """``np.save`` atomically (the path should end in ``.npy``)."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(array))
    return Path(path)
