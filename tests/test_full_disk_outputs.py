"""A full disk while writing any output names that output (issue 24): tables and JSON files, the lock of a run
folder (no lock file stays), predict's overlay video."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import torch

from salkd import atomic, cli
from salkd.locks import locked
from data_fixtures import FullDisk  # noqa: E402


def test_text_and_json_writes_name_their_file_not_a_temporary_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)
    for write in (atomic.write_text, atomic.write_json):
        with pytest.raises(OSError) as info:
            write(tmp_path / "t.csv", "x")
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


class _NoSpaceFile:
    """A real open file whose writes fail as on a full disk."""

    def __init__(self, f) -> None:
        self.f = f

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    flush = write

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_a_lock_on_a_full_disk_works_and_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr("salkd.locks.open", lambda *a, **k: _NoSpaceFile(open(*a, **k)), raising=False)
    with locked(tmp_path / "run", wait=False):
        assert (tmp_path / "run.lock").is_file()
    assert list(tmp_path.iterdir()) == []


def test_evaluate_csv_on_a_full_disk_is_one_line_naming_it(tmp_path: Path, monkeypatch, capsys) -> None:
    import pandas as pd

    monkeypatch.setattr("salkd.evaluate.evaluate", lambda *a, **k: pd.DataFrame({"nss": [1.0]}, index=["overall"]))
    monkeypatch.setattr("salkd.data.open_dataset", lambda *a, **k: None)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"res": 32}))
    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)
    assert cli.main(["evaluate", str(run), "--data", str(tmp_path), "--csv", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"salkd: error: no space left on device while writing {tmp_path / 't.csv'}; free space and "
                        f"rerun to resume\n"), err


def test_a_video_writer_that_cannot_open_on_a_full_disk_says_so(tmp_path: Path, monkeypatch, capsys) -> None:
    import cv2

    from salkd.models import build

    model = build("skd_spatial")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict()}, run / "checkpoint.pt")
    frames = tmp_path / "f"
    frames.mkdir()
    cv2.imwrite(str(frames / "00000.png"), (torch.rand(40, 48, 3) * 255).byte().numpy())

    class Closed:
        def __init__(self, *a) -> None:
            pass

        def isOpened(self) -> bool:
            return False

    full = os.statvfs_result((4096, 4096, 1000, 0, 0, 1000, 0, 0, 0, 255))
    monkeypatch.setattr(cv2, "VideoWriter", Closed)
    monkeypatch.setattr(os, "statvfs", lambda p: full)
    out = tmp_path / "o.mp4"
    assert cli.main(["predict", str(frames), "--run", str(run), "--out", str(out), "--device", "cpu"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (f"salkd: error: no space left on device while writing {out}; "
                                                        f"free space and rerun to resume")
    assert not out.exists() and not (tmp_path / "o_maps").exists()


def test_training_on_a_full_disk_leaves_no_empty_run_folder(tmp_path: Path, monkeypatch) -> None:
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _toy import ToyDataset, toy_loss, toy_model

    from salkd.train import TrainSettings, fit

    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)   # config.json is the first write
    settings = TrainSettings(epochs=1, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu")
    with pytest.raises(OSError, match="no space left on device while writing .*config.json"):
        fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "run", settings, config={"stage": "t"})
    assert not (tmp_path / "run").exists() and not list(tmp_path.iterdir())
