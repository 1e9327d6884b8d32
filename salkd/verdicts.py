"""Noise and verdict rules of the claims check (one place; each rule is tested on synthetic results).

* Noise of a difference A - B (:func:`diff_stats`; one function for every comparison): the variance of
  the difference is the sum of

  - a test-unit part: the variance of the per-unit differences A - B over the test videos (or clips)
    both were scored on, divided by their number U (paired); when the two were scored on different
    units, each side's variance of its per-unit values over its own number of units (unpaired);
  - a training-seed part for each side run with several seeds: the variance of its per-seed scores
    divided by its number of seeds S.

  ``SE = sqrt(sum)``; its degrees of freedom follow Welch-Satterthwaite (the unit part has U - 1, each
  seed part S - 1); the noise is the 95 % half-width ``t(0.975, df) x SE`` (:mod:`salkd.noise`), never
  below a small per-metric floor (:data:`NOISE_FLOOR`, about the rounding of the papers' tables). With
  no per-unit values and one seed per side the noise is assumed: :data:`NO_ERRORBAR_REL` of the score.
* The smallest effect the design detects (80 % power, two-sided 5 %): ``noise + t(0.8, df) x SE``, i.e.
  ``(t(0.975, df) + t(0.8, df)) x SE`` when the floor does not bind.
* "A beats B": ``reproduced`` when the claimed direction holds by more than the noise (the 95 % interval
  of A - B lies above 0), ``not reproduced`` when the opposite holds by more than the noise, ``inconclusive``
  in between, ``not measured`` when there is no number of ours.
* "A is as good as B" (keeps / comparable / about as good; :func:`verdict_not_worse`): non-inferiority with
  a margin ``m`` the paper itself gives (``salkd.papers.numbers.NI_MARGINS``): ``reproduced`` when the
  lower end of the 95 % interval of A - B is above ``-m``, ``not reproduced`` when its upper end is below
  ``-m``, ``inconclusive`` otherwise.
* ``underpowered`` (:func:`verdict_power`): a comparison left undecided whose paper effect (A - B in the
  paper's own table; for non-inferiority the paper's A - B plus the margin) is smaller than the smallest
  effect our design detects: the run could not have decided it. Decided rows keep their verdict (a
  95 % interval clear of 0 is evidence whatever the power).
* :func:`cap` then weakens a verdict the data cannot carry: with one training seed per side (the seed
  spread is not measured) or test clips from a single source video (split in time), ``reproduced``
  becomes ``consistent`` and ``not reproduced`` becomes ``inconsistent``: the direction holds (or fails)
  beyond the noise we can measure, but not beyond the noise of training seeds and videos together.
* Facts of a model that were fitted to the paper (parameter counts of students whose widths were
  chosen to match) are ``by construction``; quantities measured under another definition (memory
  footprint) are ``not comparable``. Neither counts as reproduced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from salkd.noise import Estimate, combine, t_quantile
from salkd.results import Summary

__all__ = ["REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_MEASURED", "CONSISTENT", "INCONSISTENT",
           "BY_CONSTRUCTION", "NOT_COMPARABLE", "UNDERPOWERED", "AT_CHANCE", "JUDGED", "VERDICTS", "cap", "LOWER_BETTER", "NOISE_FLOOR",
           "NO_ERRORBAR_REL", "POWER", "Noise", "diff_stats", "diff_noise", "verdict_better", "verdict_not_worse",
           "verdict_power", "verdict_best", "verdict_close", "verdict_at_least", "verdict_all"]

LOWER_BETTER = {"mae", "kld"}
#: the noise assumed (relative to the score) when a difference has no error bar at all
NO_ERRORBAR_REL = 0.05
#: minimal noise per metric (about the rounding of the papers' tables)
NOISE_FLOOR = {"nss": 0.005, "cc": 0.002, "sim": 0.002, "auc_judd": 0.002, "sauc": 0.002, "max_f": 0.002,
               "mae": 0.001, "s_measure": 0.002}
#: the power at which the smallest detectable effect is stated
POWER = 0.8

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_MEASURED = "reproduced", "not reproduced", "inconclusive", "not measured"
CONSISTENT, INCONSISTENT = "consistent", "inconsistent"
BY_CONSTRUCTION, NOT_COMPARABLE = "by construction", "not comparable"
UNDERPOWERED = "underpowered"
#: a comparison of two models neither of which is above the centred Gaussian by more than the noise: it measures
#: nothing about the claim, so it is not judged
AT_CHANCE = "at chance"
#: the verdicts that judge a measured comparison (the others say why a row is not judged)
JUDGED = {REPRODUCED, CONSISTENT, INCONCLUSIVE, UNDERPOWERED, INCONSISTENT, NOT_REPRODUCED}
#: every verdict, in the order of the CLAIMS.md summary
VERDICTS = [REPRODUCED, CONSISTENT, INCONCLUSIVE, UNDERPOWERED, AT_CHANCE, INCONSISTENT, NOT_REPRODUCED, NOT_MEASURED,
            NOT_COMPARABLE, BY_CONSTRUCTION]


@dataclass(frozen=True)
class Noise:
    """The noise of a difference A - B: its estimate (mean, SE, df, seeds, units), the 95 % half-width after
    the floor (``half``), the smallest effect detected with :data:`POWER` (``detectable``), how many seeds
    each side had, whether the units were paired, and whether the noise was assumed (no error bar)."""

    est: Estimate
    half: float
    detectable: float
    seeds: tuple[int, int]
    paired: bool
    assumed: bool = False

    def text(self) -> str:
        """How the noise was measured, with its n: ``95 % CI = ±t(0.975, df 4.1) x SE 0.12 = 0.523; 6 test
        unit(s) (paired), 3 vs 3 seed(s)`` (and the floor when it binds)."""
        if self.assumed:
            return f"no error bar: noise = {NO_ERRORBAR_REL:.0%} of the score; {self.seeds[0]} vs {self.seeds[1]} seed(s)"
        df = "inf" if not math.isfinite(self.est.df) else f"{self.est.df:.1f}"
        units = f"{self.est.n_units} test unit(s) ({'paired' if self.paired else 'unpaired'})"
        width = (f"t(0.975, df {df}) x SE {self.est.se:.3g} = {self.est.half:.3g}, raised to the floor {self.half:.3g}"
                 if self.half > self.est.half else f"t(0.975, df {df}) x SE {self.est.se:.3g} = {self.half:.3g}")
        return f"95 % CI = ±{width}; {units}, {self.seeds[0]} vs {self.seeds[1]} seed(s)"


def _units_part(v: Any) -> tuple[float, int] | None:
    """``(variance / n, n - 1)`` of a series of per-unit values (None with fewer than two)."""
    if v is None:
        return None
    v = v.dropna()
    return (float(v.var(ddof=1)) / len(v), len(v) - 1) if len(v) > 1 else None


def _seed_part(s: Summary) -> tuple[float, int] | None:
    """``(variance of the per-seed scores / S, S - 1)`` of one side (None with one seed)."""
    return (float(np.var(s.run_values, ddof=1)) / s.n_runs, s.n_runs - 1) if s.n_runs > 1 else None


def diff_stats(a: Summary, b: Summary, metric: str) -> Noise:
    """The noise of ``a - b`` (see the module docstring): unit part paired over the common units when both
    sides have per-unit values, plus each side's seed part; Welch-Satterthwaite df; t quantile; floor."""
    floor = NOISE_FLOOR.get(metric, 0.0)
    parts: list[tuple[float, int]] = []
    paired, n_units = False, 0
    if a.videos is not None and b.videos is not None:
        common = a.videos.index.intersection(b.videos.index)
        d = (a.videos[common] - b.videos[common]).dropna()
        if len(d) > 1:
            parts.append(_units_part(d))
            paired, n_units = True, len(d)
    if not paired:
        for s in (a, b):
            u = _units_part(s.videos)
            if u is not None:
                parts.append(u)
                n_units = max(n_units, u[1] + 1)
    parts += [p for p in (_seed_part(a), _seed_part(b)) if p is not None]
    seeds = (a.n_runs, b.n_runs)
    mean = a.value - b.value
    if not parts:  # no per-unit values and one seed: assume seeds move a score by ~5 % of it
        half = max(NO_ERRORBAR_REL * max(abs(a.value), abs(b.value)), floor)
        se = half / t_quantile(0.975, math.inf)
        est = Estimate(mean, se, math.inf, max(seeds), n_units)
        return Noise(est, half, half + t_quantile(POWER, math.inf) * se, seeds, False, assumed=True)
    est = combine(mean, parts, max(seeds), n_units)
    half = max(est.half, floor)
    return Noise(est, half, half + (t_quantile(POWER, est.df) * est.se if est.se > 0 else 0.0), seeds, paired)


