"""salkd.verdicts + salkd.claims on synthetic Summary objects: the noise of a difference (seed + unit parts,
Welch-Satterthwaite df, t quantile), non-inferiority with the paper's margin, and "underpowered"."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salkd import verdicts as V
from salkd.claims import best_of_claim, compare_claim, ni_bound
from salkd.results import Summary

CTX = SimpleNamespace(profile="unit", cfg={}, data=None)


def _s(per_seed_units: list[list[float]], names: list[str] | None = None) -> Summary:
    """A Summary as salkd.results.summarize builds it: per-seed scores and per-unit means over the seeds."""
    a = np.asarray(per_seed_units, dtype=float)
    idx = names or [f"v{i}" for i in range(a.shape[1])]
    return Summary(float(a.mean()), pd.Series(a.mean(axis=0), index=idx), [float(x) for x in a.mean(axis=1)])


def test_noise_of_a_difference_worked_by_hand():
    # A: 3 seeds x 3 units, B: 3 seeds x 3 units (same units)
    a = _s([[2.0, 3.0, 4.0], [2.5, 3.5, 4.5], [1.5, 2.5, 3.5]])   # seed means 3.0, 3.5, 2.5 (var 0.25)
    b = _s([[1.0, 3.0, 2.0], [1.0, 3.0, 2.0], [1.0, 3.0, 2.0]])   # no seed spread
    n = V.diff_stats(a, b, "nss")
    # paired unit differences (means over seeds): 2-1, 3-3, 4-2 = 1, 0, 2: variance 1, / 3 units
    unit, seed = 1.0 / 3, 0.25 / 3
    assert n.est.mean == pytest.approx(1.0)
    assert n.est.se == pytest.approx(math.sqrt(unit + seed))
    df = (unit + seed) ** 2 / (unit ** 2 / 2 + seed ** 2 / 2)
    assert n.est.df == pytest.approx(df)
    assert n.half == pytest.approx(stats.t.ppf(0.975, df) * math.sqrt(unit + seed))
    assert n.detectable == pytest.approx((stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * math.sqrt(unit + seed))
    assert n.paired and n.seeds == (3, 3) and n.est.n_units == 3
    # the old rule (the larger of the two SEs, x 2) was narrower: the verdicts it gave were too bold
    assert n.half > 2 * max(math.sqrt(unit), math.sqrt(seed)) * 1.5
    assert "df 2." in n.text() and "3 test unit(s) (paired)" in n.text() and "3 vs 3 seed(s)" in n.text()
    assert V.diff_noise(a, b, "nss") == n.half


def test_a_difference_of_two_se_is_not_a_95_percent_result_at_2_df():
    """The case the issue names: margin 0.728 with 2 x SE = 0.625 was "reproduced"; at df ~2 it is not."""
    d = np.array([0.2, 0.728, 1.256])                    # paired unit differences: mean 0.728, SE 0.305
    a = Summary(float(d.mean()), pd.Series(d, index=["c0", "c1", "c2"]), [float(d.mean())])
    b = Summary(0.0, pd.Series(np.zeros(3), index=["c0", "c1", "c2"]), [0.0])
    n = V.diff_stats(a, b, "nss")
    assert 2 * n.est.se < 0.728 < n.half                 # 2 SE would decide; t(0.975, 2) x SE does not
    assert V.verdict_better(0.728, n.half) == V.INCONCLUSIVE


def test_unpaired_units_assumed_noise_and_the_floor():
    a = Summary(2.0, pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"]), [2.0])
    b = Summary(1.0, pd.Series([1.0, 1.0, 1.0, 1.0, 1.0], index=list("defgh")), [1.0])
    n = V.diff_stats(a, b, "nss")                          # no common unit: each side's variance over its units
    assert not n.paired and n.est.se == pytest.approx(math.sqrt(1.0 / 3)) and n.est.df == pytest.approx(2)
    none = V.diff_stats(Summary(1.0), Summary(0.9), "nss")   # no per-unit values, one seed: 5 % of the score
    assert none.assumed and none.half == pytest.approx(0.05) and "no error bar" in none.text()
    flat = _s([[1.0, 2.0]]), _s([[0.999, 1.999]])
    fl = V.diff_stats(*flat, "nss")                                  # identical differences: the floor
    assert fl.half == V.NOISE_FLOOR["nss"] and "raised to the floor 0.005" in fl.text()


def test_non_inferiority_reads_the_interval_against_the_margin():
    assert V.verdict_not_worse(-0.02, 0.01, 0.05) == V.REPRODUCED       # interval [-0.03, -0.01] above -0.05
    assert V.verdict_not_worse(-0.10, 0.01, 0.05) == V.NOT_REPRODUCED   # interval [-0.11, -0.09] below -0.05
    assert V.verdict_not_worse(-0.05, 0.01, 0.05) == V.INCONCLUSIVE     # straddles -0.05
    assert V.verdict_not_worse(-0.02, 0.01) == V.NOT_REPRODUCED         # no margin: the "beats" rule
    assert V.verdict_not_worse(None, 0.01, 0.05) == V.NOT_MEASURED
    with pytest.raises(ValueError):
        V.verdict_not_worse(0.0, 0.01, -0.1)


def test_uvanet_own_gap_passes_its_own_claim():
    """The paper's UVA-Net, 3.1 % below DVA, must not fail "keeps its teacher's accuracy" (it did under "beats")."""
    from salkd.papers.numbers import NI_MARGINS, PAPER

    t = PAPER["uva_table1"]
    teacher = _s([[t["DVA*"]["nss"] + e for e in (0.0, 0.01, -0.01, 0.02)]] * 3)
    student = _s([[0.98 * t["DVA*"]["nss"] + e for e in (0.0, 0.011, -0.009, 0.02)]] * 3)  # 2 % below, tight
    ni = NI_MARGINS["uvanet_keeps"]["nss"]
    assert ni[0] == pytest.approx(0.031, abs=5e-4) and "Table 1" in ni[2]
    assert ni_bound(ni, teacher.value) == pytest.approx(ni[0] * teacher.value)
    keeps = compare_claim(CTX, "uvanet", "Table 1", "keeps", "nss", student, teacher, "x", "fixation",
                          not_worse=True, ni_margin=ni)
    beats = compare_claim(CTX, "uvanet", "Table 1", "keeps", "nss", student, teacher, "x", "fixation")
    assert keeps["verdict"] == V.REPRODUCED and "non-inferiority" in keeps["note"] and "-0.063" in keeps["note"]
    assert beats["verdict"] == V.NOT_REPRODUCED
    # 5 % below: fails the paper's margin
    worse = _s([[0.95 * t["DVA*"]["nss"] + e for e in (0.0, 0.011, -0.009, 0.02)]] * 3)
    row = compare_claim(CTX, "uvanet", "Table 1", "keeps", "nss", worse, teacher, "x", "fixation", not_worse=True,
                        ni_margin=ni)
    assert row["verdict"] == V.NOT_REPRODUCED


