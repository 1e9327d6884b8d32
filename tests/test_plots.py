"""salkd.plots: every figure function returns a Figure on the Agg canvas; save writes PNG + PDF."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from salkd import plots


def test_bar_and_save(tmp_path):
    fig = plots.bar_metric(["MB+scratch", "CA-Res+dis"], [1.2, 1.4], err=[0.05, 0.04],
                           paper={"CA-Res+dis": 1.981}, title="t", second=[0.1, 0.08], second_label="MAE",
                           second_paper={"CA-Res+dis": 0.02}, note="ours: smoke")
    assert isinstance(fig, Figure)
    paths = plots.save(fig, tmp_path / "out", "bars")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"


def test_sweep_memory_resolution():
    assert isinstance(plots.sweep([0.0, 0.5, 1.0], [1.0, 1.2, 0.9], err=[0.1, 0.1, 0.1], paper_x=[0.5],
                                  paper_y=[2.1], mark=0.5), Figure)
    assert isinstance(plots.sweep([0.1, 0.7], [0.6, 0.7], second=[0.1, 0.09], second_label="MAE", bars=True), Figure)
    df = pd.DataFrame({"model": ["skd_st"] * 2 + ["uva_st"] * 2, "res": [32, 64, 32, 64], "mem_mb": [0.1, 0.5, 0.7, 2.7]})
    assert isinstance(plots.memory_vs_resolution(df, paper={"skd_st": {32: 0.14, 64: 0.58}}), Figure)
    t = pd.DataFrame({"teacher": ["dva"] * 2, "res": [32, 64], "nss": [1.0, 1.1]})
    assert isinstance(plots.metric_vs_resolution(t, paper={"dva": {32: 2.04, 64: 2.1}}), Figure)


def test_roc_from_maps_perfect_and_chance():
    rng = np.random.default_rng(0)
    fix = [(rng.random((16, 16)) > 0.9).astype(np.float32) for _ in range(3)]
    fpr, tpr = plots.roc_from_maps([f + 0.01 * rng.random(f.shape) for f in fix], fix)
    assert np.trapezoid(tpr, fpr) == pytest.approx(1.0, abs=0.02)
    fpr, tpr = plots.roc_from_maps([rng.random((16, 16)) for _ in fix], fix)
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.5, abs=0.1)
    assert fpr[0] == 0 and fpr[-1] == pytest.approx(1) and tpr[-1] == pytest.approx(1)
    fig = plots.roc_curves({"a": (fpr, tpr)})
    assert "a (" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_qualitative_grid():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for _ in range(2)]
    gts = [rng.random((8, 8)) for _ in range(2)]
    fig = plots.qualitative_grid(frames, gts, {"m1": gts, "m2": [np.zeros((8, 8))] * 2}, title="q")
    assert len(fig.axes) == 2 * 4


def test_roc_counts_stream_batches_like_one_call():
    rng = np.random.default_rng(5)
    fix = rng.random((6, 12, 16)) < 0.1
    preds = rng.random((6, 12, 16))
    counts = plots.RocCounts()
    counts.update(preds[:2], fix[:2])
    counts.update(preds[2], fix[2])          # one (H, W) frame
    counts.update(list(preds[3:]), list(fix[3:]))
    assert counts.n_frames == 6
    for got, want in zip(counts.curve(), plots.roc_from_maps(list(preds), list(fix))):
        np.testing.assert_array_equal(got, want)


def test_skd_fig6_roc_uses_every_test_frame(tmp_path):
    """The ROC pools every labelled test frame of each run, not the 12 frames of the qualitative figure."""
    import json

    import torch

    from data_fixtures import make_dhf1k
    from salkd.context import Context
    from salkd.map_sources import baseline_run
    from salkd.models import build
    from salkd.report import roc_all_frames

    data = make_dhf1k(tmp_path / "gaze", n_videos=2, n_frames=60, size=(36, 64), with_points=False)
    ctx = Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False,
                  overrides={"references.fixation": ["center_prior"]})
    run = tmp_path / "student"
    run.mkdir()
    model = build("skd_spatial")
    (run / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec, "task": "fixation"}))
    torch.save({"model": model.state_dict()}, run / "best.pt")
    ds = ctx.dataset("fixation", "test")
    n_test = sum(len(ds[v].labeled("fixation")) for v in ds.names)
    assert n_test > 12
    counts = roc_all_frames(ctx, {"center": baseline_run(ctx, "center_prior", "fixation"), "student": run})
    assert {k: c.n_frames for k, c in counts.items()} == {"center": n_test, "student": n_test}
    fpr, tpr = counts["center"].curve()
    assert fpr[-1] == pytest.approx(1.0) and tpr[-1] == pytest.approx(1.0)
