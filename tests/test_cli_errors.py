"""The command line reports salkd's own errors as one ``salkd: error: ...`` line with exit code 2.

Each case runs ``salkd.cli.main`` in-process: a missing run folder, a corrupt frame, an unknown
dataset layout and a misspelled ``--set`` key. ``--debug`` lets the exception (and so its
traceback) through; an unexpected exception always does; Ctrl-C exits with 130.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_fixtures import make_toolkit  # noqa: E402

from salkd import cli  # noqa: E402
from salkd.data import DatasetError  # noqa: E402
from salkd.runs import RunError  # noqa: E402


def _tiny_run(root: Path) -> Path:
    """A run folder holding an untrained skd spatial student at 32x32."""
    from salkd.models import build

    model = build("skd_spatial")
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict()}, root / "checkpoint.pt")
    return root


def _one_error_line(capsys, argv: list[str]) -> str:
    """Run ``salkd argv``; check exit code 2 and a single ``salkd: error:`` line; return the message."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("salkd: error: "), err
    assert "Traceback" not in err
    return lines[0][len("salkd: error: "):]


def _debug_raises(argv: list[str], exc: type[BaseException]) -> None:
    """With ``--debug`` (before or after the command) the exception propagates with its traceback."""
    with pytest.raises(exc):
        cli.main(["--debug", *argv])
    with pytest.raises(exc):
        cli.main([*argv, "--debug"])


def test_missing_run_folder(tmp_path, capsys):
    argv = ["evaluate", str(tmp_path / "nonexistent"), "--data", str(tmp_path / "X")]
    msg = _one_error_line(capsys, argv)
    assert "nonexistent" in msg and "does not exist" in msg
    _debug_raises(argv, RunError)


def test_corrupt_frame(tmp_path, capsys):
    data = make_toolkit(tmp_path / "data", n_seq=2, n_frames=4, ext=".jpg")
    bad = data / "seq0" / "Imgs" / "00002.jpg"
    bad.write_bytes(b"this is not a jpeg")
    argv = ["evaluate", str(_tiny_run(tmp_path / "run")), "--data", str(data), "--device", "cpu"]
    msg = _one_error_line(capsys, argv)
    assert str(bad) in msg and "corrupt" in msg
    _debug_raises(argv, DatasetError)


def test_unknown_dataset_layout(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("no images here\n")
    argv = ["evaluate", str(_tiny_run(tmp_path / "run")), "--data", str(data), "--device", "cpu"]
    msg = _one_error_line(capsys, argv)
    assert "matches no known dataset layout" in msg
    _debug_raises(argv, DatasetError)


def test_misspelled_set_key(tmp_path, capsys):
    argv = ["train", "skd_students", "--profile", "smoke", "--out", str(tmp_path / "runs"), "--set", "skd.muu=0.3"]
    msg = _one_error_line(capsys, argv)
    assert msg.startswith("unknown config key 'skd.muu'") and "'mu'" in msg  # no repr quotes around the message
    _debug_raises(argv, KeyError)
    assert not (tmp_path / "runs").exists()


def test_unexpected_error_keeps_its_traceback(monkeypatch):
    def boom(a):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_cmd_evaluate", boom)
    with pytest.raises(ZeroDivisionError):
        cli.main(["evaluate", "run", "--data", "x"])


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(a):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_train", interrupted)
    assert cli.main(["train", "skd_students"]) == 130
    assert capsys.readouterr().err.strip() == "salkd: interrupted; rerun the same command to resume"


def test_debug_prints_traceback_from_the_shell(tmp_path):
    """The installed entry point: exit 2 and one line; with --debug, Python's traceback (exit 1)."""
    run = str(tmp_path / "nonexistent")
    base = [sys.executable, "-c", "import sys; from salkd.cli import main; sys.exit(main())",
            "evaluate", run, "--data", str(tmp_path)]
    plain = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2, plain.stderr
    assert plain.stderr.strip().splitlines() == [f"salkd: error: {run}/config.json does not exist"]
    debug = subprocess.run(base + ["--debug"], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "RunError" in debug.stderr


def test_bad_settings_are_refused_before_any_work(tmp_path, capsys):
    main = cli.main
    for args, text in ((["--set", "skd.mu=abc"], "expected float"), (["--set", "skd.lr=-1"], "must be in (0"),
                       (["--set", "skd.mu=2"], "must be in [0, 1]"), (["--arg", "mu=0.3"], "takes no argument mu")):
        code = main(["train", "skd_st", "--profile", "smoke", "--out", str(tmp_path / "runs"), *args])
        err = capsys.readouterr().err
        assert code == 2 and text in err and "Traceback" not in err, (args, err)
    assert not (tmp_path / "runs" / "smoke").exists()          # nothing was trained


def test_export_refuses_a_run_of_another_model(tmp_path, capsys):
    main = cli.main
    from salkd.models import build

    run = tmp_path / "run"
    run.mkdir()
    m = build("uva_st")
    (run / "config.json").write_text(json.dumps({"model": m.salkd_spec, "res": 32}))
    torch.save({"model": m.state_dict()}, run / "checkpoint.pt")
    code = main(["export", "skd_st", "--checkpoint", str(run), "--out", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and "holds a 'uva_st' model, not 'skd_st'" in err and not (tmp_path / "m.onnx").exists()
