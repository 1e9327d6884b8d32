"""Noise and verdict rules of the claims check (one place; each rule is tested on synthetic results).

* Noise of a difference A - B: the per-video values give a paired standard error over the videos both
  were scored on (unpaired when the videos differ); with several seeds the seed spread counts too
  (the larger wins). ``noise = 2 x SE`` (about a 95 % band), never below a small per-metric floor
  (:data:`NOISE_FLOOR`, roughly the rounding of the papers' tables).
* ``reproduced`` when the claimed direction holds by more than the noise, ``not reproduced`` when the
  opposite holds by more than the noise, ``inconclusive`` in between, ``not measured`` when there is
  no number of ours.
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
from typing import Any, Mapping

import numpy as np

from salkd.results import Summary

__all__ = ["REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_MEASURED", "CONSISTENT", "INCONSISTENT",
           "BY_CONSTRUCTION", "NOT_COMPARABLE", "VERDICTS", "cap", "LOWER_BETTER", "NOISE_FLOOR",
           "NO_ERRORBAR_REL", "diff_noise", "verdict_better", "verdict_not_worse", "verdict_best", "verdict_close",
           "verdict_at_least", "verdict_all"]

LOWER_BETTER = {"mae", "kld"}
#: the noise assumed (relative to the score) when a difference has no error bar at all
NO_ERRORBAR_REL = 0.05
#: minimal noise per metric (about the rounding of the papers' tables)
NOISE_FLOOR = {"nss": 0.005, "cc": 0.002, "sim": 0.002, "auc_judd": 0.002, "sauc": 0.002, "max_f": 0.002,
               "mae": 0.001, "s_measure": 0.002}

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_MEASURED = "reproduced", "not reproduced", "inconclusive", "not measured"
CONSISTENT, INCONSISTENT = "consistent", "inconsistent"
BY_CONSTRUCTION, NOT_COMPARABLE = "by construction", "not comparable"
#: every verdict, in the order of the CLAIMS.md summary
VERDICTS = [REPRODUCED, CONSISTENT, INCONCLUSIVE, INCONSISTENT, NOT_REPRODUCED, NOT_MEASURED, NOT_COMPARABLE,
            BY_CONSTRUCTION]


def diff_noise(a: Summary, b: Summary, metric: str) -> float:
    """2 x standard error of ``a - b`` (paired over common videos when possible), floored."""
    se = None
    if a.videos is not None and b.videos is not None:
        common = a.videos.index.intersection(b.videos.index)
        if len(common) > 1:
            d = (a.videos[common] - b.videos[common]).dropna()
            if len(d) > 1:
                se = float(d.std(ddof=1) / math.sqrt(len(d)))
    if se is None:
        sa, sb = a.se(), b.se()
        if sa is not None or sb is not None:
            se = math.sqrt((sa or 0.0) ** 2 + (sb or 0.0) ** 2)
    seeds = [s for s in (a, b) if s.n_runs > 1]
    if seeds:
        ss = math.sqrt(sum((np.std(s.run_values, ddof=1) / math.sqrt(s.n_runs)) ** 2 for s in seeds))
        se = max(se or 0.0, ss)
    if se is None:  # no per-video values and one seed: assume seeds move a score by ~5 % of it
        return max(NO_ERRORBAR_REL * max(abs(a.value), abs(b.value)), NOISE_FLOOR.get(metric, 0.0))
    return max(2.0 * se, NOISE_FLOOR.get(metric, 0.0))


def verdict_better(margin: float | None, noise: float) -> str:
    """Claim "A beats B": ``margin`` = (A - B) signed so that positive = the claimed direction."""
    if margin is None or not np.isfinite(margin):
        return NOT_MEASURED
    if margin > noise:
        return REPRODUCED
    if margin < -noise:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def verdict_not_worse(margin: float | None, noise: float) -> str:
    """Claim "A is as good as B" (e.g. an encoder is not needed at test): ``not reproduced`` if A loses by
    more than the noise, ``reproduced`` if A wins by more than the noise, else ``inconclusive`` (a
    difference within the noise is not evidence of equality)."""
    return verdict_better(margin, noise)


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
_CONJUNCTION = [NOT_REPRODUCED, INCONSISTENT, NOT_MEASURED, NOT_COMPARABLE, BY_CONSTRUCTION, INCONCLUSIVE, CONSISTENT,
                REPRODUCED]


def verdict_all(*parts: str) -> str:
    """A claim made of several parts that must all hold (e.g. "as accurate as the teacher *and* much
    faster"): ``not reproduced`` / ``inconsistent`` if any part fails, else ``not measured`` if any part
    is, else the weakest support among the parts (``inconclusive`` < ``consistent`` < ``reproduced``)."""
    if not parts:
        return NOT_MEASURED
    unknown = [p for p in parts if p not in _CONJUNCTION]
    if unknown:
        raise ValueError(f"verdict_all: unknown verdict(s) {unknown}")
    return min(parts, key=_CONJUNCTION.index)
