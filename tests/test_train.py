"""The training engine: loss falls, checkpoints resume exactly, complete runs are reused, DDP = 1 process."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd.runs import RunError  # noqa: E402
from salkd.train import TrainSettings, _lr_at, fit  # noqa: E402


def _settings(**kw) -> TrainSettings:
    base = dict(epochs=4, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", ckpt_every=3)
    base.update(kw)
    return TrainSettings(**base)


def test_loss_falls_and_run_folder_is_complete(tmp_path: Path) -> None:
    res = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", _settings(epochs=6),
              val_fn=lambda m: {"score": 1.0}, config={"stage": "t"})
    losses = [row["train_loss"] for row in res.history]
    assert losses[-1] < 0.7 * losses[0], losses
    for name in ("config.json", "env.json", "history.csv", "metrics.json", "checkpoint.pt"):
        assert (res.run / name).is_file(), name
    rows = list(csv.DictReader(open(res.run / "history.csv")))
    assert len(rows) == 6 and "val_score" in rows[0]


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path: Path) -> None:
    full = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "full", _settings())
    part = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings(), stop_after_steps=7)
    assert part.interrupted and not (tmp_path / "part" / "metrics.json").exists()
    # a fresh model object, as after a crash: everything comes from the checkpoint
    resumed = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings(), resume=True)
    assert not resumed.interrupted
    for (k, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert full.metrics["train_loss"] == pytest.approx(resumed.metrics["train_loss"], rel=1e-6)


def test_complete_run_is_reused_and_changed_config_refused(tmp_path: Path) -> None:
    first = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", _settings(epochs=1), config={"a": 1})
    mtime = (tmp_path / "r" / "checkpoint.pt").stat().st_mtime_ns
    again = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", _settings(epochs=1), config={"a": 1})
    assert (tmp_path / "r" / "checkpoint.pt").stat().st_mtime_ns == mtime
    assert again.metrics == first.metrics
    with pytest.raises(RunError, match="different config"):
        fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", _settings(epochs=1), config={"a": 2})
    fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", _settings(epochs=1), config={"a": 2}, force=True)


def test_best_checkpoint_follows_selected_metric(tmp_path: Path) -> None:
    scores = iter([0.1, 0.9, 0.5])
    res = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r",
              _settings(epochs=3, select_metric="s"), val_fn=lambda m: {"s": next(scores)})
    best = torch.load(res.run / "best.pt", weights_only=False)
    assert best["s"] == 0.9 and res.metrics["best"] == 0.9


def test_poly_policy_matches_fastvsod_formula() -> None:
    s = TrainSettings(lr=1e-3, lr_policy="poly", poly_power=0.9)
    assert _lr_at(s, 0, 100) == pytest.approx(1e-3)
    assert _lr_at(s, 50, 100) == pytest.approx(1e-3 * 0.5 ** 0.9)
    assert _lr_at(s, 100, 100) == 0.0


def test_nan_loss_is_reported(tmp_path: Path) -> None:
    def bad_loss(net, batch):
        return net(batch["frame"]).sum() * float("nan"), {}

    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(toy_model(), bad_loss, ToyDataset(), tmp_path / "r", _settings(epochs=1))


def test_two_process_ddp_matches_one_process(tmp_path: Path) -> None:
    script = Path(__file__).with_name("ddp_train_script.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SALKD_PROGRESS": "0"}
    subprocess.run([sys.executable, str(script), str(tmp_path / "one")], check=True, env=env, timeout=300)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                    str(script), str(tmp_path / "two")], check=True, env=env, timeout=300)
    a = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=False)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