def diff_noise(a: Summary, b: Summary, metric: str) -> float:
    """The noise (95 % half-width, floored) of ``a - b``: :func:`diff_stats` ``.half``."""
    return diff_stats(a, b, metric).half


def verdict_better(margin: float | None, noise: float) -> str:
    """Claim "A beats B": ``margin`` = (A - B) signed so that positive = the claimed direction."""
    if margin is None or not np.isfinite(margin):
        return NOT_MEASURED
    if margin > noise:
        return REPRODUCED
    if margin < -noise:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def verdict_not_worse(margin: float | None, noise: float, ni_margin: float = 0.0) -> str:
    """Claim "A is as good as B" (non-inferiority): ``margin`` = A - B (positive = A better), ``noise`` its
    95 % half-width, ``ni_margin`` the loss the paper still calls "as good" (>= 0). ``reproduced`` when the
    interval's lower end ``margin - noise`` is above ``-ni_margin``, ``not reproduced`` when its upper end
    ``margin + noise`` is below ``-ni_margin``, else ``inconclusive`` (with ``ni_margin`` 0 the rule of
    :func:`verdict_better`)."""
    if ni_margin < 0:
        raise ValueError(f"verdict_not_worse: the non-inferiority margin must be >= 0, got {ni_margin}")
    if margin is None or not np.isfinite(margin):
        return NOT_MEASURED
    return verdict_better(margin + ni_margin, noise)


