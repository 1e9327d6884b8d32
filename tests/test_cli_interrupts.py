"""The command line on interruptions, a full disk and bad ``predict`` options: one clear line each.

* Ctrl-C and SIGTERM during training: "interrupted at step N of RUN; rerun the same command to resume
  from step M" (exit 130 / 143), and the rerun says "resuming from step M".
* A full disk (ENOSPC, or torch's "unexpected pos" short write) while writing the checkpoint names it.
* ``predict --res -1`` / ``--batch 0`` are refused before any work; a failed predict leaves no maps folder.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd import cli  # noqa: E402
from salkd.train import TrainSettings, fit  # noqa: E402

_SETTINGS = dict(epochs=3, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", ckpt_every=3)


def _toy_train(run: Path, loss=toy_loss):
    """A stand-in for ``_cmd_train``: one toy run into ``run``."""
    def cmd(a) -> int:
        fit(toy_model(), loss, ToyDataset(), run, TrainSettings(**_SETTINGS))
        return 0
    return cmd


def test_ctrl_c_names_the_step_and_exits_130(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}

    def loss(net, batch):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return toy_loss(net, batch)

    run = tmp_path / "run"
    monkeypatch.setattr(cli, "_cmd_train", _toy_train(run, loss))
    assert cli.main(["train", "skd_students"]) == 130
    assert capsys.readouterr().err.strip() == (f"salkd: interrupted at step 7 of {run}; rerun the same command "
                                               f"to resume from step 6")


_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from _toy import ToyDataset, toy_loss, toy_model
    from salkd import cli
    from salkd.train import TrainSettings, fit

    run, kill_at = Path(sys.argv[1]), int(sys.argv[2])
    calls = [0]

    def loss(net, batch):
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return toy_loss(net, batch)

    def train(a):
        fit(toy_model(), loss, ToyDataset(), run, TrainSettings(**{settings!r}))
        return 0

    cli._cmd_train = train
    sys.exit(cli.main(["train", "skd_students"]))
""")


def test_sigterm_behaves_like_ctrl_c_and_the_rerun_resumes(tmp_path):
    script = tmp_path / "term.py"
    script.write_text(_SCRIPT.format(tests=str(TESTS), settings=_SETTINGS))
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SALKD_PROGRESS": "0"}
    first = subprocess.run([sys.executable, str(script), str(run), "11"], capture_output=True, text=True,
                           env=env, timeout=300)
    assert first.returncode == 143, first.stderr
    lines = first.stderr.strip().splitlines()
    assert lines == [f"salkd: interrupted at step 10 of {run}; rerun the same command to resume from step 9"], \
        first.stderr
    again = subprocess.run([sys.executable, str(script), str(run), "0"], capture_output=True, text=True,
                           env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stderr.strip().splitlines() == [f"{run}: resuming from step 9 of 18"]
    assert json.loads((run / "metrics.json").read_text())["steps"] == 18


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos "
                                                "1363136 vs 1363032")])
def test_full_disk_while_checkpointing(tmp_path, monkeypatch, capsys, error):
    real_save = torch.save

    def full_disk(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and "optimizer" in obj:
            f.write(b"partial") if hasattr(f, "write") else Path(f).write_bytes(b"partial")
            raise error
        return real_save(obj, f, *args, **kwargs)

    run = tmp_path / "run"
    monkeypatch.setattr(torch, "save", full_disk)
    monkeypatch.setattr(cli, "_cmd_train", _toy_train(run))
    assert cli.main(["train", "skd_students"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"salkd: error: no space left on device while writing {run / 'checkpoint.pt'}; "
                           f"free space and rerun to resume"), err
    assert not (run / "checkpoint.pt").exists() and not list(run.glob(".checkpoint.*"))  # no partial file


def test_full_disk_elsewhere_names_the_file(monkeypatch, capsys):
    def full(a):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out/table.csv")

    monkeypatch.setattr(cli, "_cmd_evaluate", full)
    assert cli.main(["evaluate", "run", "--data", "x"]) == 2
    assert capsys.readouterr().err.strip() == ("salkd: error: no space left on device while writing "
                                               "/data/out/table.csv; free space and rerun to resume")


def _tiny_run(root: Path) -> Path:
    """A run folder holding an untrained skd spatial student at 32x32."""
    from salkd.models import build

    model = build("skd_spatial")
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict()}, root / "checkpoint.pt")
    return root


def _frames(folder: Path, n: int = 3) -> Path:
    import cv2

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    return folder


@pytest.mark.parametrize("option,value", [("--res", "-1"), ("--batch", "0"), ("--res", "abc")])
def test_predict_refuses_bad_options_up_front(tmp_path, capsys, option, value):
    out = tmp_path / "o.mp4"
    with pytest.raises(SystemExit) as info:
        cli.main(["predict", str(tmp_path / "missing"), "--run", str(tmp_path / "run"), "--out", str(out),
                  option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected a positive integer, got '{value}'" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_predict_library_checks_options_first(tmp_path):
    from salkd.predict import predict_video

    with pytest.raises(ValueError, match="res must be a positive integer"):
        predict_video(tmp_path / "missing", tmp_path / "no-run", tmp_path / "o.mp4", res=-1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        predict_video(tmp_path / "missing", tmp_path / "no-run", tmp_path / "o.mp4", batch_size=0)


def test_failed_predict_leaves_no_maps_folder(tmp_path, monkeypatch, capsys):
    import cv2

    run, frames, out = _tiny_run(tmp_path / "run"), _frames(tmp_path / "frames"), tmp_path / "o.mp4"
    base = ["predict", str(frames), "--run", str(run), "--out", str(out), "--device", "cpu"]
    (frames / "00001.png").write_bytes(b"not a png")          # fails while reading
    assert cli.main(base) == 2 and "could not be decoded" in capsys.readouterr().err
    assert not (tmp_path / "o_maps").exists() and not out.exists()
    _frames(tmp_path / "good")

    class ClosedWriter:                                         # fails while writing
        def __init__(self, *a, **k): ...
        def isOpened(self) -> bool: return False

    monkeypatch.setattr(cv2, "VideoWriter", ClosedWriter)
    assert cli.main(["predict", str(tmp_path / "good"), *base[2:]]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (f"salkd: error: {out}: could not open an OpenCV video writer there "
                                                        f"(mp4v codec); check that path (permissions, a read-only mount, "
                                                        f"a file where a folder should be) or choose another, and rerun")
    assert not (tmp_path / "o_maps").exists() and not out.exists()
    monkeypatch.undo()
    assert cli.main(["predict", str(tmp_path / "good"), *base[2:]]) == 0
    assert len(list((tmp_path / "o_maps").glob("*.png"))) == 3 and out.is_file()


def test_ctrl_c_while_the_parser_loads_is_one_line(monkeypatch, capsys):
    """Building the parser imports torch (seconds): Ctrl-C then is the same one line, no traceback."""
    def loading():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", loading)
    assert cli.main(["reproduce", "--profile", "smoke"]) == 130
    assert capsys.readouterr().err == "salkd: interrupted; rerun the same command to resume\n"
