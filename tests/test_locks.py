"""Locks leave no ``.lock`` file behind and still exclude each other (issue 24: refused commands left lock files)."""
from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from salkd.locks import locked


def test_no_lock_file_stays_after_the_block_or_an_error(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    with locked(target, wait=False):
        assert (tmp_path / "dataset.lock").is_file()
    assert not (tmp_path / "dataset.lock").exists()
    with pytest.raises(ValueError):
        with locked(target, wait=True):
            raise ValueError("a refused setting")
    assert list(tmp_path.iterdir()) == []


def _add(counter: str, n: int) -> None:
    for _ in range(n):
        with locked(counter, wait=True):
            p = Path(counter)
            value = int(p.read_text()) if p.exists() else 0
            p.write_text(str(value + 1))


def test_processes_still_take_turns_when_lock_files_are_removed(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    procs = [mp.get_context("fork").Process(target=_add, args=(str(counter), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert int(counter.read_text()) == 100 and not (tmp_path / "count.lock").exists()
