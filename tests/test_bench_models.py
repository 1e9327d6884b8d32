"""Tests of the deployment benchmark: cost counters, memory definition, runners, CLI outputs."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from salkd.bench import cost, runtime as rt
from salkd.bench import models as bench
from salkd.models.blocks import SaliencyModel


class TinyPair(SaliencyModel):
    """Stand-in for a frame-pair saliency net: two conv streams, fusion, deconv back to input size."""

    input_kind = "pair"
    stride = 2

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.b = nn.Sequential(nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.ConvTranspose2d(4, 1, 4, 2, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3 or y.shape != x.shape:
            raise ValueError(f"TinyPair: expected two (N, 3, H, W) tensors, got {tuple(x.shape)}, {tuple(y.shape)}")
        return self.head(torch.cat([self.a(x), self.b(torch.cat([x, y], 1))], 1))


class TinyFrame(SaliencyModel):
    input_kind = "frame"

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# --- cost ------------------------------------------------------------------------------------
def test_single_conv_params_and_macs_by_formula() -> None:
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, stride=2)
    x = torch.rand(1, 3, 20, 20)
    assert cost.count_params(conv) == 8 * 3 * 3 * 3 + 8
    expected = 8 * 10 * 10 * 3 * 3 * 3  # output elements x (C_in x k x k)
    assert cost.macs_hooks(conv, x) == expected
    assert cost.macs_flop_counter(conv, x) == expected


def test_grouped_and_transposed_conv_formulas() -> None:
    dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
    x = torch.rand(2, 8, 6, 6)
    assert cost.macs_hooks(dw, x) == 2 * 8 * 6 * 6 * 9
    up = nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
    y = torch.rand(1, 4, 5, 5)
    assert cost.macs_hooks(up, y) == 4 * 5 * 5 * 2 * 16  # every input pixel scatters one kernel per out channel
    assert cost.macs_flop_counter(up, y) == cost.macs_hooks(up, y)


@pytest.mark.parametrize("net", [TinyPair(), nn.Sequential(nn.Conv2d(3, 5, 3), nn.Flatten(), nn.Linear(5 * 6 * 6, 7))])
def test_two_mac_counters_agree(net: nn.Module) -> None:
    if isinstance(net, TinyPair):
        args = (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))
    else:
        args = (torch.rand(1, 3, 8, 8),)
    a, b = cost.macs_hooks(net, args), cost.macs_flop_counter(net, args)
    assert a == b > 0


def test_activation_peak_definition_on_tiny_net() -> None:
    # input (3 ch) stays live; conv1 out (8 ch) and conv2 out (4 ch) coexist at the peak
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1), nn.Conv2d(4, 1, 1))
    x = torch.rand(1, 3, 16, 16)
    px = 16 * 16 * 4
    assert cost.activation_peak_bytes(net, x) == (3 + 8 + 4) * px
    assert cost.activation_sum_bytes(net, x) == (3 + 8 + 4 + 1) * px
    c = cost.model_cost(net, x)
    assert c.mem_mb == pytest.approx((cost.count_params(net) * 4 + (3 + 8 + 4) * px) / cost.MB)


def test_inplace_relu_shares_storage() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 2, 1))
    x = torch.rand(1, 3, 8, 8)
    assert cost.activation_peak_bytes(net, x) == (3 + 8 + 2) * 8 * 8 * 4


def test_model_cost_rejects_batch() -> None:
    with pytest.raises(ValueError, match="batch-1"):
        cost.model_cost(TinyFrame(), torch.rand(2, 3, 8, 8))


# --- runners ---------------------------------------------------------------------------------
def test_example_inputs_structured_and_deterministic() -> None:
    m = TinyPair()
    a1, b1 = rt.example_inputs(m, 32, 3, seed=5)
    a2, _ = rt.example_inputs(m, 32, 3, seed=5)
    assert a1.shape == b1.shape == (3, 3, 32, 32)
    assert torch.equal(a1, a2)
    assert 0 <= float(a1.min()) and float(a1.max()) <= 1
    assert not torch.equal(a1, b1)  # the blobs moved between the frames (or at least differ)


@pytest.mark.parametrize("runtime", ["eager", "cl", "bf16_cl", "jit", "onnx", "onnx_chunk", "ort_int8"])
def test_runner_matches_eager(runtime: str) -> None:
    torch.manual_seed(0)
    m = TinyPair().eval()
    x, y = rt.example_inputs(m, 16, 5, seed=1)
    with torch.inference_mode():
        ref = m(x, y).numpy()
    chunk = 2 if runtime == "onnx_chunk" else None
    runner = rt.make_runner(m, runtime.replace("_chunk", ""), res=16, batch=4, threads=1, chunk=chunk)
    try:
        out = runner(x.numpy(), y.numpy())
    finally:
        runner.close()
    assert out.shape == ref.shape and out.dtype == np.float32
    tol = {"bf16_cl": 5e-2, "ort_int8": 0.1 * float(np.abs(ref).max()) + 1e-3}.get(runtime, 1e-4)
    assert np.max(np.abs(out - ref)) < tol


def test_runner_rejects_bad_inputs() -> None:
    m = TinyPair().eval()
    runner = rt.make_runner(m, "onnx", res=16, batch=2, threads=1)
    x, y = rt.example_inputs(m, 16, 2)
    try:
        with pytest.raises(ValueError, match="2 input"):
            runner(x)
        with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
            runner(x[:, :2], y[:, :2])
        with pytest.raises(ValueError, match="16x16"):
            runner(*rt.example_inputs(m, 32, 2))
        bad = x.clone()
        bad[0, 0, 0, 0] = float("nan")
        with pytest.raises(ValueError, match="NaN"):
            runner(bad, y)
    finally:
        runner.close()
    with pytest.raises(ValueError, match="unknown runtime"):
        rt.make_runner(m, "tpu")


def test_time_call_counts_calls() -> None:
    calls = []
    t = rt.time_call(lambda: calls.append(1), (), min_time=0.01, repeats=2, warmup=1)
    assert t["calls"] >= 2 and len(calls) >= t["calls"] + 2
    assert t["sec_per_call"] > 0


# --- fidelity + CLI --------------------------------------------------------------------------
def test_fidelity_zero_for_identical_and_positive_for_different() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(3, 1, 16, 16)).astype(np.float32)
    same = bench.fidelity(ref, ref.copy())
    assert same["d_nss"] == 0 and same["d_maxf"] == 0 and same["max_abs_diff"] == 0
    other = bench.fidelity(ref, rng.normal(size=ref.shape).astype(np.float32))
    assert other["d_nss"] > 1e-3 and other["d_maxf"] > 1e-3


def test_parse_model_spec() -> None:
    assert bench.parse_model_spec("fastvsod[backbone=resnet18,width=0.5]") == (
        "fastvsod", {"backbone": "resnet18", "width": 0.5})
    assert bench.parse_model_spec("skd_st") == ("skd_st", {})
    with pytest.raises(ValueError):
        bench.parse_model_spec("x[a]")


@pytest.fixture()
def tiny_registered() -> str:
    from salkd.models import names, registry

    names()  # populate the registry before adding the stand-in
    registry.register("bench_tiny_pair")(lambda **kw: TinyPair())
    yield "bench_tiny_pair"
    registry._REGISTRY.pop("bench_tiny_pair", None)


def test_main_quick_writes_csv_markdown_and_speedup(tmp_path, capsys, tiny_registered: str) -> None:
    code = bench.main(["--quick", "--models", tiny_registered, "--res", "16", "--batch", "1", "4",
                       "--runtimes", "eager", "cl", "onnx", "--threads", "1", "--out", str(tmp_path),
                       "--no-progress"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"speedup [0-9.]+x, [0-9]+% of ceiling \((cl|onnx|eager), [a-z0-9_+-]+\)", lines[-1]), lines[-1]
    with open(tmp_path / "bench_models.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert set(bench.COLUMNS) <= set(rows[0])
    # threads 1 only: no separate per-core rows
    assert {(r["runtime"], r["batch"]) for r in rows} == {(r, b) for r in ("eager", "cl", "onnx") for b in ("1", "4")}
    assert all(r["precision"] == "fp32" and float(r["ceiling_fps"]) > 0 and float(r["peak_frac"]) > 0 for r in rows)
    assert all(r["status"] == "ok" for r in rows)
    assert all(float(r["fps"]) > 0 for r in rows)
    assert rows[0]["params"] == str(cost.count_params(TinyPair()))
    assert all(r["accurate"] == "True" for r in rows)
    md = (tmp_path / "bench_models.md").read_text()
    assert "| model | res | batch | runtime |" in md and "speedup_vs_eager" in md


def test_main_reports_model_errors(tmp_path, capsys) -> None:
    code = bench.main(["--quick", "--models", "no_such_model", "--res", "16", "--batch", "1",
                       "--runtimes", "eager", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    captured = capsys.readouterr()
    assert "unknown model" in captured.err
    assert captured.out.strip().splitlines()[-1].startswith("speedup nanx, nan% of ceiling (none, ")


def test_main_rejects_unknown_runtime(tmp_path) -> None:
    assert bench.main(["--quick", "--runtimes", "tpu", "--out", str(tmp_path)]) == 2


# --- precision, roofline, per-core, trained-run gate, cache ----------------------------------
def test_cpu_info_names_key_flags_and_cores() -> None:
    from salkd.bench import machine

    info = machine.cpu_info()
    assert info["cores"] >= 1 and set(info.get("flags", [])) <= set(machine.KEY_FLAGS)
    assert isinstance(info["mkldnn_bf16"], bool)
    line = bench.report.machine_line({"machine": info, "threads": 1})
    for flag in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"):
        assert f"{flag}=" in line


def test_headline_line_format() -> None:
    h = {"speedup": 3.2, "peak_frac": 0.871, "runtime": "ort_int8", "flags": "avx2+avx512_vnni"}
    assert bench.report.headline_line(h) == "speedup 3.20x, 87% of ceiling (ort_int8, avx2+avx512_vnni)"


def test_headline_names_the_check_that_decided_accuracy() -> None:
    """int8 / bf16 ship on a trained run's test frames: the line shows those deltas, not the random-input ones."""
    rows = [dict(model="skd_st", res=64, batch=64, runtime="eager", fps=100.0, speedup_vs_eager=1.0, accurate=True),
            dict(model="skd_st", res=64, batch=64, runtime="ort_int8", fps=500.0, speedup_vs_eager=5.0, accurate=True,
                 d_nss=3e-4, d_maxf=2e-2, d_nss_real=2e-3, d_cc_real=4e-4),
            dict(model="skd_st", res=64, batch=64, runtime="onnx", fps=300.0, speedup_vs_eager=3.0, accurate=True,
                 d_nss=1e-6, d_maxf=0.0)]
    h = bench._headline_row(rows)
    text = bench.report.check_text(h)
    assert h["runtime"] == "ort_int8" and "trained run" in text
    assert "|d_nss| 2.0e-03" in text and "|d_cc| 4.0e-04" in text and "2.0e-02" not in text
    h = bench._headline_row(rows[:1] + rows[2:])
    assert h["runtime"] == "onnx" and "same inputs as eager" in bench.report.check_text(h)
    assert bench.report.check_text(bench._headline_row(rows[:1])) == ""


