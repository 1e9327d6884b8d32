"""salkd.workers: independent runs (the seeds of an ablation) trained side by side in 1-thread worker processes."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from salkd import workers
from salkd.context import Context

SMALL = {"seeds": 2, "workers": 2, "skd.mu_sweep": [0.5], "skd.epochs": 1, "skd.st_epochs": 1}


def _threads(run: Path) -> tuple[int, str]:
    t = json.loads((Path(run) / "env.json").read_text())["threads"]
    return int(t["threads"]), str(t["reason"])


def test_seeds_train_in_workers_with_one_thread_and_the_same_numbers_twice(tmp_path: Path) -> None:
    from salkd.papers import skd

    tables = []
    for k in range(2):
        ctx = Context(profile="smoke", runs=tmp_path / f"runs{k}", progress=False, overrides=SMALL)
        assert workers.worker_count(ctx, 2) == 1
        t4 = skd.run_ablations(ctx)["table4"]
        tables.append(t4)
        runs = {(int(r.seed), r.variant): Path(r.run) for r in t4.itertuples()}
        for variant in ("full", "Ablation-O"):   # trained in a worker: one thread, pinned by the worker
            assert _threads(runs[(1, variant)]) == (1, "SALKD_THREADS=1 (a salkd worker process, salkd.workers)")
            assert "worker" not in _threads(runs[(0, variant)])[1]   # seed 0: trained in this process
        assert runs[(1, "full")].name.endswith("-seed1")
    cols = ["seed", "variant", "nss", "cc"]
    pd.testing.assert_frame_equal(tables[0][cols].reset_index(drop=True), tables[1][cols].reset_index(drop=True))


def _fails(ctx: Context, what: str) -> None:
    if ctx.seed == 1:
        raise RuntimeError(f"job {what} failed in seed {ctx.seed}")


def test_a_failing_job_stops_the_call_with_its_error(tmp_path: Path) -> None:
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False, overrides={"seeds": 3, "workers": 2})
    with pytest.raises(RuntimeError, match="job x failed in seed 1"):
        workers.train_side_by_side(_fails, [(c, ("x",)) for c in ctx.seeds()])


def test_no_workers_when_the_profile_says_one_or_on_retrain(tmp_path: Path) -> None:
    one = Context(profile="smoke", runs=tmp_path / "runs", progress=False)
    assert workers.worker_count(one, 3) == 0 and workers.train_side_by_side(_fails, [(one, ("x",))] * 3) == 0
    forced = Context(profile="smoke", runs=tmp_path / "runs", progress=False, overrides={"workers": 2}, force=True)
    assert workers.worker_count(forced, 3) == 0
    two = Context(profile="smoke", runs=tmp_path / "runs", progress=False, overrides={"workers": 4})
    assert workers.worker_count(two, 3) == 2 and workers.worker_count(two, 1) == 0
