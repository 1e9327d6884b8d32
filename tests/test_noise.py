"""salkd.noise: the seed + test-unit noise of a score, checked against cases worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from salkd.noise import block_means, difference, estimate, t_quantile


def test_estimate_sums_the_seed_and_unit_variances_with_satterthwaite_df():
    # seeds x units; seed means 2 and 4 (variance 2, /2 seeds = 1); unit means 2, 3, 4 (variance 1, /3 = 1/3)
    e = estimate([[1, 2, 3], [3, 4, 5]])
    assert e.mean == 3.0 and (e.n_seeds, e.n_units) == (2, 3)
    assert e.se == pytest.approx(math.sqrt(1 + 1 / 3))
    # df = (1 + 1/3)^2 / (1^2 / 1 + (1/3)^2 / 2)
    assert e.df == pytest.approx((4 / 3) ** 2 / (1 + 1 / 18))
    assert e.half == pytest.approx(stats.t.ppf(0.975, e.df) * e.se)
    assert e.half > 2 * e.se  # a t band at ~1.7 df is much wider than "2 SE"


def test_one_seed_has_only_the_unit_component_and_a_constant_row_no_noise():
    e = estimate([[1.0, 2.0, 3.0, 4.0]])
    assert e.se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2) and e.df == pytest.approx(3)
    z = estimate([[2.0, 2.0], [2.0, 2.0]])
    assert z.se == 0 and z.half == 0 and z.text() == "2.000"


def test_difference_pairs_units_and_adds_both_seed_components():
    a = [[1, 2, 3]]                      # one seed
    b = [[0, 0, 0], [2, 2, 2]]           # two seeds: means 0 and 2 (variance 2, /2 = 1)
    d = difference(a, b)                 # per-unit differences 0, 1, 2: variance 1, /3 units
    assert d.mean == pytest.approx(1.0) and d.se == pytest.approx(math.sqrt(1 + 1 / 3))
    # "a keeps 85 % of b": a - 0.85 b; b's seed component scales by 0.85^2
    k = difference(a, b, 0.85)
    assert k.mean == pytest.approx(2 - 0.85) and k.se == pytest.approx(math.sqrt(np.var([1 - .85 * 1, 2 - .85, 3 - .85], ddof=1) / 3
                                                                             + 0.85 ** 2 * 1))
    with pytest.raises(ValueError, match="different numbers of units"):
        difference([[1, 2]], [[1, 2, 3]])


def test_bad_tables_are_refused_and_quantiles_follow_student_t():
    with pytest.raises(ValueError, match="NaN"):
        estimate([[1.0, float("nan")]])
    with pytest.raises(ValueError, match="table"):
        estimate(np.zeros((0, 3)))
    assert t_quantile(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(0.975, math.inf) == pytest.approx(1.95996, abs=1e-5)


def test_block_means_join_a_short_remainder():
    assert list(block_means([1, 1, 3, 3, 5], 2)) == [1, 3, 5]           # remainder of 1 = half a block: kept
    assert list(block_means([1, 1, 1, 1, 3, 3, 3, 3, 8], 4)) == [1, 4]  # remainder of 1 < 2: joins the last
    assert list(block_means([2, 4], 4)) == [3]