def verdict_power(verdict: str, paper_effect: float | None, detectable: float) -> str:
    """``underpowered`` instead of ``inconclusive`` when the paper's own effect (signed so that positive =
    the claimed direction; for non-inferiority plus the margin) is smaller than the smallest effect the
    design detects; any other verdict, or an unknown paper effect, is returned unchanged."""
    if verdict != INCONCLUSIVE or paper_effect is None or not np.isfinite(paper_effect):
        return verdict
    return UNDERPOWERED if abs(paper_effect) < detectable else verdict


def cap(verdict: str, seeds: int, sources: int) -> str:
    """Weaken ``reproduced`` / ``not reproduced`` to ``consistent`` / ``inconsistent`` when the noise
    misses a part: fewer than 2 training seeds on either side, or fewer than 2 source videos."""
    if seeds >= 2 and sources >= 2:
        return verdict
    return {REPRODUCED: CONSISTENT, NOT_REPRODUCED: INCONSISTENT}.get(verdict, verdict)


def verdict_best(values: Mapping[Any, float], claimed: Any, noise: float, higher: bool = True) -> tuple[str, float | None]:
    """Claim "``claimed`` is the best setting": (verdict, margin of claimed over the best other)."""
    if claimed not in values or len(values) < 2:
        return NOT_MEASURED, None
    sign = 1.0 if higher else -1.0
    others = [sign * v for k, v in values.items() if k != claimed]
    margin = sign * values[claimed] - max(others)
    return verdict_better(margin, noise), margin


def verdict_close(ours: float | None, paper: float, rtol: float) -> str:
    """A quantity the paper states (parameter count, memory): reproduced within ``rtol`` (relative)."""
    if ours is None or not np.isfinite(ours):
        return NOT_MEASURED
    return REPRODUCED if abs(ours / paper - 1.0) <= rtol else NOT_REPRODUCED


def verdict_at_least(ours: float | None, paper: float) -> str:
    """A speed the paper states: reproduced when ours is at least the paper's."""
    if ours is None or not np.isfinite(ours):
        return NOT_MEASURED
    return REPRODUCED if ours >= paper else NOT_REPRODUCED


#: how a conjunction of verdicts resolves: the first of this list that any part has wins (a failing part
#: fails the whole; then a missing part leaves it unmeasured; then the weakest support decides)
_CONJUNCTION = [NOT_REPRODUCED, INCONSISTENT, NOT_MEASURED, NOT_COMPARABLE, BY_CONSTRUCTION, AT_CHANCE, UNDERPOWERED,
                INCONCLUSIVE,
                CONSISTENT, REPRODUCED]


def verdict_all(*parts: str) -> str:
    """A claim made of several parts that must all hold (e.g. "as accurate as the teacher *and* much
    faster"): ``not reproduced`` / ``inconsistent`` if any part fails, else ``not measured`` if any part
    is, else the weakest support among the parts (``underpowered`` < ``inconclusive`` < ``consistent`` <
    ``reproduced``)."""
    if not parts:
        return NOT_MEASURED
    unknown = [p for p in parts if p not in _CONJUNCTION]
    if unknown:
        raise ValueError(f"verdict_all: unknown verdict(s) {unknown}")
    return min(parts, key=_CONJUNCTION.index)
