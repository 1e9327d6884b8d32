"""A run resumed inside an epoch reports the epoch's train loss (``history.csv``), seconds and frames/s
(``timings.json``) over all its steps."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd.timings import read_timings  # noqa: E402
from salkd.train import TrainingInterrupted, TrainSettings, fit  # noqa: E402

_TIMING = {"seconds", "frames_per_s"}
_FRAMES_PER_EPOCH = 48   # ToyDataset(): 48 samples, batch 8 -> 6 steps per epoch


def _settings() -> TrainSettings:
    return TrainSettings(epochs=3, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", ckpt_every=3)


def _rows(run: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(run / "history.csv")))


def _check_same_history(full: Path, resumed: Path) -> None:
    """Same rows, none with timing; every epoch's frames/s counts all its frames (seconds * frames/s = 48)."""
    a, b = _rows(full), _rows(resumed)
    assert a == b and not _TIMING & set(a[0])
    epochs = read_timings(resumed)["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for e in epochs:
        assert float(e["seconds"]) * float(e["frames_per_s"]) == pytest.approx(_FRAMES_PER_EPOCH, rel=0.05, abs=0.5)


@pytest.mark.parametrize("stop", [8, 6, 18])  # mid-epoch; after an epoch's last step; after the last step
def test_resumed_history_equals_uninterrupted(tmp_path: Path, stop: int) -> None:
    full = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "full", _settings())
    part = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings(), stop_after_steps=stop)
    assert part.interrupted
    saved = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)["epoch_stats"]
    assert saved["seen"] == 8 * (stop - 6 * ((stop - 1) // 6)) and "seconds" not in saved
    assert read_timings(tmp_path / "part")["open_epoch"]["seconds"] > 0
    resumed = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings())
    _check_same_history(full.run, resumed.run)
    assert resumed.metrics["train_loss"] == full.metrics["train_loss"]
    assert resumed.metrics["epochs"] == 3 and resumed.timings["train_frames_per_s"] > 0
    assert resumed.timings["train_seconds"] == pytest.approx(sum(e["seconds"] for e in resumed.timings["epochs"]))
    assert read_timings(resumed.run)["train_seconds"] == pytest.approx(resumed.timings["train_seconds"])


def test_ctrl_c_mid_epoch_resumes_from_the_last_checkpoint(tmp_path: Path, capsys) -> None:
    """A real interruption (Ctrl-C at step 10, last checkpoint at step 9): TrainingInterrupted says where
    it stopped and resumes; the rerun prints where it resumes and its history equals an uninterrupted run."""
    calls = {"n": 0}

    def interrupted_loss(net, batch):
        calls["n"] += 1
        if calls["n"] == 11:     # during step 11, after 10 finished steps
            raise KeyboardInterrupt
        return toy_loss(net, batch)

    full = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "full", _settings())
    with pytest.raises(TrainingInterrupted) as info:
        fit(toy_model(), interrupted_loss, ToyDataset(), tmp_path / "part", _settings())
    assert (info.value.step, info.value.resume_step) == (10, 9)
    assert str(info.value) == (f"interrupted at step 10 of {tmp_path / 'part'}; rerun the same command to resume "
                               f"from step 9")
    capsys.readouterr()
    resumed = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings())
    assert f"{tmp_path / 'part'}: resuming from step 9 of 18" in capsys.readouterr().err
    _check_same_history(full.run, resumed.run)
    for (k, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k


def test_trained_since_sums_the_runs_written_after_the_call_started(tmp_path):
    import json
    import os
    import time

    from salkd.reproduce import Outcome, _summary
    from salkd.timings import trained_since

    def run(name: str, epochs: list[tuple[float, float]], mtime: float) -> None:
        d = tmp_path / "stage" / name
        d.mkdir(parents=True)
        f = d / "timings.json"
        f.write_text(json.dumps({"epochs": [{"epoch": i + 1, "step": 1, "seconds": s, "frames_per_s": fps}
                                            for i, (s, fps) in enumerate(epochs)]}))
        os.utime(f, (mtime, mtime))

    now = time.time()
    run("old", [(100.0, 10.0)], now - 3600)          # trained before the call: not counted
    run("a", [(10.0, 100.0), (30.0, 200.0)], now)    # 1,000 + 6,000 frames in 40 s
    run("b", [(60.0, 50.0)], now)                    # 3,000 frames in 60 s
    got = trained_since(tmp_path, now - 60)
    assert got["runs"] == 2 and got["seconds"] == 100.0 and got["frames_per_s"] == 100.0
    assert trained_since(tmp_path / "none", now)["runs"] == 0
    text = _summary([Outcome("00_data", "ran", 30.0), Outcome("06_ablations", "ran", 90.0)], got)
    last = text.splitlines()[-1]
    assert "slowest 06_ablations 90 s (75%)" in last and "2 runs trained" in last and "100 frames/s" in last
