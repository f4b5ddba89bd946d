"""Performance metrics against empyrical and quantstats on real daily returns."""

from __future__ import annotations

import warnings

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dashapp.kernels as k

RTOL = 1e-10


def test_cagr(stocks, aapl):
    pd.testing.assert_series_equal(k.cagr(stocks), empyrical.cagr(stocks), rtol=RTOL, check_names=False)
    assert k.cagr(aapl, 252) == pytest.approx(qs.stats.cagr(aapl, periods=252), rel=RTOL)
    weekly = aapl.iloc[::5]
    assert k.cagr(weekly, 52) == pytest.approx(empyrical.cagr(weekly, annualization=52), rel=RTOL)


def test_annual_volatility(stocks, aapl):
    np.testing.assert_allclose(k.annual_volatility(stocks).to_numpy(), empyrical.annual_volatility(stocks),
                               rtol=RTOL)
    assert k.annual_volatility(aapl) == pytest.approx(qs.stats.volatility(aapl, prepare_returns=False), rel=RTOL)


@pytest.mark.parametrize("rf", [0.0, 0.0001])
def test_sharpe_ratio(stocks, aapl, rf):
    for col in stocks:
        assert k.sharpe_ratio(stocks[col], rf) == pytest.approx(empyrical.sharpe_ratio(stocks[col], rf), rel=RTOL)
    np.testing.assert_allclose(k.sharpe_ratio(stocks, rf).to_numpy(),
                               [empyrical.sharpe_ratio(stocks[c], rf) for c in stocks], rtol=RTOL)
    if rf == 0.0:
        assert k.sharpe_ratio(aapl) == pytest.approx(qs.stats.sharpe(aapl), rel=RTOL)


@pytest.mark.parametrize("rf", [0.0, 0.0002])
def test_sortino_ratio(stocks, aapl, rf):
    pd.testing.assert_series_equal(k.sortino_ratio(stocks, rf), empyrical.sortino_ratio(stocks, rf),
                                   rtol=RTOL, check_names=False)
    if rf == 0.0:
        assert k.sortino_ratio(aapl) == pytest.approx(qs.stats.sortino(aapl), rel=RTOL)


def test_calmar_ratio(stocks, aapl):
    for col in stocks:
        assert k.calmar_ratio(stocks[col]) == pytest.approx(empyrical.calmar_ratio(stocks[col]), rel=RTOL)
    assert np.isnan(k.calmar_ratio(np.full(10, 0.01)))  # no drawdown


@pytest.mark.parametrize("threshold", [0.0, 0.001, -0.002])
def test_omega_ratio(aapl, threshold):
    expected = empyrical.omega_ratio(aapl, required_return=threshold, annualization=1)
    assert k.omega_ratio(aapl, threshold) == pytest.approx(expected, rel=RTOL)


def test_omega_without_shortfall_is_nan():
    assert np.isnan(k.omega_ratio(np.array([0.01, 0.02, 0.03])))


def test_tail_ratio(stocks, aapl):
    for col in stocks:
        assert k.tail_ratio(stocks[col]) == pytest.approx(empyrical.tail_ratio(stocks[col]), rel=RTOL)
    assert k.tail_ratio(aapl) == pytest.approx(qs.stats.tail_ratio(aapl, prepare_returns=False), rel=RTOL)


def test_stability(stocks):
    for col in stocks:
        expected = empyrical.stability_of_timeseries(stocks[col])
        assert k.stability(stocks[col]) == pytest.approx(expected, rel=1e-9)
    assert k.stability(np.zeros(20)) == 0.0
    assert k.stability(np.full(20, 0.01)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="> -1"):
        k.stability(np.array([0.1, -1.0, 0.2]))


def test_alpha_beta(stocks, spx):
    alpha, beta = k.alpha_beta(stocks, spx)
    for col in stocks:
        ea, eb = empyrical.alpha_beta(stocks[col], spx)
        assert beta[col] == pytest.approx(eb, rel=1e-10)
        assert alpha[col] == pytest.approx(ea, rel=1e-9)
    a1, b1 = k.alpha_beta(spx, spx)
    assert b1 == pytest.approx(1.0) and a1 == pytest.approx(0.0, abs=1e-12)


