"""The noise of a score over training seeds and test units together, with a t quantile.

A row's score is a table ``x[s, u]``: training seed ``s`` (a run trained with that seed) scored on test
unit ``u`` (a block of consecutive test frames, or a test video). The mean over both is the reported
score; its variance is the sum of two components (a two-way random-effects model without interaction,
estimated conservatively: each component also carries a share of the residual):

* seeds: the variance of the per-seed means (each over all units) divided by the number of seeds;
* units: the variance of the per-unit means (each over all seeds) divided by the number of units.

``se = sqrt(var_seeds + var_units)``; its degrees of freedom follow Welch-Satterthwaite, and the 95 %
half-width is ``t(0.975, df) * se``. A row with one seed has no seed component (and says so: ``n_seeds``
1). A difference of two rows scored on the same units pairs them unit by unit (the per-unit mean
differences give the unit component) and adds both seed components (:func:`difference`).

Consecutive frames of one video are alike: a unit should be a block of frames long enough that
neighbouring units are nearly independent (``salkd.distill`` uses 64-frame blocks of 16-frame clips).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Estimate", "estimate", "difference", "combine", "t_quantile", "block_means"]


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error, degrees of freedom and 95 % half-width (``half``)."""

    mean: float
    se: float
    df: float
    n_seeds: int
    n_units: int

    @property
    def half(self) -> float:
        """The 95 % half-width ``t(0.975, df) * se`` (0 when the score has no measured noise)."""
        return 0.0 if self.se == 0.0 else t_quantile(0.975, self.df) * self.se

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def text(self, digits: int = 3) -> str:
        """``mean ± half`` (or the mean alone when no noise was measured)."""
        return f"{self.mean:.{digits}f}" + (f" ± {self.half:.{digits}f}" if self.se > 0 else "")


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (normal for df = inf)."""
    from scipy import stats

    return float(stats.norm.ppf(q)) if not math.isfinite(df) else float(stats.t.ppf(q, df))


def _matrix(x: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"expected scores as a (seeds, units) table, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"scores contain {int((~np.isfinite(a)).sum())} NaN/inf value(s): drop or fix the "
                         f"units whose score is undefined before estimating the noise")
    return a


def _satterthwaite(parts: Sequence[tuple[float, int]]) -> float:
    """Degrees of freedom of a sum of variance components ``(v_i, df_i)`` (Welch-Satterthwaite)."""
    num = sum(v for v, _ in parts) ** 2
    den = sum(v * v / d for v, d in parts if d > 0 and v > 0)
    return math.inf if den == 0 else num / den


def combine(mean: float, parts: Sequence[tuple[float, int]], n_seeds: int, n_units: int) -> Estimate:
    """An :class:`Estimate` from its variance components ``(variance, df)`` (each already divided by its
    count): ``se = sqrt(sum)``, Welch-Satterthwaite degrees of freedom (infinite when there is no noise)."""
    var = sum(v for v, _ in parts)
    return Estimate(float(mean), math.sqrt(var), _satterthwaite(parts) if var > 0 else math.inf, n_seeds, n_units)


def estimate(x: Sequence[Sequence[float]] | np.ndarray) -> Estimate:
    """The mean of a ``(seeds, units)`` score table and its noise (see the module docstring)."""
    a = _matrix(x)
    s, u = a.shape
    parts = []
    if s > 1:
        parts.append((float(a.mean(axis=1).var(ddof=1)) / s, s - 1))
    if u > 1:
        parts.append((float(a.mean(axis=0).var(ddof=1)) / u, u - 1))
    return combine(float(a.mean()), parts, s, u)


def difference(a: Sequence[Sequence[float]] | np.ndarray, b: Sequence[Sequence[float]] | np.ndarray,
               scale_b: float = 1.0) -> Estimate:
    """``mean(a) - scale_b * mean(b)`` for two rows scored on the same units (columns in the same order),
    trained with independent seeds: unit component from the paired per-unit differences, plus each row's
    seed component. ``scale_b``: e.g. 0.85 to test "a keeps 85 % of b"."""
    a, b = _matrix(a), _matrix(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the rows were scored on different numbers of units ({a.shape[1]} vs {b.shape[1]})")
    u = a.shape[1]
    d = a.mean(axis=0) - scale_b * b.mean(axis=0)
    parts = []
    if u > 1:
        parts.append((float(d.var(ddof=1)) / u, u - 1))
    for m, k in ((a, 1.0), (b, scale_b)):
        if m.shape[0] > 1:
            parts.append((k * k * float(m.mean(axis=1).var(ddof=1)) / m.shape[0], m.shape[0] - 1))
    return combine(float(d.mean()), parts, max(a.shape[0], b.shape[0]), u)


def block_means(values: Sequence[float] | np.ndarray, block: int) -> np.ndarray:
    """Means of consecutive blocks of ``block`` values (the last block takes the remainder when it is at
    least half a block, else it joins the previous one)."""
    v = np.asarray(values, dtype=np.float64)
    block = max(1, int(block))
    if len(v) <= block:
        return np.array([v.mean()]) if len(v) else v
    starts = list(range(0, len(v), block))
    if len(v) - starts[-1] < max(1, block // 2) and len(starts) > 1:
        starts.pop()
    ends = starts[1:] + [len(v)]
    return np.array([v[a:b].mean() for a, b in zip(starts, ends)])
