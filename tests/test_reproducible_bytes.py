"""Identical runs in two folders give byte-identical files (issue 24): checkpoints, history, metrics and the
table of ``salkd evaluate --csv``; wall-clock figures live in ``timings.json`` only. Runs written before
``timings.json`` (timing in ``history.csv``, ``metrics.json`` and the checkpoint) still resume and report it."""
from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd import cli  # noqa: E402
from salkd.context import Context  # noqa: E402
from salkd.papers.teachers import train_teacher  # noqa: E402
from salkd.timings import TIMING_COLUMNS, read_timings  # noqa: E402
from salkd.train import TrainSettings, fit  # noqa: E402
from salkd.train_state import save_torch  # noqa: E402
from salkd.viz import history  # noqa: E402


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_identical_runs_in_two_folders_give_identical_bytes(tmp_path: Path, capsys) -> None:
    runs = {}
    for name in ("a", "b"):
        runs[name] = train_teacher(Context(profile="smoke", runs=tmp_path / name, progress=False), "dva")
    a, b = runs["a"], runs["b"]
    assert a != b
    for f in ("checkpoint.pt", "best.pt", "history.csv", "metrics.json", "config.json"):
        assert _sha(a / f) == _sha(b / f), f
    assert not set(TIMING_COLUMNS) & set(next(csv.DictReader(open(a / "history.csv"))))
    assert read_timings(a)["train_seconds"] > 0 and len(read_timings(a)["epochs"]) == len(history(a))
    data = Context(profile="smoke", runs=tmp_path / "a").dataset_root("fixation")
    for name, run in runs.items():
        assert cli.main(["evaluate", str(run), "--data", str(data), "--csv", str(tmp_path / f"{name}.csv")]) == 0
    capsys.readouterr()
    assert _sha(tmp_path / "a.csv") == _sha(tmp_path / "b.csv")


def _settings() -> TrainSettings:
    return TrainSettings(epochs=3, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", ckpt_every=3)


def _make_old_layout(run: Path) -> None:
    """Rewrite a run stopped mid-epoch as salkd wrote it before ``timings.json``."""
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["history"] = [{**r, "seconds": 2.0, "frames_per_s": 24.0} for r in state["history"]]
    state["epoch_stats"]["seconds"] = 1.0
    save_torch(run / "checkpoint.pt", state)
    (run / "timings.json").unlink()


def test_an_old_run_with_timing_in_its_files_resumes_and_keeps_it(tmp_path: Path) -> None:
    full = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "full", _settings())
    run = tmp_path / "old"
    assert fit(toy_model(), toy_loss, ToyDataset(), run, _settings(), stop_after_steps=9).interrupted
    _make_old_layout(run)
    resumed = fit(toy_model(), toy_loss, ToyDataset(), run, _settings())
    assert _sha(run / "history.csv") == _sha(full.run / "history.csv")
    assert _sha(run / "checkpoint.pt") == _sha(full.run / "checkpoint.pt")
    epochs = read_timings(run)["epochs"]
    assert epochs[0] == {"epoch": 1, "step": 6, "seconds": 2.0, "frames_per_s": 24.0}
    assert [e["epoch"] for e in epochs] == [1, 2, 3] and epochs[1]["seconds"] >= 1.0   # the open epoch's 1 s kept
    assert resumed.timings["train_seconds"] >= 2.0 + 1.0


def test_timings_of_a_finished_old_run_are_read_from_its_history_and_metrics(tmp_path: Path) -> None:
    run = tmp_path / "old"
    run.mkdir()
    (run / "history.csv").write_text("epoch,step,lr,seconds,frames_per_s,train_loss\n"
                                     "1,6,0.01,2.5,19.2,0.5\n2,12,0.01,2.0,24.0,0.4\n")
    (run / "metrics.json").write_text(json.dumps({"steps": 12, "train_seconds": 4.5, "train_frames_per_s": 24.0}))
    t = read_timings(run)
    assert [(e["epoch"], e["seconds"]) for e in t["epochs"]] == [(1, 2.5), (2, 2.0)]
    assert (t["train_seconds"], t["train_frames_per_s"]) == (4.5, 24.0)
    assert list(history(run)["seconds"]) == [2.5, 2.0]                        # the old columns as they were
    (run / "history.csv").write_text("epoch,step,lr,train_loss\n1,6,0.01,0.5\n")
    (run / "timings.json").write_text(json.dumps({"epochs": [{"epoch": 1, "step": 6, "seconds": 3.0,
                                                              "frames_per_s": 16.0}]}))
    assert list(history(run)["frames_per_s"]) == [16.0]                       # merged from timings.json
    assert read_timings(tmp_path / "nothing") == {"epochs": [], "open_epoch": None, "train_seconds": None,
                                                  "train_frames_per_s": None}
