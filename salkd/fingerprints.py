"""Content fingerprints of files and folders, cached per file by (size, mtime) so that a check stays fast.

:func:`file_sha256` hashes a file's bytes; :func:`tree_sha256` hashes every file under a folder (names
and contents). Both keep the hashes in ``<cache>/fingerprints/<folder key>.json`` keyed by the file's
path relative to its folder, and trust an entry only while the file's size and ``mtime_ns`` are
unchanged: a second check of an unchanged dataset only ``stat``s its files. A file modified within
the last :data:`RACY_SECONDS` is hashed again next time (its mtime may not yet tell a later edit apart).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Iterator, Sequence

from salkd import paths
from salkd.atomic import write_json

__all__ = ["file_sha256", "tree_sha256", "dataset_files", "RACY_SECONDS"]

#: entries of files modified this recently are not kept (coarse file-system clocks)
RACY_SECONDS = 2.0

_CHUNK = 1 << 20


def _hash_bytes(path: Path) -> str:
    """SHA256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class _Cache:
    """The stored hashes of the files under one folder: ``{rel: [size, mtime_ns, sha256]}``."""

    def __init__(self, folder: Path) -> None:
        key = hashlib.sha256(os.path.abspath(folder).encode()).hexdigest()[:16]
        self.path = paths.cache_dir() / "fingerprints" / f"{key}.json"
        self.entries: dict[str, list] = {}
        self.changed = False
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def sha256(self, file: Path, rel: str) -> str:
        """The hash of ``file`` (its stored one while size and mtime are unchanged)."""
        st = os.stat(file)
        got = self.entries.get(rel)
        if got is not None and got[0] == st.st_size and got[1] == st.st_mtime_ns:
            return str(got[2])
        digest = _hash_bytes(file)
        if st.st_mtime_ns < (time.time() - RACY_SECONDS) * 1e9:
            self.entries[rel] = [st.st_size, st.st_mtime_ns, digest]
            self.changed = True
        elif rel in self.entries:
            del self.entries[rel]
            self.changed = True
        return digest

    def save(self) -> None:
        """Write the hashes back when any changed (a cache that cannot be written is only slower)."""
        if self.changed:
            try:
                write_json(self.path, self.entries)
            except OSError:
                pass


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA256 of a file's bytes, cached by its size and mtime."""
    p = Path(path)
    cache = _Cache(p.parent)
    digest = cache.sha256(p, p.name)
    cache.save()
    return digest


def dataset_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(path relative to root, path)`` of every file under ``root`` (hidden ones left out)."""
    if root.is_file():
        yield root.name, root
        return
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                p = os.path.join(folder, name)
                yield Path(os.path.relpath(p, root)).as_posix(), Path(p)


def tree_sha256(roots: Sequence[str | os.PathLike]) -> str:
    """A content key of folders: the relative name and SHA256 of every (non-hidden) file under each root.
    A copy of the folders elsewhere gives the same key; adding, removing, renaming or editing a file
    (even to the same size) changes it."""
    h = hashlib.sha256()
    for root in roots:
        root = Path(root)
        h.update(b"\0")
        cache = _Cache(root if root.is_dir() else root.parent)
        try:
            for rel, p in sorted(dataset_files(root)):
                h.update(f"{rel}\t{cache.sha256(p, rel)}\n".encode())
        finally:
            cache.save()
    return h.hexdigest()[:16]
