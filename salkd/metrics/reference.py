"""Slow, literal reference implementation of the MIT saliency benchmark fixation metrics.

Written line by line from the MATLAB definitions of the MIT saliency benchmark (Bylinskii et al.,
TPAMI 2018: ``AUC_Judd.m``, ``AUC_Borji.m``, ``AUC_shuffled.m``, ``NSS.m``, ``CC.m``,
``similarity.m``, ``KLdiv.m``; and skd's NSS after Marat et al., IJCV 2009) in plain numpy with explicit threshold loops, one frame at a time.
It exists to check ``salkd.metrics.fixation`` (which is vectorized and batched) and as the
baseline of ``python -m salkd.bench metrics --fixation``. It shares only the random stream with
the fast code (``frame_rng`` and the documented draw order), so that the random parts agree
exactly; the undefined cases follow the same documented choices (constant map, all-zero density and
AUC-Borji with at most one fixated pixel → NaN).
Resizing uses ``cv2.resize`` (bilinear, no antialiasing), so compare on upsampled or same-size maps.
"""
from __future__ import annotations

import cv2
import numpy as np

from salkd.metrics.fixation import FIXATION_KEYS, JITTER_SCALE, KLD_EPS, frame_rng

__all__ = ["reference_frame_metrics", "auc_judd", "auc_borji", "auc_shuffled", "nss", "nss_marat", "cc", "similarity",
           "kldiv"]


