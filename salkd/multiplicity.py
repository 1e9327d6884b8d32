"""Multiplicity: one CLAIMS.md judges ~140 rows at once, so a verdict decided at 95 % on its own row is
corrected for the others (issue 22, "nothing accounts for ~80 tests run at once").

Choice: **Benjamini-Hochberg** (false discovery rate, q = :data:`FDR`) over the *judged comparison rows*
of one CLAIMS.md: every row with a p-value, i.e. a margin compared with a 95 % interval (A beats B, A as
good as B, X is the best, a spread within a tolerance, the distillation test's goals). Rows that are not
tests (not measured, not comparable, by construction, stated numbers, speed ratios without noise) are
outside the family. Why BH and not Holm (family-wise error):

* the rows are ~140 separate claims of three papers, not one hypothesis: the error a reader of the table
  pays for is a wrong verdict among the decided rows, which is what the FDR bounds;
* Holm at 140 tests needs p < 0.05 / 140 = 3.6e-4 on the smallest p; with the df of our designs (2-12:
  three seeds, a few test videos) that is a t statistic of 8 to 50, i.e. no row could be decided whatever
  the effect: the correction would make the table uninformative by construction;
* BH is valid for independent or positively dependent tests (Benjamini & Yekutieli 2001, PRDS); our rows
  share runs (the same baseline in several comparisons), which makes their statistics positively
  correlated, not independent: the bound is approximate, and says so in CLAIMS.md.

A row's p-value is two-sided, from the statistic its verdict already uses: ``t = m / (half / t(0.975,
df))`` where ``m`` is the tested margin (A - B, plus the non-inferiority margin for "as good as" claims,
tolerance - spread for spread claims) and ``half`` the row's 95 % half-width after its floor, so a row is
decided at 95 % exactly when ``p < 0.05``. :func:`correct` adds the BH-adjusted p (``q``) and weakens a
decided verdict whose ``q`` is above :data:`FDR` to ``inconclusive`` (``underpowered`` when the paper's
effect is below the detectable one), saying so in the note; the per-row interval (``noise``) is unchanged.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from salkd.tables import finite_number

__all__ = ["FDR", "METHOD", "p_value", "bh_adjust", "correct", "DECIDED"]

#: the false discovery rate the correction controls
FDR = 0.05
METHOD = "Benjamini-Hochberg"
#: verdicts that decide a comparison (the ones the correction can weaken)
DECIDED = ("reproduced", "consistent", "not reproduced", "inconsistent")


def p_value(margin: float | None, half: float | None, df: float | None) -> float | None:
    """Two-sided p of a tested margin whose 95 % half-width is ``half`` with ``df`` degrees of freedom
    (``inf``: normal); None when any is missing or the half-width is 0."""
    from scipy import stats

    from salkd.noise import t_quantile

    vals = [margin, half, df]
    if any(v is None for v in vals):
        return None
    try:
        m, h, d = (float(v) for v in vals)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(m) and math.isfinite(h)) or h <= 0 or not d > 0:
        return None
    se = h / t_quantile(0.975, d)
    t = abs(m) / se
    return float(2 * (stats.norm.sf(t) if not math.isfinite(d) else stats.t.sf(t, d)))


def bh_adjust(p: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q): ``q_(i) = min_{j >= i} (n / j) p_(j)`` over the p sorted
    ascending, capped at 1, returned in the input order. A test is rejected at FDR ``a`` when ``q <= a``."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * n / np.arange(1, n + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1.0)
    q = np.empty(n)
    q[order] = q_sorted
    return q


def correct(df: pd.DataFrame, fdr: float = FDR) -> pd.DataFrame:
    """``df`` (claim rows with a ``p_value`` column) with ``q`` (BH-adjusted over the rows that have a p-value)
    and each decided verdict whose ``q`` is above ``fdr`` weakened to inconclusive / underpowered (note says
    from what). Composite rows (``parts``: the claims they combine, joined by " && ") are re-combined from
    their parts' corrected verdicts (:func:`salkd.verdicts.verdict_all`)."""
    from salkd.verdicts import INCONCLUSIVE, verdict_all, verdict_power

    if "q" in df.columns and df["q"].map(finite_number).notna().any():
        return df  # already corrected (e.g. a claims.csv read back)
    out = df.copy()
    if "p_value" not in out.columns:
        out["p_value"] = None
    p = out["p_value"].map(finite_number)
    fam = p.notna()
    out["q"] = None
    if fam.any():
        q = bh_adjust(p[fam].to_numpy())
        out.loc[fam, "q"] = q
    n = int(fam.sum())
    for i in out.index[fam]:
        qi, v = float(out.at[i, "q"]), str(out.at[i, "verdict"])
        if v not in DECIDED:
            continue
        if qi <= fdr:
            out.at[i, "note"] = f"survives {METHOD} over {n} rows (q = {qi:.3g}); " + str(out.at[i, "note"] or "")
            continue
        det = finite_number(out.at[i, "detectable"]) if "detectable" in out.columns else None
        eff = finite_number(out.at[i, "paper_effect"]) if "paper_effect" in out.columns else None
        new = INCONCLUSIVE if det is None else verdict_power(INCONCLUSIVE, eff, det)
        out.at[i, "verdict"] = new
        out.at[i, "note"] = (f"{v} at 95 % on this row alone (p = {float(p[i]):.3g}), not after {METHOD} over {n} rows "
                             f"(q = {qi:.3g} > {fdr:g}); " + str(out.at[i, "note"] or ""))
    if "parts" in out.columns:
        by_claim = {(r.paper, r.claim): r.verdict for r in out.itertuples()}
        for i in out.index[out["parts"].notna() & (out["parts"].astype(str) != "")]:
            parts = [by_claim.get((out.at[i, "paper"], c)) for c in str(out.at[i, "parts"]).split(" && ")]
            if all(parts) and parts:
                was, now = str(out.at[i, "verdict"]), verdict_all(*parts)
                if now != was:
                    out.at[i, "verdict"] = now
                    out.at[i, "note"] = f"{was} before the correction of its parts; " + str(out.at[i, "note"] or "")
    return out
