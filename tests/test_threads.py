"""salkd's CPU thread policy (salkd.threads) is applied at its entry points and recorded in env.json.

No timing is asserted here: the policy's effect on throughput was measured by hand (see the note of
issue 14); these tests check the choice, the user's override, that OMP_WAIT_POLICY reaches OpenMP
(libgomp prints its spin count with OMP_DISPLAY_ENV=VERBOSE) and that a resumed run keeps its thread count.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd import cli, threads  # noqa: E402
from salkd.train import TrainSettings, fit  # noqa: E402


@pytest.fixture
def unpinned(monkeypatch):
    """No user override; torch's thread count and the process's cached choice restored afterwards."""
    monkeypatch.delenv("SALKD_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before, state = torch.get_num_threads(), dict(threads._state)
    threads._state.pop("auto", None)
    yield
    torch.set_num_threads(before)
    threads._state.clear()
    threads._state.update(state)


def test_free_cores_decide_and_the_user_wins():
    assert threads.choose_threads(2, 0.1)[0] == 2
    assert threads.choose_threads(2, 1.2)[0] == 1                # one core taken by another process
    assert threads.choose_threads(2, 3.5)[0] == 1                # never 0
    assert threads.choose_threads(8, 0.0, limit=4)[0] == 4       # at most torch's default
    assert threads.choose_threads(8, 0.0, processes=4)[0] == 2   # torchrun: a share per local process
    assert "2 CPUs, 1.2 busy with other processes -> 1 thread" == threads.choose_threads(2, 1.2)[1]
    assert threads.pinned_threads({"SALKD_THREADS": "3", "OMP_NUM_THREADS": "1"}) == (3, "SALKD_THREADS=3 (set by the user)")
    assert threads.pinned_threads({"OMP_NUM_THREADS": "1"})[0] == 1
    assert threads.pinned_threads({}) is None
    with pytest.raises(ValueError, match="SALKD_THREADS='0'"):
        threads.pinned_threads({"SALKD_THREADS": "0"})


def test_busy_cpus_is_a_sane_number():
    busy = threads.busy_cpus(os.cpu_count() or 1, interval=0.05)
    assert 0.0 <= busy <= 4 * (os.cpu_count() or 1) + 8


def test_default_count_is_fixed_whatever_the_load(tmp_path, monkeypatch, unpinned):
    """Without SALKD_THREADS the count does not follow the load: the same command, the same bits."""
    monkeypatch.setattr(threads, "busy_cpus", lambda cpus, interval=0.2: pytest.fail("load read without auto"))
    rec = threads.apply_thread_policy()
    assert rec["threads"] == threads._state["torch_default"] and "fixed" in rec["reason"]


def test_policy_applied_by_training_recorded_and_kept_on_resume(tmp_path, monkeypatch, unpinned):
    s = TrainSettings(epochs=2, batch_size=8, seed=1, progress=False, device="cpu", ckpt_every=3)
    monkeypatch.setenv("SALKD_THREADS", "auto")
    monkeypatch.setattr(threads, "busy_cpus", lambda cpus, interval=0.2: cpus - 1.0)   # one core free
    part = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", s, stop_after_steps=4)
    env = json.loads((tmp_path / "r" / "env.json").read_text())["threads"]
    assert env["threads"] == 1 and "busy with other processes -> 1 thread" in env["reason"]
    assert env["omp_wait_policy"] and "omp_wait_policy_set_by" in env
    assert torch.load(part.run / "checkpoint.pt", weights_only=True)["threads"] == 1

    monkeypatch.setattr(threads, "busy_cpus", lambda cpus, interval=0.2: 0.0)          # the machine is idle now
    threads._state.pop("auto", None)
    fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", s)
    env = json.loads((tmp_path / "r" / "env.json").read_text())["threads"]
    assert env["threads"] == 1 and "as when this resumed run started" in env["reason"]

    monkeypatch.setenv("SALKD_THREADS", "1")
    fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "pinned", s)
    env = json.loads((tmp_path / "pinned" / "env.json").read_text())["threads"]
    assert env["threads"] == 1 and env["reason"] == "SALKD_THREADS=1 (set by the user)"


def test_the_command_line_applies_the_policy(monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "apply_thread_policy", lambda **kw: calls.append(kw) or {})
    monkeypatch.setattr(cli, "_cmd_evaluate", lambda a: 0)
    assert cli.main(["evaluate", "run", "--data", "x"]) == 0
    assert calls == [{}]


_CHILD = textwrap.dedent("""
    import json, os, subprocess, sys
    import salkd                      # before torch: sets OMP_WAIT_POLICY for OpenMP and child processes
    import torch
    from salkd.runs import environment
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['OMP_WAIT_POLICY'])"],
                           capture_output=True, text=True).stdout.strip()
    print(json.dumps({"env": environment()["threads"], "child": child, "threads": torch.get_num_threads()}))
""")


def test_wait_policy_reaches_openmp_and_child_processes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "SALKD_THREADS")}
    env.update(OMP_DISPLAY_ENV="VERBOSE", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "GOMP_SPINCOUNT = '0'" in out.stderr        # libgomp's own report: PASSIVE, threads never spin
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["child"] == "PASSIVE" and got["threads"] == 1
    assert got["env"]["omp_wait_policy"] == "PASSIVE" and got["env"]["omp_wait_policy_set_by"] == "salkd"

    late = subprocess.run([sys.executable, "-c", "import torch, salkd; from salkd.threads import record; "
                           "print(record()['omp_wait_policy'])"], capture_output=True, text=True, env=env, timeout=120)
    assert "GOMP_SPINCOUNT = '0'" not in late.stderr and late.stdout.strip().startswith("OpenMP's default")


def test_child_processes_get_the_malloc_settings_unless_the_user_set_any(tmp_path):
    """glibc's malloc thresholds reach child processes (kernels, seed workers); a user's own MALLOC_* wins."""
    from salkd.threads import MALLOC_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    code = ("import os, subprocess, sys, salkd; print(subprocess.run([sys.executable, '-c', 'import os; "
            "print(os.environ.get(\"MALLOC_MMAP_THRESHOLD_\"), os.environ.get(\"MALLOC_TOP_PAD_\"))'], "
            "capture_output=True, text=True).stdout.strip())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == [MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"], MALLOC_ENV["MALLOC_TOP_PAD_"]], out.stderr
    env["MALLOC_TOP_PAD_"] = "0"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["None", "0"]
