"""A run knows what made it (issue 24): the content of its teachers' weights and of its data.

* a student whose teacher was retrained is not reused: it stops naming the changed teacher, and
  ``--force`` retrains it against the new teacher;
* a label edited to the same byte size changes the data's content key (cached per file by size and
  mtime, so an unchanged dataset is not read again) and so a run's config;
* a teacher run folder of another model or task is refused before any student trains from it.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import torch

from salkd import fingerprints
from salkd.context import Context
from salkd.papers.skd import skd_students
from salkd.papers.teachers import train_teacher
from salkd.runs import RunError, data_sha256, read_json


def _old(path: Path) -> None:
    """Give a file an mtime well in the past (its hash may then be cached)."""
    t = time.time() - 60
    os.utime(path, (t, t))


def test_data_content_key_sees_a_same_size_edit_and_is_cached(tmp_path: Path, monkeypatch) -> None:
    a = tmp_path / "a"
    (a / "v1").mkdir(parents=True)
    f = a / "v1" / "0001.png"
    f.write_bytes(b"12345")
    _old(f)
    key = data_sha256([a])
    shutil.copytree(a, tmp_path / "b")
    assert data_sha256([tmp_path / "b"]) == key                          # a copy elsewhere matches
    calls = []
    real = fingerprints._hash_bytes
    monkeypatch.setattr(fingerprints, "_hash_bytes", lambda p: calls.append(p) or real(p))
    assert data_sha256([a]) == key and calls == []                       # unchanged: only stat, no read
    f.write_bytes(b"54321")                                              # same size, new content
    assert data_sha256([a]) != key and calls == [f]


def test_a_same_size_label_edit_makes_the_config_stale(tmp_path: Path) -> None:
    base = Context(profile="smoke", runs=tmp_path / "runs", progress=False)
    data = tmp_path / "fix"
    shutil.copytree(base.dataset_root("fixation"), data)
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False, data={"fixation": str(data)})
    before = ctx.data_key("fixation")
    label = sorted(data.rglob("*.png"))[-1]
    raw = bytearray(label.read_bytes())
    raw[-20] ^= 0xFF                                                     # one byte flipped: same size
    label.write_bytes(bytes(raw))
    after = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                    data={"fixation": str(data)}).data_key("fixation")
    assert after["data_fingerprint"] == before["data_fingerprint"]      # names and sizes: blind to it
    assert after["data_sha256"] != before["data_sha256"]


def test_students_of_a_retrained_teacher_are_not_reused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    ctx = Context(profile="smoke", runs=runs, progress=False)
    dva, tsnet = train_teacher(ctx, "dva"), train_teacher(ctx, "tsnet")
    old = skd_students(ctx, dva, tsnet)
    cfg = read_json(old["spatial"] / "config.json")
    assert cfg["upstream_sha256"]["teacher"].startswith(("best.pt:", "checkpoint.pt:"))
    old_weights = torch.load(old["spatial"] / "best.pt")["model"]
    # the teacher is retrained with another learning rate, into the same folder
    train_teacher(Context(profile="smoke", runs=runs, progress=False, force=True,
                          overrides={"teacher.lr": 0.002}), "dva")
    again = Context(profile="smoke", runs=runs, progress=False, overrides={"teacher.lr": 0.002})
    with pytest.raises(RunError, match=r"upstream run\(s\) teacher changed"):
        skd_students(again, dva, tsnet)
    forced = Context(profile="smoke", runs=runs, progress=False, overrides={"teacher.lr": 0.002}, force=True)
    new = skd_students(forced, dva, tsnet)
    new_weights = torch.load(new["spatial"] / "best.pt")["model"]
    assert any(not torch.equal(old_weights[k], new_weights[k]) for k in old_weights)
    assert skd_students(again, dva, tsnet) == new                         # now current: reused


def _fake_run(folder: Path, name: str, **cfg) -> Path:
    from salkd.models import build

    model = build(name)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": model.salkd_spec, "res": 32, **cfg}))
    torch.save({"model": model.state_dict()}, folder / "checkpoint.pt")
    (folder / "metrics.json").write_text("{}")
    return folder


def test_a_teacher_run_of_another_model_or_task_is_refused(tmp_path: Path) -> None:
    fast = _fake_run(tmp_path / "fastvsod-run", "fastvsod", stage="fastvsod_stage2")
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(fast)}})
    with pytest.raises(ValueError, match="holds a 'fastvsod' model, not 'teacher_dva'"):
        train_teacher(ctx, "dva")
    vsod = _fake_run(tmp_path / "dva-vsod", "teacher_dva", stage="teachers", task="vsod")
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(vsod)}})
    with pytest.raises(ValueError, match="is a vsod run, but the fixation students need a fixation teacher"):
        train_teacher(ctx, "dva")
    good = _fake_run(tmp_path / "dva-fix", "teacher_dva", stage="teachers", task="fixation")
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(good)}})
    assert train_teacher(ctx, "dva") == good


def test_an_external_teacher_file_is_fingerprinted_and_kept_while_unchanged(tmp_path: Path) -> None:
    from salkd.models import build

    torch.manual_seed(2)
    path = tmp_path / "my-dva.pth"
    torch.save(build("teacher_dva", width=0.25).state_dict(), path)
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(path)}})
    run = train_teacher(ctx, "dva")
    stamp = (run / "checkpoint.pt").stat().st_mtime_ns
    assert read_json(run / "config.json")["external_sha256"] == fingerprints.file_sha256(path)
    assert train_teacher(ctx, "dva") == run and (run / "checkpoint.pt").stat().st_mtime_ns == stamp  # untouched
    torch.manual_seed(3)
    torch.save(build("teacher_dva", width=0.25).state_dict(), path)                  # the user's new weights
    assert train_teacher(ctx, "dva") == run
    assert read_json(run / "config.json")["external_sha256"] == fingerprints.file_sha256(path)
    saved, given = torch.load(run / "checkpoint.pt")["model"], torch.load(path)
    assert all(torch.equal(saved[k], v) for k, v in given.items())


def test_a_stale_run_names_what_changed(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _toy import ToyDataset, toy_loss, toy_model

    from salkd.train import TrainSettings, fit

    run = tmp_path / "runs" / "smoke" / "stage" / "x"
    s = TrainSettings(epochs=1, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu")
    cfg = {"data_fingerprint": "same", "data_sha256": "a", "upstream_sha256": {"teacher": "best.pt:1"}}
    fit(toy_model(), toy_loss, ToyDataset(), run, s, config=cfg)
    with pytest.raises(RunError, match="the contents of its dataset changed"):
        fit(toy_model(), toy_loss, ToyDataset(), run, s, config={**cfg, "data_sha256": "b"})
    with pytest.raises(RunError, match=r"the weights of its upstream run\(s\) teacher changed"):
        fit(toy_model(), toy_loss, ToyDataset(), run, s, config={**cfg, "upstream_sha256": {"teacher": "best.pt:2"}})
    old = {k: v for k, v in cfg.items() if k not in ("data_sha256", "upstream_sha256")}
    run2 = tmp_path / "runs" / "smoke" / "stage" / "old"
    fit(toy_model(), toy_loss, ToyDataset(), run2, s, config=old)      # a config written before the new keys
    assert fit(toy_model(), toy_loss, ToyDataset(), run2, s, config=cfg).metrics                # still reused


@pytest.mark.parametrize("content", [b"abc", b"not weights at all\n" * 10])
def test_a_text_file_as_a_teacher_checkpoint_is_named(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "teacher.pth"
    path.write_bytes(content)
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(path)}})
    with pytest.raises(ValueError, match=f"{path} is not a readable PyTorch checkpoint"):
        train_teacher(ctx, "dva")
