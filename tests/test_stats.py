"""compt.stats against known values: G*Power / R pwr for power, textbook Holm, scipy tests."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from compt import stats


# G*Power 3.1, "t tests - Means: difference from constant (one sample case)" (a paired test
# on differences), two-tailed, alpha 0.05, power 0.8: total sample size and actual power.
@pytest.mark.parametrize("d, n, actual", [(0.2, 199, None), (0.5, 34, 0.8077775),
                                          (0.8, 15, 0.8213105), (1.0, 10, 0.8030969)])
def test_seeds_needed_matches_g_power(d, n, actual):
    assert stats.seeds_needed(d, 1.0) == n
    assert stats.seeds_needed(3.0 * d, 3.0) == n  # only effect / sd matters
    assert stats.power(d, 1.0, n) >= stats.POWER > stats.power(d, 1.0, n - 1)
    if actual is not None:
        assert stats.power(d, 1.0, n) == pytest.approx(actual, abs=1e-6)


def test_power_is_alpha_without_an_effect_and_grows_with_it():
    assert stats.power(0.0, 2.0, 10) == pytest.approx(0.05)
    assert stats.power(0.0, 2.0, 10, alpha=0.01) == pytest.approx(0.01)
    assert stats.power(1.0, 2.0, 10) < stats.power(2.0, 2.0, 10) < stats.power(2.0, 2.0, 20)
    assert stats.power(-2.0, 2.0, 10) == pytest.approx(stats.power(2.0, 2.0, 10))


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_detectable_effect_is_where_power_reaches_80_percent(n):
    effect = stats.detectable_effect(n, 2.5)
    assert effect is not None
    assert stats.power(effect, 2.5, n) == pytest.approx(stats.POWER, abs=1e-6)
    assert effect == pytest.approx(2.5 * stats.detectable_effect(n, 1.0))
    assert stats.seeds_needed(effect * 1.0001, 2.5) == n


def test_detectable_effect_shrinks_with_seeds_and_is_larger_than_the_normal_rule():
    """The normal approximation (z_0.975 + z_0.8) * sd / sqrt(n) is optimistic for few seeds."""
    effects = [stats.detectable_effect(n, 1.0) for n in (3, 5, 10)]
    assert effects == pytest.approx([3.26, 1.68, 1.00], abs=0.005)  # as docs/reports.md says
    for n, effect in zip((3, 5, 10), effects, strict=True):
        normal = (scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)) / math.sqrt(n)
        assert effect > normal


def test_undefined_power_questions_answer_none():
    assert stats.detectable_effect(1, 2.0) is None
    assert stats.detectable_effect(5, None) is None
    assert stats.detectable_effect(5, 0.0) is None
    assert stats.seeds_needed(3.0, None) is None
    assert stats.seeds_needed(0.0, 2.0) is None
    assert stats.seeds_needed(1e-6, 100.0) is None  # beyond MOST_SEEDS


def test_power_falls_back_where_scipy_nct_gives_nan(monkeypatch):
    """scipy's nct is NaN in some tails (e.g. df = 1, shift 8); the integral never is."""
    for df, shift in ((1, 1.0), (1, 4.0), (1, 16.0), (198, 2.0), (5000, 3.0)):
        critical = float(scipy_stats.t.ppf(0.975, df))
        expected = (scipy_stats.nct.sf(critical, df, shift)
                    + scipy_stats.nct.cdf(-critical, df, shift))
        assert stats._power_by_integral(critical, df, shift) == pytest.approx(expected, abs=1e-8)
    wanted = stats.power(4.0 / math.sqrt(2), 1.0, 2)
    monkeypatch.setattr(scipy_stats.nct, "sf", lambda *args: math.nan)
    assert stats.power(4.0 / math.sqrt(2), 1.0, 2) == pytest.approx(wanted, abs=1e-8)
    assert all(math.isfinite(stats.power(d, 1.0, 2)) for d in (1.0, 5.0, 8.0, 20.0))
    effect = stats.detectable_effect(2, 1.0)
    assert effect is not None and stats.power(effect, 1.0, 2) == pytest.approx(0.8, abs=1e-6)


def test_holm_textbook_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_skips_missing_tests_and_caps_at_one():
    assert stats.holm([0.02, None, 0.04]) == [0.04, None, 0.04]
    assert stats.holm([0.6, 0.5]) == [1.0, 1.0]
    assert stats.holm([0.03]) == [0.03]
    assert stats.holm([]) == []


def test_paired_test_matches_scipy():
    ours, theirs = [66.0, 66.0, 66.0, 58.0, 60.0, 62.0], [60.0, 62.0, 64.0, 50.0, 50.0, 53.0]
    result = stats.paired_test([a - b for a, b in zip(ours, theirs, strict=True)])
    t, w = scipy_stats.ttest_rel(ours, theirs), scipy_stats.wilcoxon(ours, theirs)
    assert (result.n, result.mean) == (6, pytest.approx(6.5))
    assert result.sd == pytest.approx(scipy_stats.tstd([6, 4, 2, 8, 10, 9]))
    assert (result.t_stat, result.t_p) == (pytest.approx(t.statistic), pytest.approx(t.pvalue))
    assert (result.w_stat, result.w_p) == (pytest.approx(w.statistic), pytest.approx(w.pvalue))
    assert result.wilcoxon_floor == pytest.approx(2 / 64)


def test_paired_test_leaves_undefined_tests_out():
    one = stats.paired_test([3.0])
    assert (one.sd, one.t_p) == (None, None) and one.wilcoxon_floor == 1.0
    constant = stats.paired_test([2.0, 2.0, 2.0])
    assert constant.sd == 0.0 and constant.t_p is None and constant.w_p is not None
    zeros = stats.paired_test([0.0, 0.0])
    assert zeros.t_p is None and zeros.w_p is None
    with pytest.raises(ValueError):
        stats.paired_test([])
