"""metrics_table / dataset_table: rows, the "overall" row (frames vs videos), counts, errors."""
from __future__ import annotations

import numpy as np
import pytest

from salkd.metrics import FIXATION_KEYS, SOD_KEYS, FixationEvaluator, SODEvaluator, dataset_table, metrics_table


def _sod_videos(lengths=(2, 5)):
    rng = np.random.default_rng(0)
    evs, frames = {}, {}
    for i, n in enumerate(lengths):
        g = np.zeros((n, 20, 30), np.uint8)
        g[:, 5:12, 8:20] = 255
        p = rng.integers(0, 256, (n, 20, 30)).astype(np.uint8)
        ev = SODEvaluator(weighted_f=False)
        ev.update(p, g)
        evs[f"v{i}"] = ev
        frames[f"v{i}"] = (p, g)
    return evs, frames


def test_sod_table_rows_and_overall_over_all_frames():
    evs, frames = _sod_videos()
    df = metrics_table(evs)
    assert list(df.index) == ["v0", "v1", "overall"]
    assert set(SOD_KEYS) <= set(df.columns) and "n_frames" in df.columns
    assert df.loc["overall", "n_frames"] == 7 and df.loc["v0", "n_frames"] == 2
    pooled = SODEvaluator(weighted_f=False)
    pooled.update(np.concatenate([frames[k][0] for k in frames]), np.concatenate([frames[k][1] for k in frames]))
    for k, v in pooled.compute().items():
        if not np.isnan(v):
            assert df.loc["overall", k] == pytest.approx(v, abs=1e-12), k
    assert df.loc["v1", "mae"] == pytest.approx(evs["v1"].compute()["mae"])


def test_sod_table_videos_mode_is_video_weighted_as_davsod_toolkit():
    evs, _ = _sod_videos()
    df = metrics_table(evs, overall="videos")
    mean_curve = (evs["v0"].curves()["f"] + evs["v1"].curves()["f"]) / 2
    assert df.loc["overall", "max_f"] == pytest.approx(mean_curve.max(), abs=1e-12)
    assert df.loc["overall", "mae"] == pytest.approx(df.loc[["v0", "v1"], "mae"].mean(), abs=1e-12)
    frames = metrics_table(evs)
    assert df.loc["overall", "mae"] != pytest.approx(frames.loc["overall", "mae"], abs=1e-9)


def test_fixation_table_has_undefined_counts():
    rng = np.random.default_rng(1)
    evs = {}
    for name in ("a", "b"):
        ev = FixationEvaluator(n_splits=5)
        fix = rng.random((3, 12, 16)) < 0.1
        fix[0] = False
        ev.update(rng.random((3, 12, 16)), fix, rng.random((3, 12, 16)))
        evs[name] = ev
    df = metrics_table(evs)
    assert set(FIXATION_KEYS) <= set(df.columns)
    assert df.loc["overall", "n_undefined_nss"] == 2 and df.loc["a", "n_undefined_nss"] == 1
    assert df.loc["overall", "n_undefined_sauc"] == 6
    assert df["n_undefined_nss"].dtype.kind == "i"
    allv = np.concatenate([evs[k].per_frame()["nss"] for k in evs])
    assert df.loc["overall", "nss"] == pytest.approx(np.nanmean(allv), abs=1e-12)


def test_dataset_table_and_errors():
    evs, _ = _sod_videos()
    dt = dataset_table({"A": evs, "B": {"v0": evs["v0"]}})
    assert list(dt.index) == ["A", "B"] and dt.loc["B", "n_frames"] == 2
    with pytest.raises(ValueError, match="overall"):
        metrics_table(evs, overall="mean")
    with pytest.raises(ValueError, match="per_video"):
        metrics_table({})
    with pytest.raises(ValueError, match="no frames"):
        metrics_table({"x": SODEvaluator()})
    with pytest.raises(TypeError):
        metrics_table({"x": evs["v0"], "y": FixationEvaluator()})