def test_alpha_beta_monthly_and_hand_case():
    b = np.array([0.01, -0.02, 0.03, 0.0])
    r = 2 * b + 0.001
    alpha, beta = k.alpha_beta(r, b, periods_per_year=12)
    assert beta == pytest.approx(2.0)
    assert alpha == pytest.approx(1.001**12 - 1)
    a, bt = k.alpha_beta(r, np.full(4, 0.01))
    assert np.isnan(a) and np.isnan(bt)  # constant benchmark: beta undefined


def test_alpha_beta_benchmark_shape(stocks):
    with pytest.raises(ValueError, match="benchmark must be 1-D"):
        k.alpha_beta(stocks, stocks.iloc[:-1, 0])


def test_win_rate_and_profit_factor(stocks, aapl):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_wr = qs.stats.win_rate(stocks, prepare_returns=False)
    pd.testing.assert_series_equal(k.win_rate(stocks), expected_wr, rtol=RTOL, check_names=False)
    assert k.profit_factor(aapl) == pytest.approx(qs.stats.profit_factor(aapl, prepare_returns=False), rel=RTOL)
    r = np.array([0.02, -0.01, 0.0, 0.03, -0.02])  # zero day is not a trade
    assert k.win_rate(r) == pytest.approx(0.5)
    assert k.profit_factor(r) == pytest.approx(0.05 / 0.03)
    assert np.isnan(k.win_rate(np.zeros(5)))
    assert k.profit_factor(np.array([0.01, 0.02])) == np.inf
    assert np.isnan(k.profit_factor(np.zeros(3)))


def test_rolling_volatility(stocks, aapl):
    ours = k.rolling_volatility(stocks, 63)
    expected = stocks.rolling(63).std() * np.sqrt(252)
    pd.testing.assert_frame_equal(ours, expected, rtol=1e-9)
    pd.testing.assert_series_equal(k.rolling_volatility(aapl, 126),
                                   qs.stats.rolling_volatility(aapl, 126, prepare_returns=False),
                                   rtol=1e-9, check_names=False)


def test_rolling_volatility_constant_windows_are_exactly_zero():
    r = np.concatenate([np.random.default_rng(0).normal(0, 0.01, 50), np.full(40, 0.003)])
    out = k.rolling_volatility(r, 20)
    assert np.all(out[69:] == 0.0)  # windows lying entirely in the flat part
    assert np.all(out[50:69] > 0.0)
    assert np.all(np.isnan(out[:19]))


def test_rolling_volatility_rejects_nan_and_bad_window(aapl):
    with pytest.raises(ValueError, match="NaN/inf"):
        k.rolling_volatility(aapl.where(aapl.index != aapl.index[30]), 20)
    with pytest.raises(ValueError, match="window"):
        k.rolling_volatility(aapl, 1)
    with pytest.raises(ValueError, match="periods_per_year"):
        k.rolling_volatility(aapl, 20, periods_per_year=0)


def test_constant_series_ratios():
    up = np.full(30, 0.001)
    assert k.annual_volatility(up) == 0.0
    assert k.sharpe_ratio(up) == np.inf
    assert k.sharpe_ratio(-up) == -np.inf
    assert np.isnan(k.sharpe_ratio(np.zeros(30)))
    assert k.sortino_ratio(up) == np.inf


@pytest.mark.parametrize("fn", [k.annual_volatility, k.sharpe_ratio, k.sortino_ratio, k.omega_ratio, k.stability])
def test_single_period_is_too_short(fn):
    with pytest.raises(ValueError, match="at least 2"):
        fn(np.array([0.01]))


@pytest.mark.parametrize("fn", [k.cagr, k.sharpe_ratio, k.win_rate, k.tail_ratio])
def test_nan_rejected_with_position(fn, aapl):
    broken = aapl.copy()
    broken.iloc[7] = np.nan
    with pytest.raises(ValueError, match=r"index label Timestamp\('2016-01-14"):
        fn(broken)


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 150), st.integers(1, 3)),
              elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False)))
def test_volatility_and_sharpe_match_empyrical(r):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # constant columns: ours is exactly 0, empyrical leaves ~1e-15 of rounding
        np.testing.assert_allclose(k.annual_volatility(r), empyrical.annual_volatility(r), rtol=1e-9, atol=1e-12)
        ours, ref = k.sharpe_ratio(r), empyrical.sharpe_ratio(r)
    finite = np.isfinite(ref) & (k.annual_volatility(r) > 1e-9)
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-7)
