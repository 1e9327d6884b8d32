"""Fidelity of an optimized runtime: does it predict what eager fp32 predicts on the same inputs?

:func:`fidelity` returns ``max_abs_diff`` of the logits, ``d_nss`` and ``d_maxf``; a runtime is
:func:`accurate` when both metric differences are below :data:`ACCURACY_TOL`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fidelity", "accurate", "ACCURACY_TOL"]

ACCURACY_TOL = 1e-3


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x.astype(np.float64), -60, 60)))


def _nss(maps: np.ndarray, fix: np.ndarray) -> float:
    """Mean over images of the mean standardized map value at the fixations (Peters et al. NSS)."""
    vals = []
    for m, f in zip(maps, fix):
        sd = m.std()
        z = (m - m.mean()) / (sd if sd > 0 else 1.0)
        vals.append(float(z[f].mean()))
    return float(np.mean(vals))


def _max_f(maps: np.ndarray, masks: np.ndarray, beta2: float = 0.3, steps: int = 256) -> float:
    """Max over thresholds of the mean-over-images F-measure (beta^2 = 0.3), maps min-max normalized."""
    f_curves = []
    th = np.linspace(0, 1, steps, endpoint=False)
    for m, g in zip(maps, masks):
        lo, hi = m.min(), m.max()
        p = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        pos = p.ravel()[:, None] >= th[None, :]
        tp = (pos & g.ravel()[:, None]).sum(0).astype(np.float64)
        prec = tp / np.maximum(pos.sum(0), 1)
        rec = tp / max(int(g.sum()), 1)
        f_curves.append((1 + beta2) * prec * rec / np.maximum(beta2 * prec + rec, 1e-12))
    return float(np.mean(f_curves, 0).max())


def fidelity(ref_logits: np.ndarray, logits: np.ndarray, *, fixations: int = 16, seed: int = 0) -> dict[str, float]:
    """Compare an optimized runtime's logits with eager fp32's on the same inputs.

    NSS: ``fixations`` points per image sampled from the fp32 map (sigmoid of the logits, as a
    probability distribution); ``d_nss = |NSS(opt) - NSS(fp32)|``. max-F: mask = fp32 map >= half
    its (min, max) range; ``d_maxf = |maxF(opt) - maxF(fp32)|``. Also ``max_abs_diff`` of the logits.
    """
    ref = _sigmoid(ref_logits[:, 0])
    opt = _sigmoid(logits[:, 0])
    rng = np.random.default_rng(seed)
    n, h, w = ref.shape
    fix = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        p = ref[i].ravel() / ref[i].sum()
        fix[i].ravel()[rng.choice(h * w, size=min(fixations, h * w), replace=False, p=p)] = True
    lo = ref.reshape(n, -1).min(1)[:, None, None]
    hi = ref.reshape(n, -1).max(1)[:, None, None]
    masks = ref >= lo + 0.5 * (hi - lo)
    return {
        "max_abs_diff": float(np.max(np.abs(ref_logits.astype(np.float64) - logits.astype(np.float64)))),
        "d_nss": abs(_nss(opt, fix) - _nss(ref, fix)),
        "d_maxf": abs(_max_f(opt, masks) - _max_f(ref, masks)),
    }


def accurate(fid: dict[str, float]) -> bool:
    """Both |NSS| and |max-F| differences below :data:`ACCURACY_TOL`."""
    return bool(fid["d_nss"] < ACCURACY_TOL and fid["d_maxf"] < ACCURACY_TOL)
