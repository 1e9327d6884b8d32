"""``salkd.evaluate.evaluate``: the saved-map SOD protocol, both max-F conventions, batching per video,
and the edge cases of issue 14 item 8 (empty fixation folder, unfinished run, run of the other task)."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_fixtures import make_dhf1k, make_toolkit  # noqa: E402

from salkd.data import open_dataset  # noqa: E402
from salkd.evaluate import PROTOCOL, evaluate, model_task, saved_map  # noqa: E402
from salkd.models import build  # noqa: E402


def _model(name: str = "skd_spatial") -> torch.nn.Module:
    torch.manual_seed(0)
    return build(name).eval()


def _run(root: Path, name: str = "skd_spatial", finished: bool = True) -> Path:
    model = _model(name)
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict()}, root / "checkpoint.pt")
    torch.save({"model": model.state_dict()}, root / "best.pt")
    if finished:
        (root / "metrics.json").write_text("{}")
    return root


def _float_maps(ds, seed: int = 0, size=(12, 16)) -> dict[str, np.ndarray]:
    """Random float predictions in [0, 1] per video, smaller than the labels (so they are upsampled)."""
    rng = np.random.default_rng(seed)
    return {v: rng.random((len(ds[v]),) + size).astype(np.float32) for v in ds.names}


def test_saved_map_rounds_like_save_image():
    p = np.array([0.0, 0.5 / 255, 0.49 / 255, 1.0, 0.2, 127.5 / 255], np.float32)
    ref = torch.from_numpy(p).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()  # torchvision.utils.save_image
    assert np.array_equal(saved_map(p), ref)
    assert saved_map(p).dtype == np.uint8


def test_sod_scores_saved_maps_like_pysodmetrics_pooled_and_per_sequence(tmp_path):
    py_sod_metrics = pytest.importorskip("py_sod_metrics")
    from salkd.evaluate import _resize_batch

    ds = open_dataset(make_toolkit(tmp_path / "d", n_seq=3, n_frames=5))
    maps = _float_maps(ds)
    df = evaluate(None, ds, 32, device="cpu", progress=False, maps=maps, cache_root=tmp_path / "c")
    pooled, curves = py_sod_metrics.Fmeasure(), []
    for v in ds.names:
        per_seq = py_sod_metrics.Fmeasure()
        for t in range(len(ds[v])):
            gt = ds[v].read_mask(t)
            png = saved_map(_resize_batch(maps[v][t:t + 1], gt.shape)[0])  # the 8-bit map a user saves
            pooled.step(png, gt)
            per_seq.step(png, gt)
        curves.append(per_seq.get_results()["fm"]["curve"])
        assert df.loc[v, "max_f"] == pytest.approx(curves[-1].max(), abs=1e-10)
        assert df.loc[v, "max_f_seq"] == df.loc[v, "max_f"]
    assert df.loc["overall", "max_f"] == pytest.approx(pooled.get_results()["fm"]["curve"].max(), abs=1e-10)
    assert df.loc["overall", "max_f_seq"] == pytest.approx(np.mean(curves, axis=0).max(), abs=1e-10)
    assert df.attrs["protocol"] == PROTOCOL


def test_sod_quantisation_and_min_max_change_the_score_of_a_float_map(tmp_path):
    """A low-contrast float map: PySODMetrics' min-max on the saved PNG stretches it to [0, 1]."""
    from salkd.metrics import SODEvaluator

    ds = open_dataset(make_toolkit(tmp_path / "d", n_seq=1, n_frames=3))
    v = ds.names[0]
    masks = np.stack([ds[v].read_mask(t) for t in range(3)])
    maps = {v: (0.4 + 0.1 * (masks > 128)).astype(np.float32)}  # 0.4 background, 0.5 object
    df = evaluate(None, ds, 32, device="cpu", progress=False, maps=maps, cache_root=tmp_path / "c")
    raw = SODEvaluator()
    raw.update(maps[v], masks)
    assert df.loc["overall", "mae"] == pytest.approx(0.0, abs=1e-12)  # min-max: exactly the mask
    assert raw.compute()["mae"] == pytest.approx(0.45, abs=0.06)      # the float map as it is


