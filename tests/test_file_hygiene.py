"""Files honour the umask, a killed dataset generation leaves nothing behind for long, and a teacher run
keeps only the knowledge of its current key (issue 14, item 10)."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from salkd.atomic import atomic_dir, remove_stale_temps, save_npy, write_text
from salkd.data.synthetic import make_dataset
from salkd.locks import locked


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test (restored after it)."""
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_outputs_honour_the_umask(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    text = write_text(tmp_path / "a" / "x.json", "{}")
    arr = save_npy(tmp_path / "a" / "y.npy", np.zeros(3))
    with atomic_dir(tmp_path / "folder") as tmp:
        (tmp / "inside.txt").write_text("1")
    assert _mode(text) == _mode(arr) == 0o666 & ~mask
    assert _mode(tmp_path / "folder") == 0o777 & ~mask
    root = make_dataset(tmp_path / "ds", kind="vsod", n_videos=1, n_frames=1, size=(16, 16), progress=False)
    assert _mode(root) == 0o777 & ~mask
    assert {_mode(p) for p in root.rglob("*") if p.is_file()} == {0o666 & ~mask}


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporary_folders_of_the_target_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    dead = tmp_path / f".ds.{_dead_pid()}.0badf00d.tmp"         # a killed generation
    older = tmp_path / ".ds.k2_x9abz.tmp"                          # an older salkd's mkdtemp folder
    replaced = tmp_path / f".ds.old-{_dead_pid()}"                 # killed between the two renames
    alive = tmp_path / f".ds.{os.getppid()}.12345678.tmp"          # its writer still runs: spared
    other = tmp_path / f".ds2.{_dead_pid()}.0badf00d.tmp"          # another target's
    for d in (dead, older, replaced, alive, other):
        (d / "0001").mkdir(parents=True)
    make_dataset(root, kind="vsod", n_videos=1, n_frames=1, size=(16, 16), progress=False)
    assert not dead.exists() and not older.exists() and not replaced.exists()
    assert alive.exists() and other.exists()
    assert (root / "salkd_synthetic.json").is_file()
    assert remove_stale_temps(root) == []


def test_a_killed_synth_leaves_its_folder_only_until_the_next_generation(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, "-m", "salkd.cli", "synth", str(root), "--kind", "vsod",
                             "--videos", "400", "--frames", "4", "--size", "32", "32"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(tmp_path.glob(".ds.*.tmp/0001")) and time.monotonic() < deadline:
            assert proc.poll() is None, "salkd synth ended before it could be killed"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(list(tmp_path.glob(".ds.*.tmp"))) == 1 and not root.exists()
    make_dataset(root, kind="vsod", n_videos=1, n_frames=1, size=(16, 16), progress=False)
    assert list(tmp_path.glob(".ds.*")) == [] and (root / "salkd_synthetic.json").is_file()


def test_a_new_knowledge_key_removes_the_old_ones_of_its_split(tmp_path: Path) -> None:
    import torch

    from salkd.context import Context
    from salkd.models import build
    from salkd.papers.teachers import teacher_knowledge, train_teacher

    torch.manual_seed(3)
    torch.save(build("teacher_dva", width=0.25).state_dict(), tmp_path / "dva.pth")
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(tmp_path / "dva.pth")}})
    run = train_teacher(ctx, "dva")
    teacher_knowledge(ctx, run, 32)
    teacher_knowledge(ctx, run, 16, split="val")
    (old,) = (run / "knowledge").glob("train-*")
    assert (old / "32x32").is_dir()
    ck = run / "checkpoint.pt"
    os.utime(ck, ns=(ck.stat().st_atime_ns, ck.stat().st_mtime_ns + 10**9))  # the teacher changed: a new key

    done = threading.Event()
    worker = threading.Thread(target=lambda: (teacher_knowledge(ctx, run, 32), done.set()))
    with locked(run, wait=True):         # another writer holds the run: nothing is written or removed
        worker.start()
        time.sleep(1.0)
        assert not done.is_set() and old.is_dir()
    worker.join(120)
    assert done.is_set()
    (new,) = (run / "knowledge").glob("train-*")
    assert new != old and not old.exists() and (new / "32x32").is_dir()
    assert len(list((run / "knowledge").glob("val-*"))) == 1      # another split's knowledge stays
    maps = teacher_knowledge(ctx, run, 32)                          # read back, nothing removed
    assert all(m.shape[1:] == (32, 32) for m in maps.values())
    assert list((run / "knowledge").glob("train-*")) == [new]
