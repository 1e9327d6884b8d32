"""Iteration budgets (``max_iters``): a stage sized in optimizer steps with the poly schedule over them
(fastvsod Sec. 4.1: stage 1 is 40,000 iterations), resumable; epochs stay available."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd.config import get_profile  # noqa: E402
from salkd.train import Trainer, TrainSettings, fit  # noqa: E402
from salkd.train_state import lr_at  # noqa: E402


def _settings(**kw: Any) -> TrainSettings:
    # 48 samples at batch 8: 6 steps an epoch; 15 iterations = 2 full epochs + 3 steps of a third
    base = dict(epochs=1, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", ckpt_every=4,
                optimizer="sgd", momentum=0.9, lr_policy="poly", max_iters=15)
    base.update(kw)
    return TrainSettings(**base)


def test_max_iters_stops_at_its_step_and_the_poly_lr_reaches_its_end(tmp_path: Path) -> None:
    s = _settings()
    lrs: list[float] = []
    t = Trainer(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", s)
    real_step = t._optimizer_step

    def record(loss: torch.Tensor) -> None:
        lrs.append(t.optimizer.param_groups[0]["lr"])
        real_step(loss)

    t._optimizer_step = record  # type: ignore[method-assign]
    res = t.run()
    assert res.metrics["steps"] == 15 and t.total == 15              # epochs=1 does not cut it short
    assert [int(r["step"]) for r in res.history] == [6, 12, 15]     # the last epoch is partial
    assert lrs == [lr_at(s, k, 15) for k in range(15)]               # poly over the 15 iterations
    assert lrs[0] == s.lr and all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lrs[-1] == pytest.approx(s.lr * (1 / 15) ** 0.9) and lr_at(s, 15, 15) == 0.0
    assert res.history[-1]["lr"] == lrs[-1]


def test_epochs_still_size_a_run_without_max_iters(tmp_path: Path) -> None:
    res = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", _settings(epochs=2, max_iters=None))
    assert res.metrics["steps"] == 12
    # a run sized in epochs records no max_iters: its config.json is what it was before iteration budgets
    assert "max_iters" not in _settings(max_iters=None).to_dict() and _settings().to_dict()["max_iters"] == 15


@pytest.mark.parametrize("stop", [8, 13])   # inside a full epoch / inside the partial last epoch
def test_a_run_sized_in_iterations_resumes_to_the_same_weights(tmp_path: Path, stop: int) -> None:
    full = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "full", _settings())
    part = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings(), stop_after_steps=stop)
    assert part.interrupted and torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)["step"] == stop
    resumed = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "part", _settings())
    assert resumed.metrics["steps"] == 15 and [int(r["step"]) for r in resumed.history] == [6, 12, 15]
    for (k, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k


def test_max_iters_must_be_a_positive_int() -> None:
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_iters"):
            TrainSettings(max_iters=bad)  # type: ignore[arg-type]


def test_config_checks_iteration_budgets_and_the_paper_uses_40000() -> None:
    assert get_profile("paper")["fastvsod"]["stage1_max_iters"] == 40000      # fastvsod Sec. 4.1
    assert get_profile("smoke")["fastvsod"]["stage1_max_iters"] is None       # epochs
    assert get_profile("smoke", {"fastvsod.stage1_max_iters": "7"})["fastvsod"]["stage1_max_iters"] == 7
    assert get_profile("paper", {"fastvsod.stage1_max_iters": "null"})["fastvsod"]["stage1_max_iters"] is None
    for bad in ("0", "-5", "2.5", "true", "many"):
        with pytest.raises(ValueError, match=r"fastvsod.stage1_max_iters=.*positive int"):
            get_profile("smoke", {"fastvsod.stage1_max_iters": bad})


def test_fastvsod_stage1_is_sized_by_its_iteration_budget(tmp_path: Path, monkeypatch) -> None:
    import salkd.papers.fastvsod as fv
    from salkd.context import Context

    got: dict[str, Any] = {}
    monkeypatch.setattr(fv, "fit", lambda model, loss, ds, run, settings, **kw: got.update(settings=settings))
    ctx = Context(profile="smoke", progress=False, runs=tmp_path / "runs",
                  overrides={"fastvsod.stage1_max_iters": 5})
    fv.fastvsod_stage1(ctx)
    assert got["settings"].max_iters == 5 and got["settings"].lr_policy == "poly"
