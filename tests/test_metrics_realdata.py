"""Metrics on the real sample data (DAVIS-2016 masks, DHF1K gaze maps) and the benchmark entry point."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from salkd.metrics import FIXATION_KEYS, FixationEvaluator, SODEvaluator
from salkd.metrics.reference import reference_frame_metrics

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample data not found at {path}")
    return path


def _read(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert img is not None, path
    return img


@pytest.mark.realdata
def test_davis_masks_match_pysod_with_resized_low_res_predictions():
    """DAVIS val masks (854x480) against blurred, shifted 427x240 'predictions' (resized up first)."""
    import cv2

    M = pytest.importorskip("py_sod_metrics")
    seq = _need(DATA / "davis2016" / "val" / "blackswan" / "GT_object")
    gts = [_read(p) for p in sorted(seq.glob("*.png"))[:3]]
    rng = np.random.default_rng(0)
    preds = []
    for g in gts:
        small = cv2.resize(np.roll(g, 9, axis=1), (427, 240), interpolation=cv2.INTER_AREA).astype(np.float32)
        small = np.clip(cv2.GaussianBlur(small, (0, 0), 3) + rng.normal(0, 20, small.shape), 0, 255)
        preds.append(small.astype(np.uint8))
    ev = SODEvaluator()
    ev.update(np.stack(preds), np.stack(gts))
    # what PySODMetrics sees: the same resize done first
    import torch

    up = torch.nn.functional.interpolate(torch.from_numpy(np.stack(preds))[:, None].float(), size=gts[0].shape,
                                         mode="bilinear", align_corners=False, antialias=True)
    up = up[:, 0].round().clamp(0, 255).byte().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, mae, sm, em, wf = M.Fmeasure(), M.MAE(), M.Smeasure(), M.Emeasure(), M.WeightedFmeasure()
        for p, g in zip(up, gts):
            for m in (fm, mae, sm, em, wf):
                m.step(p, g)
    got = ev.compute()
    assert got["max_f"] == pytest.approx(fm.get_results()["fm"]["curve"].max(), abs=1e-6)
    assert got["mae"] == pytest.approx(mae.get_results()["mae"], abs=1e-6)
    assert got["s_measure"] == pytest.approx(sm.get_results()["sm"], abs=1e-6)
    assert got["max_e"] == pytest.approx(em.get_results()["em"]["curve"].max(), abs=1e-6)
    assert got["w_f"] == pytest.approx(wf.get_results()["wfm"], abs=1e-6)
    assert 0.3 < got["max_f"] < 1.0


@pytest.mark.realdata
def test_dhf1k_gaze_maps_match_reference_with_shuffle_map():
    d = _need(DATA / "dhf1k_sample" / "0002")
    other = np.load(_need(DATA / "reference" / "shuffle_maps" / "dhf1k_shuffledmap.npy"))
    from salkd.evaluate import load_shuffle_map  # what the real-cpu profile's evaluation reads

    assert np.array_equal(load_shuffle_map(DATA / "reference" / "shuffle_maps" / "dhf1k_shuffledmap.npy"),
                          other.astype(np.float32))
    fix = np.stack([_read(d / "fixation" / f"{i:04d}.png") for i in (10, 11)])
    dens = np.stack([_read(d / "maps" / f"{i:04d}.png") for i in (10, 11)])
    pred = np.stack([_read(d / "maps" / f"{i:04d}.png") for i in (20, 21)])  # a later frame's map as "prediction"
    ev = FixationEvaluator(seed=0, n_splits=20)
    ev.update(pred, fix, dens, other)
    pf = ev.per_frame()
    for i in range(2):
        ref = reference_frame_metrics(pred[i], fix[i], dens[i], other, seed=0, n_splits=20, frame_index=i)
        for k in FIXATION_KEYS:
            assert pf[k][i] == pytest.approx(ref[k], abs=1e-8), k
    got = ev.compute()
    assert got["auc_judd"] > 0.6 and got["nss"] > 0.5 and ev.n_undefined["sauc"] == 0


def test_benchmark_entry_points_run_and_agree(capsys):
    from salkd.bench.metrics import main

    assert main(["--frames", "2", "--batch", "2"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("ratio ") and last.endswith("x")
    assert main(["--frames", "1", "--fixation"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("ratio ")