def _resize(s: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if s.shape == shape:
        return s
    return cv2.resize(s, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _normalize(s: np.ndarray) -> np.ndarray | None:
    lo, hi = s.min(), s.max()
    if hi == lo:
        return None
    return (s - lo) / (hi - lo)


def auc_judd(sal: np.ndarray, fix: np.ndarray, rng: np.random.Generator) -> float:
    """``AUC_Judd.m`` with jitter ``rand/1e7`` from ``rng``; NaN without fixations or on a constant map."""
    jitter = rng.random(sal.size).reshape(sal.shape)
    if not (fix > 0).any() or sal.max() == sal.min():
        return float("nan")
    s = _normalize(sal + jitter * JITTER_SCALE)
    S = s.ravel()
    F = fix.ravel() > 0
    sth = S[F]
    nfix, npix = sth.size, S.size
    if nfix == npix:
        return float("nan")
    allthreshes = np.sort(sth)[::-1]
    tp = np.zeros(nfix + 2)
    fp = np.zeros(nfix + 2)
    tp[-1] = fp[-1] = 1.0
    for i in range(1, nfix + 1):
        thresh = allthreshes[i - 1]
        aboveth = np.sum(S >= thresh)
        tp[i] = i / nfix
        fp[i] = (aboveth - i) / (npix - nfix)
    return float(np.sum(np.diff(fp) * (tp[:-1] + tp[1:]) / 2))


def _auc_splits(sth: np.ndarray, randfix: np.ndarray, step: float) -> float:
    """The split loop shared by ``AUC_Borji.m`` and ``AUC_shuffled.m``; ``randfix`` is (K, Nsplits)."""
    nfix = sth.size
    aucs = []
    for s in range(randfix.shape[1]):
        curfix = randfix[:, s]
        top = max(sth.max(), curfix.max())
        kmax = int(np.floor(top / step + 1e-9))
        ks = [k for k in range(kmax + 1) if k * step <= top]
        allthreshes = [k * step for k in ks][::-1]
        tp = np.zeros(len(allthreshes) + 2)
        fp = np.zeros(len(allthreshes) + 2)
        tp[-1] = fp[-1] = 1.0
        for i, thresh in enumerate(allthreshes, start=1):
            tp[i] = np.sum(sth >= thresh) / nfix
            fp[i] = np.sum(curfix >= thresh) / curfix.size
        aucs.append(np.sum(np.diff(fp) * (tp[:-1] + tp[1:]) / 2))
    return float(np.mean(aucs))


def auc_borji(sal: np.ndarray, fix: np.ndarray, rng: np.random.Generator, n_splits: int = 100, step: float = 0.1) -> float:
    """``AUC_Borji.m``: negatives uniform with replacement over all pixels; NaN with at most one fixated
    pixel (MIT's code cannot score it; the negatives are still drawn, as the fast code does)."""
    F = fix.ravel() > 0
    if not F.any() or sal.max() == sal.min():
        return float("nan")
    S = _normalize(sal).ravel()
    sth = S[F]
    r = rng.integers(0, S.size, size=(n_splits, sth.size))
    if sth.size < 2:
        return float("nan")
    randfix = S[r].T
    return _auc_splits(sth, randfix, step)


def auc_shuffled(sal: np.ndarray, fix: np.ndarray, other: np.ndarray | None, rng: np.random.Generator,
                 n_splits: int = 100, step: float = 0.1) -> float:
    """``AUC_shuffled.m``: negatives without replacement from the other-fixation locations."""
    F = fix.ravel() > 0
    if other is None or not F.any() or sal.max() == sal.min():
        return float("nan")
    S = _normalize(sal).ravel()
    sth = S[F]
    ind = np.flatnonzero(other.ravel() > 0)
    if ind.size == 0:
        return float("nan")
    k = min(sth.size, ind.size)
    randfix = np.empty((k, n_splits))
    for i in range(n_splits):
        randfix[:, i] = S[ind[rng.choice(ind.size, size=k, replace=False, shuffle=False)]]
    return _auc_splits(sth, randfix, step)


def nss(sal: np.ndarray, fix: np.ndarray) -> float:
    """``NSS.m``: mean of the standardized map (N−1 std) on fixated pixels."""
    if not (fix > 0).any() or sal.max() == sal.min():
        return float("nan")
    m = (sal - sal.mean()) / sal.std(ddof=1)
    return float(m[fix > 0].mean())


def nss_marat(sal: np.ndarray, dens: np.ndarray | None) -> float:
    """skd's NSS (Marat et al. 2009): ``(mean(M_h * M_s) - mean(M_s)) / std(M_s)``, ``M_h`` the density
    normalized to unit mean, std with N-1; NaN without a (nonzero) density or on a constant map."""
    if dens is None or not np.any(dens) or sal.max() == sal.min():
        return float("nan")
    mh = dens / dens.mean()
    return float((np.mean(mh * sal) - sal.mean()) / sal.std(ddof=1))


def cc(sal: np.ndarray, dens: np.ndarray | None) -> float:
    """``CC.m``: ``corr2`` of the standardized maps."""
    if dens is None or sal.max() == sal.min() or dens.max() == dens.min():
        return float("nan")
    a = (sal - sal.mean()) / sal.std(ddof=1)
    b = (dens - dens.mean()) / dens.std(ddof=1)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def similarity(sal: np.ndarray, dens: np.ndarray | None) -> float:
    """``similarity.m``: min-max then sum normalisation (skipped for an all-zero map), sum of minima;
    NaN for an all-zero density (no ground truth; MIT returns 0)."""
    if dens is None or not np.any(dens):
        return float("nan")
    maps = []
    for m in (sal, dens):
        if np.any(m):
            if m.max() == m.min():
                return float("nan")
            m = (m - m.min()) / (m.max() - m.min())
            m = m / m.sum()
        maps.append(m)
    return float(np.minimum(*maps).sum())


def kldiv(sal: np.ndarray, dens: np.ndarray | None) -> float:
    """``KLdiv.m``: sum(Q log(eps + Q / (P + eps))) with both maps divided by their sums; NaN for an
    all-zero density (no ground truth; MIT returns 0)."""
    if dens is None or not np.any(dens):
        return float("nan")
    p = sal / sal.sum() if np.any(sal) else sal
    q = dens / dens.sum() if np.any(dens) else dens
    return float(np.sum(q * np.log(KLD_EPS + q / (p + KLD_EPS))))


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def reference_frame_metrics(pred: np.ndarray, fixations: np.ndarray, density: np.ndarray | None = None,
                            other_fixations: np.ndarray | None = None, *, seed: int = 0, n_splits: int = 100,
                            step: float = 0.1, frame_index: int = 0) -> dict[str, float]:
    """All seven metrics of one ``(H, W)`` frame, drawing randomness as ``fixation_frame_metrics``."""
    fix = np.asarray(fixations)
    sal = _resize(_as_float(pred), fix.shape)
    dens = None if density is None else _as_float(density)
    rng = frame_rng(seed, frame_index)
    out = {
        "auc_judd": auc_judd(sal, fix, rng),
        "auc_borji": auc_borji(sal, fix, rng, n_splits, step),
        "sauc": auc_shuffled(sal, fix, other_fixations, rng, n_splits, step),
        "nss": nss(sal, fix),
        "cc": cc(sal, dens),
        "sim": similarity(sal, dens),
        "kld": kldiv(sal, dens),
        "nss_marat": nss_marat(sal, dens),
    }
    return {k: out[k] for k in FIXATION_KEYS}