def test_quantize_int8_calibrates_on_given_frames(tmp_path) -> None:
    from salkd.bench.quant import quantize_int8
    from salkd.export import export_onnx

    torch.manual_seed(0)
    m = TinyFrame().eval()
    export_onnx(m, tmp_path / "m.onnx", res=16)
    calib = [tuple(x.numpy() for x in rt.example_inputs(m, 16, 4, seed=k)) for k in range(2)]
    info = quantize_int8(tmp_path / "m.onnx", tmp_path / "m.int8.onnx", calib, reduce_range=False)
    assert info["calibration_frames"] == 8 and info["per_channel"]
    import onnx

    ops = {n.op_type for n in onnx.load(str(tmp_path / "m.int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    with pytest.raises(ValueError, match="at least one batch"):
        quantize_int8(tmp_path / "m.onnx", tmp_path / "x.onnx", [])


def test_within_tolerance_gates_nss_and_maxf() -> None:
    from salkd.bench import trained

    assert trained.deltas({"nss": 2.0, "cc": 0.5, "n_frames": 9}, {"nss": 2.005, "cc": 0.49}) == pytest.approx(
        {"d_nss_real": 0.005, "d_cc_real": 0.01})
    assert trained.within_tolerance({"d_nss_real": 0.009, "d_cc_real": 0.02})
    assert not trained.within_tolerance({"d_nss_real": 0.011})
    assert trained.within_tolerance({"d_maxf_real": 0.004, "d_mae_real": 0.1})
    assert not trained.within_tolerance({"d_maxf_real": 0.006})
    assert not trained.within_tolerance({"d_cc_real": 0.0})  # nothing gated: never shipped


class _StubRun:
    """Stands in for a trained run: scores a runner by the mean of its maps on fixed frames."""

    def __init__(self, model: nn.Module, shift: dict[str, float]) -> None:
        self.model, self.shift, self.path, self.name = model, shift, Path("stub-run"), "bench_tiny_pair"

    def describe(self) -> str:
        return "stub"

    def calibration(self, res: int) -> list[tuple[np.ndarray, ...]]:
        return [tuple(x.numpy() for x in rt.example_inputs(self.model, res, 4, seed=9))]

    def score(self, runner: Any, res: int, split: str = "test") -> dict[str, float]:
        name = getattr(runner, "runtime", "eager")
        return {"nss": 2.0 + self.shift.get(name, 0.0), "cc": 0.5, "n_frames": 4.0}


@pytest.mark.parametrize("shift,ships", [(0.002, True), (0.05, False)])
def test_reduced_precision_ships_only_within_tolerance_on_trained_run(monkeypatch, tmp_path, tiny_registered,
                                                                       shift: float, ships: bool) -> None:
    from salkd.bench import trained

    stub = _StubRun(TinyPair().eval(), {"ort_int8": shift})
    monkeypatch.setattr(trained, "runs_by_model", lambda paths: {tiny_registered: stub})
    result = bench.run(None, res=[16], batch=[1, 4], runtimes=["eager", "ort_int8"], quick=True, threads=2,
                       progress=False, runs=["stub-run"], per_core=True)
    rows = result["rows"]
    int8 = [r for r in rows if r["runtime"] == "ort_int8"]
    assert {r["threads"] for r in rows} == {1, 2}  # per-core rows beside the two-thread ones
    assert all(r["precision"] == "int8" and r["d_nss_real"] == pytest.approx(shift) for r in int8)
    assert all(r["accurate"] is ships for r in int8)
    assert all(("shipped" if ships else "rejected") in r["status"] for r in int8)
    assert all(r["weights"] == "trained: stub-run" for r in rows)
    # the headline's only candidate besides eager is int8, and only when it shipped
    assert result["speedup"]["runtime"] == ("ort_int8" if ships else "eager")


def test_reduced_precision_without_run_is_never_accurate(tiny_registered) -> None:
    result = bench.run([tiny_registered], res=[16], batch=[2], runtimes=["eager", "ort_int8"], quick=True,
                       threads=1, progress=False)
    int8 = [r for r in result["rows"] if r["runtime"] == "ort_int8"]
    assert int8 and all(r["accurate"] is None and "--run" in r["status"] for r in int8)
    assert result["speedup"]["runtime"] == "eager"


def test_bench_cache_measures_once_per_key(tmp_path) -> None:
    from salkd.bench import cache

    calls: list[int] = []

    def measure() -> dict[str, Any]:
        calls.append(1)
        return {"rows": [{"model": "m", "fps": 1.0}], "speedup": {"speedup": float("nan")}}

    settings = {"models": ["skd_st"], "res": [32], "batch": [1], "quick": True}
    a, hit_a = cache.cached_run(tmp_path, settings, 2, measure)
    b, hit_b = cache.cached_run(tmp_path, settings, 2, measure)
    assert (hit_a, hit_b) == (False, True) and a["rows"] == b["rows"] and len(calls) == 1
    cache.cached_run(tmp_path, settings, 1, measure)  # another thread count: measured
    cache.cached_run(tmp_path, {**settings, "res": [64]}, 2, measure)  # other settings: measured
    cache.cached_run(tmp_path, settings, 2, measure, refresh=True)
    assert len(calls) == 4
    entries = list((tmp_path / cache.CACHE_DIR).glob("*/result.json"))
    assert len(entries) == 3
    key = json.loads(entries[0].read_text())["key"]
    assert {"cpu", "flags", "threads", "torch", "model_code"} <= set(key)
