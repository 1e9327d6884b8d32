"""precision="auto": bf16 where oneDNN runs it natively, fp32 elsewhere (fp16 on CUDA), for training and
inference; env.json records the precision a run used."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd.train import TrainSettings, fit  # noqa: E402


def test_resolve_precision_auto_follows_onednn(monkeypatch) -> None:
    from salkd import device

    monkeypatch.setattr(device, "cpu_native_bf16", lambda: True)
    assert device.resolve_precision("auto", "cpu") == "bf16"
    assert device.resolve_precision("auto", "cuda") == "fp16"
    monkeypatch.setattr(device, "cpu_native_bf16", lambda: False)
    assert device.resolve_precision("auto", "cpu") == "fp32"
    assert device.resolve_precision("bf16", "cpu") == "bf16"  # explicit wins
    with pytest.raises(ValueError, match="unknown precision"):
        device.resolve_precision("int4")


def test_precision_context_auto_uses_bf16_where_native(monkeypatch) -> None:
    from salkd import device
    from salkd.train_state import precision_context

    monkeypatch.setattr(device, "cpu_native_bf16", lambda: True)
    ctx, scaler = precision_context("auto", torch.device("cpu"))
    with ctx():
        y = nn.Linear(4, 4)(torch.rand(2, 4))
    assert y.dtype == torch.bfloat16 and not scaler
    monkeypatch.setattr(device, "cpu_native_bf16", lambda: False)
    ctx, _ = precision_context("auto", torch.device("cpu"))
    with ctx():
        assert nn.Linear(4, 4)(torch.rand(2, 4)).dtype == torch.float32


def test_environment_records_precision() -> None:
    from salkd.runs import environment

    assert environment("cpu", precision="bf16")["precision"] == "bf16"


def test_runner_auto_picks_bf16_only_where_native(monkeypatch) -> None:
    from salkd import device
    from salkd.bench import runtime as rt

    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 1, 1)).eval()
    monkeypatch.setattr(device, "cpu_native_bf16", lambda: True)
    r = rt.make_runner(m, "auto", res=8, device="cpu", precision="auto")
    assert r.runtime == "bf16_cl"
    r.close()
    r = rt.make_runner(m, "auto", res=8, device="cpu")  # precision fp32 (default): not bf16
    assert r.runtime != "bf16_cl"
    r.close()


@pytest.mark.parametrize("native,expected", [(True, "bf16"), (False, "fp32")])
def test_training_auto_precision_recorded_in_env_json(monkeypatch, tmp_path: Path, native: bool,
                                                      expected: str) -> None:
    from salkd import device

    monkeypatch.setattr(device, "cpu_native_bf16", lambda: native)
    s = TrainSettings(epochs=1, batch_size=8, lr=1e-2, seed=1, progress=False, device="cpu", precision="auto")
    res = fit(toy_model(), toy_loss, ToyDataset(), tmp_path / "r", s, config={"stage": "t"})
    env = json.loads((res.run / "env.json").read_text())
    assert env["precision"] == expected
    assert json.loads((res.run / "config.json").read_text())["train"]["precision"] == "auto"


def test_profiles_keep_fp32_training_except_paper() -> None:
    from salkd.config import get_profile

    assert {n: get_profile(n)["precision"] for n in ("smoke", "quick", "real-cpu", "paper")} == {
        "smoke": "fp32", "quick": "fp32", "real-cpu": "fp32", "paper": "auto"}