@pytest.mark.filterwarnings("ignore:model skd_spatial predicts fixation")
@pytest.mark.parametrize("kind", ["vsod", "fixation"])
@pytest.mark.parametrize("labels", ["full", "cache"])
def test_batches_per_video_give_identical_results(tmp_path, kind, labels):
    data = (make_toolkit(tmp_path / "d", n_seq=2, n_frames=7) if kind == "vsod"
            else make_dhf1k(tmp_path / "d", n_videos=3, n_frames=7, with_points=False))
    ds = open_dataset(data)
    model = _model()
    kw = dict(device="cpu", progress=False, labels=labels, cache_root=tmp_path / "c", seed=3)
    one = evaluate(model, ds, 32, metric_batch=1, **kw)
    for n in (3, 16):
        pd.testing.assert_frame_equal(evaluate(model, ds, 32, metric_batch=n, **kw), one, check_exact=True)
    maps = _float_maps(ds, 1)
    pd.testing.assert_frame_equal(evaluate(None, ds, 32, maps=maps, metric_batch=16, **kw),
                                  evaluate(None, ds, 32, maps=maps, metric_batch=1, **kw), check_exact=True)


@pytest.mark.parametrize("labels", ["full", "cache"])
def test_fixation_folder_empty_but_density_maps_present(tmp_path, labels):
    data = make_dhf1k(tmp_path / "d", n_videos=2, n_frames=4, with_points=False)
    for f in data.glob("*/fixation/*.png"):
        f.unlink()
    with pytest.warns(UserWarning):
        ds = open_dataset(data)  # the empty label folder is warned about by the data layer
    with pytest.warns(UserWarning, match="no fixation maps"):
        df = evaluate(_model(), ds, 32, device="cpu", progress=False, cache_root=tmp_path / "c", labels=labels)
    row = df.loc["overall"]
    assert np.isnan(row["nss"]) and np.isnan(row["auc_judd"]) and row["n_undefined_nss"] == row["n_frames"] == 8
    assert np.isfinite(row["cc"]) and np.isfinite(row["nss_marat"]) and row["n_undefined_cc"] == 0


def test_unfinished_run_and_run_of_the_other_task_warn(tmp_path):
    fix_data = make_dhf1k(tmp_path / "fx", n_videos=2, n_frames=3, with_points=False)
    vsod_data = make_toolkit(tmp_path / "vs", n_seq=2, n_frames=3)
    done = _run(tmp_path / "done")
    assert model_task(done) == "fixation" and model_task(_model("fastvsod")) == "vsod"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a finished fixation run on fixation data: no warning
        evaluate(done, open_dataset(fix_data), 32, device="cpu", progress=False, cache_root=tmp_path / "c")
    with pytest.warns(UserWarning, match="predicts fixation but .* scored as vsod"):
        evaluate(done, vsod_data, 32, device="cpu", progress=False, cache_root=tmp_path / "c")
    with pytest.warns(UserWarning, match="predicts fixation but .* scored as vsod"):
        evaluate(_model(), vsod_data, 32, device="cpu", progress=False, cache_root=tmp_path / "c")
    with pytest.warns(UserWarning, match="is not finished"):
        evaluate(_run(tmp_path / "half", finished=False), open_dataset(fix_data), 32, device="cpu", progress=False,
                 cache_root=tmp_path / "c")


def test_a_new_protocol_invalidates_cached_evaluations(tmp_path, monkeypatch):
    import salkd.evaluate as ev_mod
    from salkd.context import Context, evaluate_run
    from salkd.map_sources import baseline_run
    from salkd.runs import read_json

    data = make_dhf1k(tmp_path / "gaze", n_videos=3, n_frames=8, size=(36, 64), with_points=False)
    ctx = Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False,
                  overrides={"references.fixation": ["center_prior"]})
    run = baseline_run(ctx, "center_prior", "fixation")
    first = evaluate_run(ctx, run, "test")
    key = run / "eval_test.json"
    assert read_json(key)["protocol"] == PROTOCOL and "nss_marat" in first.columns
    stamp = key.stat().st_mtime_ns
    evaluate_run(ctx, run, "test")
    assert key.stat().st_mtime_ns == stamp  # same protocol: the cached evaluation is reused
    monkeypatch.setattr(ev_mod, "PROTOCOL", PROTOCOL + " (changed)")
    evaluate_run(ctx, run, "test")
    assert read_json(key)["protocol"] == PROTOCOL + " (changed)"  # recomputed under the new protocol
