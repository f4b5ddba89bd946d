"""Drawdown kernels against empyrical, quantstats and plain pandas on real data."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dashapp.kernels as k


def underwater(r: pd.Series) -> pd.Series:
    wealth = (1 + r).cumprod()
    return wealth / wealth.cummax().clip(lower=1.0) - 1


def longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


def recovery_reference(r: pd.Series) -> float:
    """From empyrical's drawdown series: trough = first minimum; recovered when the
    drawdown is back at 0 (wealth >= the previous peak)."""
    dd = np.asarray(empyrical.stats.drawdown_series(r.to_numpy()))
    if dd.min() == 0:
        return 0.0
    trough = int(np.argmin(dd))
    after = np.flatnonzero(dd[trough:] >= 0)
    return float(after[0]) if after.size else np.nan


def test_max_drawdown_matches_empyrical_and_quantstats(stocks, aapl):
    pd.testing.assert_series_equal(k.max_drawdown(stocks), empyrical.max_drawdown(stocks), rtol=1e-12)
    assert k.max_drawdown(aapl) == pytest.approx(qs.stats.max_drawdown(aapl), rel=1e-12)


# Drawdowns are fractions of a wealth near 1: compare with an absolute tolerance too.
def test_drawdown_series_matches_empyrical_and_quantstats(stocks, aapl):
    ours = k.drawdown_series(stocks)
    assert isinstance(ours, pd.DataFrame) and ours.index.equals(stocks.index)
    np.testing.assert_allclose(ours.to_numpy(), empyrical.stats.drawdown_series(stocks).to_numpy(),
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(k.drawdown_series(aapl).to_numpy(), qs.stats.to_drawdown_series(aapl).to_numpy(),
                               rtol=1e-10, atol=1e-13)


def test_duration_and_recovery_against_references(stocks):
    dur = k.max_drawdown_duration(stocks)
    rec = k.recovery_time(stocks)
    for col in stocks:
        dd = underwater(stocks[col]).to_numpy()
        assert dur[col] == longest_run(dd < 0), col
        expected = recovery_reference(stocks[col])
        if np.isnan(expected):
            assert np.isnan(rec[col]), col
        else:
            assert rec[col] == expected, col
    # In this 2016-2022 sample JPM recovered from its 2020 trough; KO and MSFT end under water.
    assert not np.isnan(rec["JPM"])
    assert np.isnan(rec["MSFT"])


def test_hand_computed_path():
    # wealth: 1.1, 0.99, 0.891, 1.0692, 1.176 -> peak 1.1 regained at t=4
    r = np.array([0.10, -0.10, -0.10, 0.20, 0.10])
    assert k.max_drawdown(r) == pytest.approx(0.891 / 1.1 - 1)
    np.testing.assert_allclose(k.drawdown_series(r), [0, -0.1, -0.19, 1.0692 / 1.1 - 1, 0], atol=1e-12)
    assert k.max_drawdown_duration(r) == 3
    assert k.recovery_time(r) == 2  # trough at t=2, back above 1.1 at t=4


def test_first_period_loss_is_a_drawdown_and_unrecovered_is_nan():
    r = np.array([-0.05, 0.01, 0.01])
    assert k.max_drawdown(r) == pytest.approx(-0.05)
    assert k.max_drawdown_duration(r) == 3
    assert np.isnan(k.recovery_time(r))


def test_monotone_and_constant_series_have_no_drawdown():
    for r in (np.full(30, 0.001), np.zeros(30), np.linspace(0.0, 0.01, 30)):
        assert k.max_drawdown(r) == 0.0
        assert k.max_drawdown_duration(r) == 0.0
        assert k.recovery_time(r) == 0.0
        assert np.all(k.drawdown_series(r) == 0.0)


def test_nan_and_inf_are_rejected(stocks):
    broken = stocks.copy()
    broken.iloc[100, 4] = np.inf
    with pytest.raises(ValueError, match=r"column 'MSFT'"):
        k.max_drawdown(broken)
    with pytest.raises(ValueError, match="NaN/inf"):
        k.drawdown_series(np.array([0.01, np.nan]))
    with pytest.raises(ValueError, match="empty"):
        k.max_drawdown(np.array([]))


def test_wide_matrix_uses_every_block():
    # more columns than one parallel block, odd count: every column must match empyrical
    rng = np.random.default_rng(11)
    r = rng.normal(0.0002, 0.02, (300, 1031))
    np.testing.assert_allclose(k.max_drawdown(r), empyrical.max_drawdown(r), rtol=1e-12)
    np.testing.assert_allclose(k.drawdown_series(r), empyrical.stats.drawdown_series(r), rtol=1e-10, atol=1e-13)


@settings(max_examples=150, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 120), st.integers(1, 3)),
              elements=st.floats(-0.9, 2.0, allow_nan=False, allow_subnormal=False)))
def test_drawdown_properties(r):
    dd = k.drawdown_series(r)
    mdd = k.max_drawdown(r)
    assert np.all(dd <= 0.0)
    assert np.all(mdd <= 0.0)
    np.testing.assert_allclose(mdd, dd.min(axis=0), rtol=0, atol=0)
    np.testing.assert_allclose(mdd, empyrical.max_drawdown(r), rtol=1e-9, atol=1e-12)
    dur = k.max_drawdown_duration(r)
    assert np.all((dur >= 0) & (dur <= r.shape[0]))


def test_trough_inside_a_row_group_and_nonfinite_in_any_row():
    # max_drawdown folds 8 rows at a time into its running state, then the rest one by one: a
    # trough recovered before its group ends must still count, and NaN/inf in any row is reported.
    r = np.zeros((19, 3))
    r[2, 0], r[3, 0] = -0.5, 1.0  # halves, then doubles back, inside rows 0-7
    r[12, 1], r[13, 1] = -0.2, 0.25  # the same inside rows 8-15
    r[17, 2] = -0.3  # in the remainder rows 16-18
    np.testing.assert_allclose(k.max_drawdown(r), [-0.5, -0.2, -0.3], rtol=1e-15)
    for row in (0, 7, 8, 15, 16, 18):
        for bad in (np.nan, np.inf, -np.inf):
            broken = r.copy()
            broken[row, 1] = bad
            with pytest.raises(ValueError, match=rf"at row {row}, column 1"):
                k.max_drawdown(broken)
