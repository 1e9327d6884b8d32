"""The training engine: loss falls, checkpoints resume exactly, complete runs are reused, DDP = 1 process."""
from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd.runs import RunError  # noqa: E402
from salkd.train import Trainer, TrainSettings, fit  # noqa: E402
from salkd.train_state import lr_at as _lr_at  # noqa: E402


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


_TIMING = {"seconds", "frames_per_s", "train_seconds", "train_frames_per_s"}


def _same_bytes(a, b, where: str = "") -> None:
    """Nested checkpoint contents equal, tensors bit for bit (timing fields of the history skipped)."""
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.contiguous().view(-1).view(torch.uint8), b.contiguous().view(-1).view(torch.uint8)), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            if k not in _TIMING:
                _same_bytes(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_bytes(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def _history_rows(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in _TIMING} for r in csv.DictReader(open(run / "history.csv"))]


def test_same_seed_same_bytes_also_across_an_interruption(tmp_path: Path) -> None:
    """The Trainer's contract: same seed -> bit-identical weights, optimizer state, RNG state, best.pt,
    history and metrics; an interrupted (mid-epoch, after a mid-epoch checkpoint) and resumed run ends
    with the same weights, optimizer state and best.pt."""
    s = _settings(epochs=3, select_metric="score")

    def scores():
        it = iter([0.2, 0.8, 0.5])
        return lambda m: {"score": next(it)}

    a = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "a", s, val_fn=scores(), config={"stage": "t"})
    b = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "b", s, val_fn=scores(), config={"stage": "t"})
    vf = scores()
    part = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "c", s, val_fn=vf, config={"stage": "t"},
               stop_after_steps=8)
    assert part.interrupted and torch.load(tmp_path / "c" / "checkpoint.pt", weights_only=True)["step"] == 8
    c = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "c", s, val_fn=vf, config={"stage": "t"})
    assert a.metrics["steps"] == c.metrics["steps"] == 18

    ck = {r: torch.load(tmp_path / r / "checkpoint.pt", weights_only=True) for r in "abc"}
    _same_bytes(ck["a"], ck["b"])
    assert _history_rows(a.run) == _history_rows(b.run) and len(_history_rows(a.run)) == 3
    _same_bytes(a.metrics, b.metrics)
    for key in ("model", "optimizer", "step", "best", "rng", "epoch_done"):
        _same_bytes(ck["a"][key], ck["c"][key], key)
    for r in "bc":
        _same_bytes(torch.load(tmp_path / "a" / "best.pt", weights_only=True),
                    torch.load(tmp_path / r / "best.pt", weights_only=True), r)


def test_trainer_steps_equal_fit(tmp_path: Path) -> None:
    """Driving Trainer.prepare / train_epoch / end_epoch / finish by hand gives fit's run."""
    ref = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "fit", _settings(epochs=2))
    t = Trainer(toy_model(), toy_loss, ToyDataset(), tmp_path / "steps", _settings(epochs=2))
    assert t.prepare() is None
    for epoch in range(2):
        assert t.train_epoch(epoch)
        t.end_epoch(epoch)
    res = t.finish()
    assert res.metrics["steps"] == ref.metrics["steps"] == 12
    _same_bytes(torch.load(ref.run / "checkpoint.pt", weights_only=True),
                torch.load(res.run / "checkpoint.pt", weights_only=True))
    # a complete run: prepare() hands back the stored result and trains nothing
    again = Trainer(toy_model(), toy_loss, ToyDataset(), tmp_path / "steps", _settings(epochs=2)).prepare()
    assert again is not None and again.metrics == res.metrics


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


def test_a_run_folder_is_trained_by_one_process_at_a_time(tmp_path):
    """While one process holds a run folder, a second fit of the same run stops with a clear message."""
    import multiprocessing as mp

    from salkd.locks import BusyError, locked

    run = tmp_path / "run"
    ready, release = mp.Event(), mp.Event()

    def hold() -> None:
        with locked(run, wait=False, what="run folder"):
            ready.set()
            release.wait(30)

    p = mp.get_context("fork").Process(target=hold)
    p.start()
    try:
        assert ready.wait(30)
        with pytest.raises(BusyError, match=r"in use by another salkd process \(pid \d+\)"):
            with locked(run, wait=False, what="run folder"):
                pass
    finally:
        release.set()
        p.join(30)
    with locked(run, wait=False):   # free again once the holder is gone
        pass


def test_channels_last_training_does_the_same_math(tmp_path: Path) -> None:
    """``channels_last`` (the quick profile's layout) changes the memory order, not the arithmetic: the same
    run in both layouts has the same losses up to float rounding, and its loss falls."""
    a = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "nchw", _settings(epochs=3))
    b = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "nhwc", _settings(epochs=3, channels_last=True))
    la, lb = ([row["train_loss"] for row in r.history] for r in (a, b))
    assert lb[-1] < lb[0]
    assert lb == pytest.approx(la, rel=1e-4)
    assert json.loads((b.run / "config.json").read_text())["train"]["channels_last"] is True


@pytest.mark.parametrize("name", ["skd_spatial", "skd_temporal", "skd_st", "uva_student", "uva_st"])
def test_students_train_in_channels_last_layout(name: str) -> None:
    """Every student's forward and backward run on channels-last weights and inputs (no op needs the
    contiguous layout) and give the contiguous outputs and gradients up to float rounding."""
    from salkd.models import build
    from salkd.models.inputs import example_inputs

    torch.manual_seed(0)
    base = build(name)
    xs = [torch.cat([x] * 4) for x in example_inputs(base, 32)]
    outs, grads = [], []
    for cl in (False, True):
        m = copy.deepcopy(base).train()
        inp = xs
        if cl:
            m = m.to(memory_format=torch.channels_last)
            inp = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in xs]
        out = m(*inp)
        out = out if isinstance(out, (tuple, list)) else (out,)
        sum(o.float().square().mean() for o in out).backward()
        outs.append([o.detach() for o in out])
        grads.append([p.grad.clone() for p in m.parameters() if p.grad is not None])
    for o1, o2 in zip(*outs):
        assert torch.allclose(o1, o2, atol=1e-5, rtol=1e-4)
    assert len(grads[0]) == len(grads[1]) > 0
    for g1, g2 in zip(*grads):
        # sums in another order (BatchNorm over a batch of 4 amplifies the rounding); a layout bug is O(1)
        assert (g1 - g2).norm() <= 5e-3 * g1.norm() + 1e-6


def test_profiles_choose_the_training_layout() -> None:
    from salkd.config import get_profile

    assert get_profile("quick")["channels_last"] is True and get_profile("smoke")["channels_last"] is False
    assert get_profile("real-cpu")["channels_last"] is False    # its published runs are reused
    assert get_profile("quick", {"channels_last": False})["channels_last"] is False
    with pytest.raises(ValueError, match="channels_last"):
        get_profile("quick", {"channels_last": "yes"})
