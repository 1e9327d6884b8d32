"""Multiplicity (salkd.multiplicity): Benjamini-Hochberg over the judged rows of one CLAIMS.md, checked against
a case worked by hand, and what the correction does to the rows' verdicts."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salkd import multiplicity, verdicts
from salkd.claims import claim_row
from salkd.noise import t_quantile


def test_bh_adjusted_p_by_hand():
    # p = 0.01, 0.04, 0.03, 0.20 (n = 4). Sorted: 0.01, 0.03, 0.04, 0.20; n/rank x p = 0.04, 0.06, 0.0533, 0.20;
    # running minimum from the top: 0.04, 0.0533, 0.0533, 0.20. Step-up at 5 %: p_(1) = 0.01 <= 1/4 x 0.05 but
    # p_(2) = 0.03 > 2/4 x 0.05, p_(3) = 0.04 > 0.0375, p_(4) = 0.2 > 0.05: only the first is rejected.
    q = multiplicity.bh_adjust([0.01, 0.04, 0.03, 0.20])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert list(q <= 0.05) == [True, False, False, False]
    assert multiplicity.bh_adjust([0.5, 0.9]) == pytest.approx([0.9, 0.9])    # capped, monotone
    assert len(multiplicity.bh_adjust([])) == 0


def test_p_value_matches_the_rows_95_percent_interval():
    se, df = 0.1, 4.0
    half = t_quantile(0.975, df) * se
    assert multiplicity.p_value(half, half, df) == pytest.approx(0.05)        # margin at the edge: p = 0.05
    assert multiplicity.p_value(-half, half, df) == pytest.approx(0.05)       # two-sided
    assert multiplicity.p_value(0.0, half, df) == pytest.approx(1.0)
    assert multiplicity.p_value(2 * half, half, math.inf) < 0.05
    assert multiplicity.p_value(None, half, df) is None and multiplicity.p_value(0.1, 0.0, df) is None


def _rows() -> pd.DataFrame:
    r = [claim_row("x", "T", "a", "nss", None, "1 vs 0", 1.0, 0.5, "d", verdicts.REPRODUCED, "n", p=0.01),
         claim_row("x", "T", "b", "nss", None, "1 vs 0", 0.6, 0.5, "d", verdicts.REPRODUCED, "n", p=0.04,
                   paper_effect=0.01, detectable=0.9),
         claim_row("x", "T", "c", "nss", None, "0 vs 1", -0.6, 0.5, "d", verdicts.INCONSISTENT, "n", p=0.03),
         claim_row("x", "T", "d", "nss", None, "0 vs 0", 0.1, 0.5, "d", verdicts.INCONCLUSIVE, "n", p=0.20),
         claim_row("x", "T", "e", "fps", 1.0, None, None, None, "d", verdicts.NOT_MEASURED, "no GPU"),
         claim_row("x", "T", "b and e", "both", None, None, None, None, "d", verdicts.REPRODUCED, "both",
                   parts="b && a")]
    return pd.DataFrame(r)


def test_correct_weakens_the_decided_rows_that_do_not_survive():
    out = multiplicity.correct(_rows())
    v = dict(zip(out["claim"], out["verdict"]))
    assert v["a"] == verdicts.REPRODUCED and out.loc[0, "note"].startswith("survives Benjamini-Hochberg over 4 rows")
    assert v["b"] == verdicts.UNDERPOWERED      # paper effect 0.01 < detectable 0.9
    assert v["c"] == verdicts.INCONCLUSIVE and "inconsistent at 95 % on this row alone" in out.loc[2, "note"]
    assert v["d"] == verdicts.INCONCLUSIVE and v["e"] == verdicts.NOT_MEASURED
    assert out.loc[4, "q"] is None and out.loc[2, "q"] == pytest.approx(0.16 / 3)
    assert v["b and e"] == verdicts.UNDERPOWERED        # re-combined from its corrected parts
    assert out.loc[2, "noise"] == 0.5                   # the per-row interval is kept
    again = multiplicity.correct(out)                   # a corrected table read back is left alone
    assert list(again["note"]) == list(out["note"])


def test_no_p_values_no_correction():
    df = _rows().assign(p_value=None)
    out = multiplicity.correct(df)
    assert list(out["verdict"]) == list(df["verdict"]) and out["q"].isna().all()
    assert np.isnan(multiplicity.bh_adjust([np.nan])[0])


def test_a_profiles_report_is_corrected_and_completed(tmp_path):
    """write_claims in a profile's report: checklist rows added, budget rule and correction applied, stated."""
    from types import SimpleNamespace

    from salkd.claims import write_claims
    from salkd.papers import coverage

    df = _rows().assign(paper="skd")
    write_claims(df, tmp_path, SimpleNamespace(profile="unit", cfg={}))
    out = pd.read_csv(tmp_path / "claims.csv")
    assert coverage.coverage(out)[0] > 0 and "q" in out.columns
    md = (tmp_path / "CLAIMS.md").read_text()
    assert "Multiplicity: 4 judged rows, corrected together (Benjamini-Hochberg, FDR 5%): 3 decided" in md
    assert "Benjamini-Hochberg" in (tmp_path / "HOW-TO-READ.md").read_text()
