"""Fixation metrics: hand-computed cases, the slow MIT reference, undefined frames, API behaviour."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from salkd.metrics import FIXATION_KEYS, FixationEvaluator, MetricInputError, fixation_frame_metrics
from salkd.metrics.reference import reference_frame_metrics


def frame(pred, fix, dens=None, other=None, **kw):
    out = fixation_frame_metrics(pred, fix, dens, other, **kw)
    return {k: float(v[0]) for k, v in out.items()}


def test_nss_hand_computed():
    pred = np.array([[0.0, 1.0], [0.0, 0.0]])
    fix = np.array([[0, 1], [0, 0]], np.uint8)
    # mean 0.25, std (N-1) 0.5 -> (1 - 0.25) / 0.5
    assert frame(pred, fix)["nss"] == pytest.approx(1.5, abs=1e-12)


def test_auc_judd_hand_computed():
    pred = np.array([[0.1, 0.4, 0.35, 0.8]])
    fix = np.array([[0, 0, 1, 1]])
    # ROC points (0,0) (0,.5) (.5,1) (1,1): area 0.875 (jitter 1e-7 moves it by < 1e-6)
    assert frame(pred, fix)["auc_judd"] == pytest.approx(0.875, abs=1e-6)


def test_sauc_is_half_when_negatives_are_the_fixations():
    rng = np.random.default_rng(0)
    pred = rng.random((20, 30))
    fix = rng.random((20, 30)) < 0.05
    assert frame(pred, fix, other=fix)["sauc"] == pytest.approx(0.5, abs=1e-12)


def test_auc_borji_of_the_fixation_map_itself():
    rng = np.random.default_rng(1)
    fix = np.zeros((50, 80), bool)
    fix[rng.integers(0, 50, 40), rng.integers(0, 80, 40)] = True
    f = fix.mean()
    # every fixation above every threshold; a negative lands on a fixation with prob f: AUC = 1 - hit/2
    got = frame(fix.astype(float), fix, n_splits=400)["auc_borji"]
    assert got == pytest.approx(1 - f / 2, abs=3e-3)
    assert got < 1.0


def test_cc_sim_kld_hand_cases():
    rng = np.random.default_rng(2)
    d = rng.random((16, 24))
    fix = d > 0.95
    same = frame(d, fix, d)
    assert same["cc"] == pytest.approx(1.0, abs=1e-12)
    assert same["sim"] == pytest.approx(1.0, abs=1e-12)
    assert same["kld"] == pytest.approx(0.0, abs=1e-12)
    assert frame(1 - d, fix, d)["cc"] == pytest.approx(-1.0, abs=1e-12)
    a = np.zeros((4, 4)); a[:2] = 1.0
    b = np.zeros((4, 4)); b[2:] = 0.5
    assert frame(a, np.eye(4), b)["sim"] == pytest.approx(0.0, abs=1e-15)
    # KLD by hand: P uniform on 2 of 4 pixels, Q uniform on all 4
    p = np.array([[1.0, 1.0, 0.0, 0.0]])
    q = np.array([[0.25, 0.25, 0.25, 0.25]])
    eps = 2.2204e-16
    want = 2 * 0.25 * math.log(eps + 0.25 / (0.5 + eps)) + 2 * 0.25 * math.log(eps + 0.25 / eps)
    assert frame(p, np.array([[1, 0, 0, 0]]), q)["kld"] == pytest.approx(want, rel=1e-12)


def test_undefined_frames_are_nan_skipped_and_counted():
    rng = np.random.default_rng(3)
    pred = rng.random((3, 10, 12))
    pred[1] = 0.3  # constant map
    fix = rng.random((3, 10, 12)) < 0.1
    fix[2] = False  # no fixations
    ev = FixationEvaluator(n_splits=10)
    ev.update(pred, fix, density=rng.random((3, 10, 12)))
    pf = ev.per_frame()
    for k in ("auc_judd", "auc_borji", "nss", "cc"):
        assert not np.isnan(pf[k][0])
        assert np.isnan(pf[k][1]), k
    for k in ("auc_judd", "auc_borji", "nss"):
        assert np.isnan(pf[k][2]), k
    assert np.isnan(pf["sim"][1]) and not np.isnan(pf["kld"][1])  # constant nonzero map: SIM 0/0 (MIT)
    assert ev.n_undefined["nss"] == 2 and ev.n_undefined["cc"] == 1 and ev.n_undefined["sauc"] == 3
    got = ev.compute()
    assert got["nss"] == pytest.approx(pf["nss"][0])
    assert math.isnan(got["sauc"])
    assert set(got) == set(FIXATION_KEYS)


def test_all_zero_prediction_sim_is_zero_as_mit():
    d = np.random.default_rng(0).random((6, 6))
    out = frame(np.zeros((6, 6)), d > 0.5, d)
    assert out["sim"] == 0.0 and math.isnan(out["nss"]) and math.isnan(out["auc_judd"])


def test_no_density_gives_nan_distribution_metrics():
    out = frame(np.random.default_rng(0).random((6, 6)), np.eye(6))
    assert all(math.isnan(out[k]) for k in ("cc", "sim", "kld"))


def _random_case(seed, n=3, h=24, w=40, uint8=False):
    rng = np.random.default_rng(seed)
    pred = rng.random((n, h, w))
    if uint8:  # a map with many ties
        pred = (pred * 6).astype(np.uint8) * 40
    fix = (rng.random((n, h, w)) < 0.03).astype(np.uint8)
    fix[:, 3, 5] = 2  # count maps count each pixel once
    dens = rng.random((n, h, w))
    other = rng.random((h, w)) < 0.1
    return pred, fix, dens, other


@pytest.mark.parametrize("uint8", [False, True])
def test_matches_slow_reference(uint8):
    pred, fix, dens, other = _random_case(5, uint8=uint8)
    fast = fixation_frame_metrics(pred, fix, dens, other, seed=7, n_splits=25)
    for i in range(pred.shape[0]):
        ref = reference_frame_metrics(pred[i], fix[i], dens[i], other, seed=7, n_splits=25, frame_index=i)
        for k in FIXATION_KEYS:
            assert float(fast[k][i]) == pytest.approx(ref[k], abs=1e-10), (k, i)


def test_matches_reference_after_upsampling_pred():
    rng = np.random.default_rng(6)
    small = rng.random((12, 20))
    fix = rng.random((24, 40)) < 0.05
    dens = rng.random((24, 40))
    fast = frame(small, fix, dens, fix, seed=1, n_splits=10)
    ref = reference_frame_metrics(small, fix, dens, fix, seed=1, n_splits=10)
    for k in FIXATION_KEYS:
        assert fast[k] == pytest.approx(ref[k], abs=1e-6), k


def test_batched_per_frame_streaming_and_merge_agree():
    pred, fix, dens, other = _random_case(8, n=4)
    a, b, c = FixationEvaluator(seed=3, n_splits=10), FixationEvaluator(seed=3, n_splits=10), FixationEvaluator(seed=3, n_splits=10)
    a.update(pred, fix, dens, other)
    for i in range(4):
        b.update(pred[i], fix[i], dens[i], other)
    c.update(torch.from_numpy(pred[:1]), torch.from_numpy(fix[:1]), torch.from_numpy(dens[:1]), torch.from_numpy(other))
    c.update(pred[1:], fix[1:], dens[1:], np.broadcast_to(other, (3,) + other.shape))
    for ev in (b, c):
        for k, v in a.per_frame().items():
            np.testing.assert_allclose(ev.per_frame()[k], v, atol=1e-12)
    first, rest = FixationEvaluator(seed=3, n_splits=10), FixationEvaluator(seed=3, n_splits=10)
    first.update(pred[:2], fix[:2], dens[:2], other)
    rest.update(pred[2:], fix[2:], dens[2:], other)
    merged = FixationEvaluator().merge(first).merge(rest)
    assert merged.n_frames == 4
    np.testing.assert_allclose(merged.per_frame()["nss"], a.per_frame()["nss"], atol=1e-12)
    a.reset()
    assert a.n_frames == 0


def test_deterministic_by_seed():
    pred, fix, dens, other = _random_case(9, n=2)
    r1 = fixation_frame_metrics(pred, fix, dens, other, seed=4, n_splits=10)
    r2 = fixation_frame_metrics(pred, fix, dens, other, seed=4, n_splits=10)
    r3 = fixation_frame_metrics(pred, fix, dens, other, seed=5, n_splits=10)
    for k in FIXATION_KEYS:
        torch.testing.assert_close(r1[k], r2[k], rtol=0, atol=0)
    assert not torch.equal(r1["auc_borji"], r3["auc_borji"])
    torch.testing.assert_close(r1["nss"], r3["nss"], rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    pred, fix, dens, other = _random_case(10)
    a = fixation_frame_metrics(pred, fix, dens, other, n_splits=10)
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).cuda()
    b = fixation_frame_metrics(t(pred), t(fix), t(dens), t(other), n_splits=10)
    for k in FIXATION_KEYS:
        torch.testing.assert_close(b[k].cpu(), a[k], rtol=0, atol=1e-10, equal_nan=True)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(pred=np.full((4, 5), np.nan)), "NaN or inf"),
        (dict(pred=np.full((4, 5), 2.0)), r"\[0, 1\]"),
        (dict(pred=np.zeros((2, 4, 5))), "batch sizes differ"),
        (dict(density=np.zeros((4, 6))), "density: expected shape"),
        (dict(other_fixations=np.zeros((5, 5))), "other_fixations: expected spatial size"),
        (dict(pred=np.zeros((0, 4, 5)), fixations=np.zeros((0, 4, 5))), "empty batch"),
    ],
)
def test_bad_input_raises_clear_value_error(kw, match):
    args = dict(pred=np.random.default_rng(0).random((4, 5)), fixations=np.eye(4, 5), density=None, other_fixations=None)
    args.update(kw)
    with pytest.raises(MetricInputError, match=match) as info:
        FixationEvaluator(n_splits=5).update(**args)
    assert isinstance(info.value, ValueError)
    with pytest.raises(MetricInputError, match="n_splits"):
        FixationEvaluator(n_splits=0)


def test_read_only_inputs_are_accepted_without_warnings() -> None:
    # cached low-res labels are memory maps opened read-only
    import warnings

    from salkd.metrics._input import as_tensor

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    a.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = as_tensor(a, "pred")
    assert np.array_equal(t.numpy(), a)


def test_auc_borji_is_undefined_with_at_most_one_fixated_pixel():
    rng = np.random.default_rng(11)
    pred = rng.random((3, 12, 16))
    fix = np.zeros((3, 12, 16), np.uint8)
    fix[0, 4, 5] = 1                      # one fixated pixel: NaN, as MIT's AUC_Borji.m cannot score it
    fix[1, 4, 5] = fix[1, 7, 9] = 1       # two: defined
    other = rng.random((12, 16)) < 0.2
    out = fixation_frame_metrics(pred, fix, None, other, n_splits=10)
    assert math.isnan(float(out["auc_borji"][0])) and math.isfinite(float(out["auc_borji"][1]))
    assert math.isnan(float(out["auc_borji"][2]))  # no fixation
    # the other metrics of the one-fixation frame stay defined, and sAUC's random stream is unchanged
    for k in ("auc_judd", "sauc", "nss"):
        assert math.isfinite(float(out[k][0])), k
    ref = reference_frame_metrics(pred[0], fix[0], None, other, n_splits=10)
    assert float(out["sauc"][0]) == pytest.approx(ref["sauc"], abs=1e-12) and math.isnan(ref["auc_borji"])


def test_all_zero_density_is_undefined_and_counted():
    rng = np.random.default_rng(12)
    pred = rng.random((2, 8, 10))
    fix = rng.random((2, 8, 10)) < 0.1
    dens = rng.random((2, 8, 10))
    dens[1] = 0.0  # e.g. an unlabeled frame stored as zeros: MIT scores it KLD 0 (perfect) and SIM 0
    ev = FixationEvaluator(n_splits=5)
    ev.update(pred, fix, density=dens)
    pf = ev.per_frame()
    for k in ("cc", "sim", "kld", "nss_marat"):
        assert math.isfinite(pf[k][0]) and math.isnan(pf[k][1]), k
        assert ev.n_undefined[k] == 1, k
    assert math.isfinite(pf["nss"][1])  # the fixations are still scored
    ref = reference_frame_metrics(pred[1], fix[1], dens[1], seed=0, n_splits=5, frame_index=1)
    assert all(math.isnan(ref[k]) for k in ("cc", "sim", "kld", "nss_marat"))


def test_nss_marat_hand_computed_and_against_mit_nss():
    pred = np.array([[0.0, 1.0], [0.0, 0.0]])  # mean 0.25, std (N-1) 0.5: z = [-0.5, 1.5, -0.5, -0.5]
    dens = np.array([[0.0, 3.0], [1.0, 0.0]])  # unit-mean density (0, 3, 1, 0) / 1
    fix = np.array([[0, 1], [0, 0]], np.uint8)
    got = frame(pred, fix, dens)
    assert got["nss_marat"] == pytest.approx((3 * 1.5 + 1 * -0.5) / 4, abs=1e-12)  # sum(d z) / sum(d) = 1.0
    assert got["nss"] == pytest.approx(1.5, abs=1e-12)
    # a density concentrated on the fixated pixels gives MIT's NSS back
    assert frame(pred, fix, fix.astype(float))["nss_marat"] == pytest.approx(got["nss"], abs=1e-12)
    assert math.isnan(frame(pred, fix)["nss_marat"])              # no density
    assert math.isnan(frame(np.full((2, 2), 0.3), fix, dens)["nss_marat"])  # constant prediction
