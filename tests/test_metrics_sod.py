"""SOD metrics against PySODMetrics (to 1e-6) on random and edge cases, plus API behaviour."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from salkd.metrics import MetricInputError, SODEvaluator, sod_frame_stats
from salkd.metrics.sod import SOD_KEYS

M = pytest.importorskip("py_sod_metrics")

TOL = 1e-6


def pysod(preds, gts, normalize=True):
    """Reference numbers from PySODMetrics (Fmeasure/MAE/Smeasure/Emeasure/WeightedFmeasure)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, mae, sm, em, wf = M.Fmeasure(), M.MAE(), M.Smeasure(), M.Emeasure(), M.WeightedFmeasure()
        for p, g in zip(preds, gts):
            for m in (fm, mae, sm, em, wf):
                m.step(p, g, normalize=normalize)
    f, e = fm.get_results(), em.get_results()
    return dict(
        max_f=f["fm"]["curve"].max(), mean_f=f["fm"]["curve"].mean(), adp_f=f["fm"]["adp"],
        mae=mae.get_results()["mae"], s_measure=sm.get_results()["sm"], max_e=e["em"]["curve"].max(),
        mean_e=e["em"]["curve"].mean(), adp_e=e["em"]["adp"], w_f=wf.get_results()["wfm"],
        f_curve=f["fm"]["curve"][::-1], e_curve=e["em"]["curve"][::-1],
        p_curve=f["pr"]["p"][::-1], r_curve=f["pr"]["r"][::-1],
    )


def ours(preds, gts):
    ev = SODEvaluator()
    ev.update(np.stack(preds), np.stack(gts))
    return ev


def assert_match(ev, ref, keys=SOD_KEYS):
    got = ev.compute()
    for k in keys:
        assert got[k] == pytest.approx(float(ref[k]), abs=TOL), k
    c = ev.curves()
    np.testing.assert_allclose(c["f"], ref["f_curve"], atol=TOL)
    np.testing.assert_allclose(c["e"], ref["e_curve"], atol=TOL)
    np.testing.assert_allclose(c["precision"], ref["p_curve"], atol=TOL)
    np.testing.assert_allclose(c["recall"], ref["r_curve"], atol=TOL)


def blob_mask(rng, h, w):
    g = np.zeros((h, w), np.uint8)
    y0, x0 = rng.integers(0, max(h - 1, 1)), rng.integers(0, max(w - 1, 1))
    g[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1)] = 255
    return g