def test_underpowered_replaces_inconclusive_only_when_the_paper_effect_is_below_the_detectable():
    assert V.verdict_power(V.INCONCLUSIVE, 0.015, 0.4) == V.UNDERPOWERED
    assert V.verdict_power(V.INCONCLUSIVE, 0.5, 0.4) == V.INCONCLUSIVE
    assert V.verdict_power(V.INCONCLUSIVE, None, 0.4) == V.INCONCLUSIVE      # paper effect unknown
    assert V.verdict_power(V.REPRODUCED, 0.015, 0.4) == V.REPRODUCED         # a decided row keeps its verdict
    assert V.UNDERPOWERED in V.VERDICTS
    assert V.verdict_all(V.UNDERPOWERED, V.REPRODUCED) == V.UNDERPOWERED
    assert V.verdict_all(V.UNDERPOWERED, V.NOT_REPRODUCED) == V.NOT_REPRODUCED
    # skd Table IV-like: noisy units, 3 seeds, the paper's effect 0.015 NSS
    rng = np.random.default_rng(1)
    base = 3.0 + 0.5 * rng.standard_normal(6)
    full = _s([base + 0.3 * rng.standard_normal(6) for _ in range(3)])
    abl = _s([base + 0.3 * rng.standard_normal(6) for _ in range(3)])
    row = compare_claim(CTX, "skd", "Table IV", "full beats Ablation-S", "nss", full, abl, "2.100 vs 2.085",
                        "fixation", paper_effect=2.100 - 2.085)
    assert row["verdict"] == V.UNDERPOWERED
    assert row["paper_effect"] == pytest.approx(0.015) and row["detectable"] > 0.015
    big = compare_claim(CTX, "skd", "Table IV", "x", "nss", full, abl, "", "fixation", paper_effect=5.0)
    assert big["verdict"] == V.INCONCLUSIVE and big["detectable"] == row["detectable"]
    # lower-better metric: the paper's MAE drop is the claimed direction (positive effect)
    mae = compare_claim(CTX, "fastvsod", "Table 3", "x", "mae", _s([[0.05, 0.06, 0.04]]), _s([[0.05, 0.061, 0.04]]),
                        "", "vsod", paper_effect=0.022 - 0.044)
    assert mae["paper_effect"] == pytest.approx(0.022)


def test_best_of_claim_states_power_and_uses_the_same_noise():
    sums = {"a": _s([[1.0, 1.2, 1.4]] * 2), "b": _s([[1.0, 1.21, 1.38]] * 2)}
    row = best_of_claim(CTX, "p", "T", "a is best", sums, "a", "nss", "fixation", "", paper_effect=0.001)
    assert row["verdict"] == V.UNDERPOWERED and row["detectable"] >= V.NOISE_FLOOR["nss"]
    assert row["noise"] == pytest.approx(V.diff_noise(sums["a"], sums["b"], "nss"))


def test_summary_se_sums_the_unit_and_seed_parts():
    s = _s([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    assert s.se() == pytest.approx(math.sqrt(1 / 3 + 1.0))   # units: var 1 / 3; seeds: means 2, 4 -> var 2 / 2


def test_summary_half_width_uses_the_t_quantile():
    s = _s([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    parts = [1 / 3, 1.0]                                           # units (df 2), seeds (df 1)
    df = sum(parts) ** 2 / (parts[0] ** 2 / 2 + parts[1] ** 2 / 1)
    assert s.half() == pytest.approx(stats.t.ppf(0.975, df) * math.sqrt(sum(parts)))
    assert Summary(1.0).half() is None
