"""Every user mistake is one ``salkd: error:`` line (or argparse's usage error), before any work (issue 24).

Bad ``--arg`` / ``--seed`` / ``--res`` / ``--max-frames`` / ``--output`` values, ``--device cuda`` without
CUDA, ``--csv`` on a folder, a text file or a truncated file as a checkpoint; and checkpoints whose bytes
do not depend on the temporary file they were written through.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd import cli  # noqa: E402
from salkd.train import TrainSettings, fit  # noqa: E402


def _one_error_line(capsys, argv: list[str]) -> str:
    """Run ``salkd argv``: exit 2, one ``salkd: error:`` line, no traceback; returns the message."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("salkd: error: ") and "Traceback" not in err, err
    return lines[0][len("salkd: error: "):]


def _usage_error(capsys, argv: list[str]) -> str:
    """argparse's refusal: exit 2 and one ``salkd: error:`` line naming the option (no usage block)."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("salkd: error: ") and "usage:" not in err, err
    return err


def _tiny_run(root: Path, name: str = "skd_spatial") -> Path:
    from salkd.models import build

    model = build(name)
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict()}, root / "checkpoint.pt")
    (root / "metrics.json").write_text("{}")
    return root


def _train(tmp_path: Path, *more: str) -> list[str]:
    return ["train", "skd_students", "--profile", "smoke", "--out", str(tmp_path / "runs"), *more]


@pytest.mark.parametrize("arg,text", [("res=abc", "--arg res='abc'"), ("res=0", "--arg res=0"),
                                      ("mu=2", "--arg mu=2"), ("name=a/b", "--arg name='a/b'")])
def test_bad_stage_argument_values_are_refused_before_any_training(tmp_path, capsys, monkeypatch, arg, text):
    monkeypatch.setenv("SALKD_DATA", str(tmp_path / "data"))
    msg = _one_error_line(capsys, _train(tmp_path, "--arg", arg))
    assert msg.startswith(text) and "expected" in msg
    assert not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()


def test_a_negative_seed_is_refused_before_any_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SALKD_DATA", str(tmp_path / "data"))
    err = _usage_error(capsys, _train(tmp_path, "--seed", "-1"))
    assert "argument --seed: expected an integer >= 0, got '-1'" in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "runs").exists()


def test_cuda_without_cuda_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("SALKD_DATA", str(tmp_path / "data"))
    msg = _one_error_line(capsys, _train(tmp_path, "--device", "cuda"))
    assert "CUDA is not available" in msg and "--device cpu" in msg
    assert not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()
    run = _tiny_run(tmp_path / "run")
    msg = _one_error_line(capsys, ["predict", str(tmp_path), "--run", str(run), "--out", str(tmp_path / "o.mp4"),
                                   "--device", "cuda"])
    assert "CUDA is not available" in msg
    assert "unknown device 'gpu'" in _one_error_line(capsys, ["evaluate", str(run), "--data", str(tmp_path),
                                                              "--device", "gpu"])


@pytest.mark.parametrize("option,value,text", [("--res", "0", "expected a positive integer"),
                                               ("--max-frames", "-3", "expected a positive integer"),
                                               ("--output", "bogus", "invalid choice: 'bogus'")])
def test_evaluate_refuses_bad_options_up_front(tmp_path, capsys, option, value, text):
    err = _usage_error(capsys, ["evaluate", str(tmp_path / "run"), "--data", str(tmp_path), option, value])
    assert f"argument {option}: {text}" in err


def test_evaluate_refuses_output_of_a_single_output_model_and_a_csv_folder(tmp_path, capsys):
    run = _tiny_run(tmp_path / "run")
    msg = _one_error_line(capsys, ["evaluate", str(run), "--data", str(tmp_path), "--output", "spatial"])
    assert "has a single output" in msg
    msg = _one_error_line(capsys, ["evaluate", str(run), "--data", str(tmp_path), "--csv", str(tmp_path)])
    assert f"--csv {tmp_path} is a folder" in msg


def test_outputs_under_a_file_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SALKD_DATA", str(tmp_path / "data"))
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    msg = _one_error_line(capsys, ["train", "teachers", "--profile", "smoke", "--out", str(blocker / "runs")])
    assert f"{blocker} is a file, not a folder" in msg and not (tmp_path / "data").exists()
    msg = _one_error_line(capsys, ["export", "skd_spatial", "--out", str(blocker / "m.onnx"), "--res", "32"])
    assert f"{blocker} is a file, not a folder" in msg
    run = _tiny_run(tmp_path / "run")
    msg = _one_error_line(capsys, ["evaluate", str(run), "--data", str(tmp_path), "--csv", str(blocker / "t.csv")])
    assert f"{blocker} is a file, not a folder" in msg
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("content", [b"abc", b"this is a text file, not weights\n" * 20])
def test_a_text_file_as_a_checkpoint_is_one_line(tmp_path, capsys, content):
    ck = tmp_path / "weights.pt"
    ck.write_bytes(content)
    msg = _one_error_line(capsys, ["export", "skd_spatial", "--checkpoint", str(ck), "--out",
                                   str(tmp_path / "m.onnx"), "--res", "32"])
    assert msg.startswith(f"{ck} is not a readable PyTorch checkpoint")
    assert not (tmp_path / "m.onnx").exists()


def test_a_truncated_checkpoint_on_resume_is_one_line(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    settings = TrainSettings(epochs=3, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", ckpt_every=3)
    fit(toy_model(), toy_loss, ToyDataset(), run, settings, stop_after_steps=4)
    ck = run / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])

    def cmd(a) -> int:
        fit(toy_model(), toy_loss, ToyDataset(), run, settings)
        return 0

    monkeypatch.setattr(cli, "_cmd_train", cmd)
    msg = _one_error_line(capsys, ["train", "skd_students"])
    assert msg.startswith(f"{ck} is truncated or corrupt") and "delete it" in msg


def test_checkpoints_do_not_depend_on_the_temporary_file_name(tmp_path):
    from salkd.train_state import save_torch

    state = {"model": toy_model().state_dict(), "step": 3}
    save_torch(tmp_path / "a" / "best.pt", state)
    save_torch(tmp_path / "b" / "best.pt", state)
    assert (tmp_path / "a" / "best.pt").read_bytes() == (tmp_path / "b" / "best.pt").read_bytes()


@pytest.mark.parametrize("error", [PermissionError(13, "Permission denied", "/ro/runs/x/config.json"),
                                   OSError(30, "Read-only file system", "/ro/runs/x/config.json"),
                                   NotADirectoryError(20, "Not a directory", "/ro/runs/x/config.json")])
def test_os_errors_on_a_path_are_one_line_naming_it(monkeypatch, capsys, error):
    def fail(a):
        raise error

    monkeypatch.setattr(cli, "_cmd_train", fail)
    msg = _one_error_line(capsys, ["train", "skd_students"])
    assert msg.startswith("/ro/runs/x/config.json: ") and error.strerror.lower() in msg


def test_identical_runs_in_two_folders_give_identical_best_checkpoints(tmp_path):
    settings = TrainSettings(epochs=2, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu",
                             select_metric="score")

    def val(model):
        return {"score": -float(sum(p.abs().sum() for p in model.parameters()))}

    for name in ("a", "b"):
        fit(toy_model(), toy_loss, ToyDataset(), tmp_path / name / "run", settings, val_fn=val)
    assert (tmp_path / "a/run/best.pt").read_bytes() == (tmp_path / "b/run/best.pt").read_bytes()