def smooth_pred(rng, g):
    """A plausible map: noisy blurred mask, as uint8."""
    import cv2

    x = g.astype(np.float64) + rng.normal(0, 60, g.shape)
    x = cv2.GaussianBlur(x, (0, 0), 2)
    return np.clip(x, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("h,w", [(48, 64), (37, 23), (5, 90), (64, 31)])
def test_random_uint8_matches_pysod(h, w):
    rng = np.random.default_rng(h * 1000 + w)
    gts = [blob_mask(rng, h, w) for _ in range(4)]
    preds = [smooth_pred(rng, g) for g in gts[:2]] + [rng.integers(0, 256, (h, w)).astype(np.uint8) for _ in range(2)]
    assert_match(ours(preds, gts), pysod(preds, gts))


@pytest.mark.parametrize("h,w", [(40, 50), (17, 33)])
def test_random_float_matches_pysod(h, w):
    rng = np.random.default_rng(7 + h)
    gts = [blob_mask(rng, h, w) for _ in range(3)]
    preds = [rng.random((h, w)) for _ in range(2)] + [smooth_pred(rng, gts[2]) / 255.0]
    ev = SODEvaluator()
    ev.update(np.stack(preds), np.stack(gts))
    assert_match(ev, pysod(preds, [g > 128 for g in gts], normalize=False))


def test_float32_and_float_mask_conventions():
    rng = np.random.default_rng(3)
    g = blob_mask(rng, 30, 40)
    p = rng.random((30, 40))
    ev = SODEvaluator()
    ev.update(torch.from_numpy(p.astype(np.float32)), torch.from_numpy(g / 255.0))  # mask > 0.5
    ref = pysod([p.astype(np.float32).astype(np.float64)], [g > 128], normalize=False)
    assert ev.compute()["s_measure"] == pytest.approx(ref["s_measure"], abs=TOL)
    assert ev.compute()["mae"] == pytest.approx(ref["mae"], abs=TOL)


EDGE = {
    "all_zero_pred": lambda r: (np.zeros((30, 40), np.uint8), blob_mask(r, 30, 40)),
    "all_255_pred": lambda r: (np.full((30, 40), 255, np.uint8), blob_mask(r, 30, 40)),
    "empty_mask": lambda r: (r.integers(0, 256, (30, 40)).astype(np.uint8), np.zeros((30, 40), np.uint8)),
    "full_mask": lambda r: (r.integers(0, 256, (30, 40)).astype(np.uint8), np.full((30, 40), 255, np.uint8)),
    "zero_pred_empty_mask": lambda r: (np.zeros((30, 40), np.uint8), np.zeros((30, 40), np.uint8)),
    "one_pixel_object": lambda r: (r.integers(0, 256, (30, 40)).astype(np.uint8), _one_pixel(30, 40, 12, 7)),
    "one_pixel_corner_origin": lambda r: (r.integers(0, 256, (30, 40)).astype(np.uint8), _one_pixel(30, 40, 0, 0)),
    "two_values_pred": lambda r: (np.where(r.random((30, 40)) > 0.5, 200, 10).astype(np.uint8), blob_mask(r, 30, 40)),
    "pred_equals_mask": lambda r: ((lambda g: (g.copy(), g))(blob_mask(r, 30, 40))),
    "thin_frame": lambda r: (r.integers(0, 256, (3, 50)).astype(np.uint8), _one_pixel(3, 50, 1, 20)),
}


def _one_pixel(h, w, y, x):
    g = np.zeros((h, w), np.uint8)
    g[y, x] = 255
    return g


@pytest.mark.parametrize("case", sorted(EDGE))
def test_edge_cases_match_pysod(case):
    p, g = EDGE[case](np.random.default_rng(11))
    assert_match(ours([p], [g]), pysod([p], [g]))


def test_constant_zero_and_one_float_preds_match_pysod():
    rng = np.random.default_rng(5)
    g = blob_mask(rng, 20, 30)
    for c in (0.0, 1.0, 0.5):
        p = np.full((20, 30), c)
        assert_match(ours([p], [g]), pysod([p], [g > 128], normalize=False))


@pytest.mark.parametrize("h,w,y,x", [(20, 30, 10, 29), (20, 30, 19, 3), (1, 50, 0, 7)])
def test_centroid_on_last_row_or_column_is_finite_where_pysod_is_nan(h, w, y, x):
    """Documented difference: an empty S-measure quadrant gets weight 0 instead of NaN."""
    rng = np.random.default_rng(2)
    p = rng.integers(0, 256, (h, w)).astype(np.uint8)
    g = _one_pixel(h, w, y, x)
    ref = pysod([p], [g])
    ev = ours([p], [g])
    assert np.isnan(ref["s_measure"])
    s = ev.compute()["s_measure"]
    assert np.isfinite(s) and 0 <= s <= 1
    for k in ("max_f", "mae", "max_e", "adp_f", "adp_e", "w_f"):
        assert ev.compute()[k] == pytest.approx(float(ref[k]), abs=TOL)


def test_constant_uint8_pred_is_exact():
    """Documented difference: a constant map has exactly zero variance (PySOD may see 1e-33)."""
    g = _one_pixel(8, 8, 2, 2) | blob_mask(np.random.default_rng(0), 8, 8)
    ev = ours([np.full((8, 8), 128, np.uint8)], [g])
    ref = pysod([np.full((8, 8), 128, np.uint8)], [g])
    got = ev.compute()
    for k in ("max_f", "mae", "max_e", "adp_f", "adp_e"):
        assert got[k] == pytest.approx(float(ref[k]), abs=TOL)
    assert 0 <= got["s_measure"] <= 1


def test_batched_per_frame_and_streaming_agree():
    rng = np.random.default_rng(9)
    gts = np.stack([blob_mask(rng, 24, 36) for _ in range(6)])
    preds = np.stack([smooth_pred(rng, g) for g in gts])
    a, b, c = SODEvaluator(), SODEvaluator(), SODEvaluator()
    a.update(preds, gts)
    for p, g in zip(preds, gts):
        b.update(p, g)
    c.update(preds[:2], gts[:2])
    c.update(torch.from_numpy(preds[2:]), torch.from_numpy(gts[2:]))
    for ev in (b, c):
        for k, v in a.compute().items():
            assert ev.compute()[k] == pytest.approx(v, abs=1e-12), k
    assert a.n_frames == b.n_frames == c.n_frames == 6


def test_merge_equals_single_evaluator_and_reset():
    rng = np.random.default_rng(4)
    gts = np.stack([blob_mask(rng, 20, 20) for _ in range(5)])
    preds = rng.integers(0, 256, gts.shape).astype(np.uint8)
    whole = SODEvaluator()
    whole.update(preds, gts)
    x, y = SODEvaluator(), SODEvaluator()
    x.update(preds[:3], gts[:3])
    y.update(preds[3:], gts[3:])
    merged = SODEvaluator().merge(x).merge(y)
    for k, v in whole.compute().items():
        assert merged.compute()[k] == pytest.approx(v, abs=1e-12)
    assert merged.n_frames == 5
    assert x.n_frames == 3  # merge leaves the source alone
    x.reset()
    assert x.n_frames == 0
    with pytest.raises(MetricInputError):
        x.compute()
    with pytest.raises(TypeError):
        x.merge(object())


def test_max_f_is_on_the_frame_averaged_curve_not_mean_of_maxima():
    rng = np.random.default_rng(8)
    gts = [blob_mask(rng, 20, 30) for _ in range(3)]
    preds = [rng.integers(0, 256, (20, 30)).astype(np.uint8) for _ in range(3)]
    ev = ours(preds, gts)
    per_frame_max = np.mean([sod_frame_stats(p, g)["f"].max().item() for p, g in zip(preds, gts)])
    assert ev.compute()["max_f"] == pytest.approx(ev.curves()["f"].max())
    assert ev.compute()["max_f"] < per_frame_max


def test_resize_prediction_to_mask_size():
    rng = np.random.default_rng(1)
    g = blob_mask(rng, 40, 60)
    small = np.clip(rng.normal(128, 40, (20, 30)), 0, 255).astype(np.uint8)
    ev = SODEvaluator()
    ev.update(small, g)
    up = torch.nn.functional.interpolate(torch.from_numpy(small)[None, None].float(), size=(40, 60), mode="bilinear",
                                         align_corners=False, antialias=True)[0, 0].round().clamp(0, 255).byte().numpy()
    ref = pysod([up], [g])
    assert ev.compute()["mae"] == pytest.approx(ref["mae"], abs=TOL)
    assert ev.compute()["max_f"] == pytest.approx(ref["max_f"], abs=TOL)


def test_weighted_f_can_be_switched_off():
    rng = np.random.default_rng(1)
    g = blob_mask(rng, 20, 30)
    ev = SODEvaluator(weighted_f=False)
    ev.update(rng.integers(0, 256, (20, 30)).astype(np.uint8), g)
    assert np.isnan(ev.compute()["w_f"])
    assert set(ev.compute()) == set(SOD_KEYS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    gts = np.stack([blob_mask(rng, 30, 40) for _ in range(3)])
    preds = rng.integers(0, 256, gts.shape).astype(np.uint8)
    a, b = SODEvaluator(), SODEvaluator()
    a.update(torch.from_numpy(preds), torch.from_numpy(gts))
    b.update(torch.from_numpy(preds).cuda(), torch.from_numpy(gts).cuda())
    for k, v in a.compute().items():
        assert b.compute()[k] == pytest.approx(v, abs=1e-12)


@pytest.mark.parametrize(
    "pred,gt,match",
    [
        (np.zeros((3, 4, 5), np.uint8), np.zeros((2, 4, 5), np.uint8), "batch sizes differ"),
        (np.full((4, 5), np.nan), np.zeros((4, 5), np.uint8), "NaN or inf"),
        (np.full((4, 5), np.inf), np.zeros((4, 5), np.uint8), "NaN or inf"),
        (np.full((4, 5), 1.5), np.zeros((4, 5), np.uint8), r"\[0, 1\]"),
        (np.full((4, 5), -0.1), np.zeros((4, 5), np.uint8), r"\[0, 1\]"),
        (np.zeros((0, 4, 5), np.uint8), np.zeros((0, 4, 5), np.uint8), "empty batch"),
        (np.zeros((2, 3, 4, 5), np.uint8), np.zeros((4, 5), np.uint8), "expected shape"),
        (np.zeros((4, 5), np.int64), np.zeros((4, 5), np.uint8), "dtype"),
        ("not an array", np.zeros((4, 5), np.uint8), "numpy array or torch tensor"),
    ],
)
def test_bad_input_raises_clear_value_error(pred, gt, match):
    with pytest.raises(MetricInputError, match=match) as info:
        SODEvaluator().update(pred, gt)
    assert isinstance(info.value, ValueError)


def test_results_do_not_depend_on_thread_count_and_threads_are_restored():
    from salkd.metrics import FixationEvaluator

    rng = np.random.default_rng(12)
    gts = np.stack([blob_mask(rng, 30, 40) for _ in range(4)])
    preds = np.stack([smooth_pred(rng, g) for g in gts])
    before = torch.get_num_threads()
    out = []
    try:
        for nt in (1, 2):
            torch.set_num_threads(nt)
            ev, fx = SODEvaluator(), FixationEvaluator(n_splits=5)
            ev.update(preds, gts)
            ev.update(preds / 255.0, gts)
            fx.update(preds, gts > 128, preds)
            assert torch.get_num_threads() == nt
            out.append((ev.compute(), fx.per_frame()))
    finally:
        torch.set_num_threads(before)
    for k, v in out[0][0].items():
        assert out[1][0][k] == pytest.approx(v, abs=1e-12)
    for k, v in out[0][1].items():
        np.testing.assert_allclose(out[1][1][k], v, atol=1e-12)


@pytest.mark.parametrize("h,w", [(48, 85), (480, 854)])
def test_emeasure_of_an_all_zero_mask_is_not_clipped_as_pysodmetrics(h, w):
    """E-measure divides by H*W - 1 (PySODMetrics, Fan's Emeasure.m): an empty mask predicted empty
    scores H*W / (H*W - 1) > 1, e.g. 1.0000024 at 480x854; we report what PySODMetrics reports."""
    g = np.zeros((h, w), np.uint8)
    p = np.zeros((h, w), np.uint8)
    got = ours([p], [g]).compute()
    ref = pysod([p], [g])
    assert got["max_e"] == pytest.approx(float(ref["max_e"]), abs=1e-12)
    assert got["max_e"] == pytest.approx(h * w / (h * w - 1), abs=1e-12) and got["max_e"] > 1.0
    assert got["adp_e"] == pytest.approx(float(ref["adp_e"]), abs=1e-12)


def test_batched_update_sums_curves_exactly_as_single_frames():
    rng = np.random.default_rng(21)
    gts = [blob_mask(rng, 30, 40) for _ in range(5)]
    preds = [rng.integers(0, 256, (30, 40), dtype=np.uint8) for _ in range(5)]
    batched = ours(preds, gts)
    single = SODEvaluator()
    for p, g in zip(preds, gts):
        single.update(p, g)
    assert batched.compute() == single.compute()
    for k, v in single.curves().items():
        assert np.array_equal(batched.curves()[k], v), k
