"""VaR / CVaR against NumPy, empyrical, quantstats and scipy on real daily returns."""

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
from scipy import stats

import dashapp.kernels as k

LEVELS = [0.99, 0.975, 0.95, 0.9, 0.5, 0.01]


def np_var_cvar(x, level):
    q = np.quantile(x, 1 - level, axis=0)
    tail = x <= q
    return -q, -(x * tail).sum(axis=0) / tail.sum(axis=0)


@pytest.mark.parametrize("level", LEVELS)
def test_historical_matches_numpy_quantile_per_column(stocks_array, level):
    var, cvar = k.historical_var_cvar(stocks_array, level)
    ref_var, ref_cvar = np_var_cvar(stocks_array, level)
    np.testing.assert_allclose(var, ref_var, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(cvar, ref_cvar, rtol=1e-12)


def test_historical_matches_empyrical_and_quantstats(aapl):
    for level in (0.99, 0.95):
        assert k.historical_var(aapl, level) == pytest.approx(-empyrical.value_at_risk(aapl, 1 - level), rel=1e-13)
        assert k.historical_cvar(aapl, level) == pytest.approx(
            -empyrical.conditional_value_at_risk(aapl, 1 - level), rel=1e-12)
        assert k.historical_cvar(aapl, level) == pytest.approx(
            -qs.stats.conditional_value_at_risk(aapl, confidence=level, method="historical",
                                                prepare_returns=False), rel=1e-12)


def test_dataframe_in_series_out(stocks):
    var = k.historical_var(stocks)
    assert isinstance(var, pd.Series)
    assert list(var.index) == list(stocks.columns)
    assert isinstance(k.historical_var(stocks["AAPL"]), float)
    assert isinstance(k.historical_var(stocks.to_numpy()), np.ndarray)


def test_hand_computed_small_sample():
    # n = 5; sorted: -0.10, -0.04, 0.01, 0.02, 0.03. 1 - 0.75 = 0.25 exactly, so the
    # virtual index 4 * 0.25 = 1 picks -0.04; the tail is {-0.10, -0.04}.
    r = np.array([0.03, -0.04, 0.01, -0.10, 0.02])
    assert k.historical_var(r, 0.75) == pytest.approx(0.04)
    assert k.historical_cvar(r, 0.75) == pytest.approx(0.07)
    # 0.875: virtual index 0.5 -> halfway between -0.10 and -0.04; tail = {-0.10}
    assert k.historical_var(r, 0.875) == pytest.approx(0.07)
    assert k.historical_cvar(r, 0.875) == pytest.approx(0.10)


def test_level_arithmetic_is_numpys():
    # 1 - 0.9 = 0.09999999999999998 in floating point, so with 11 returns the
    # quantile sits a hair below the 2nd smallest and only -0.10 is in the tail.
    # np.quantile(r, 1 - 0.9) does the same; we follow it rather than "fix" it.
    r = np.array([0.05, -0.04, 0.01, -0.10, 0.02, 0.00, 0.03, -0.01, 0.04, 0.015, -0.02])
    q = np.quantile(r, 1 - 0.9)
    assert k.historical_var(r, 0.9) == -q
    assert k.historical_cvar(r, 0.9) == pytest.approx(-r[r <= q].mean()) == pytest.approx(0.10)


def test_ties_at_the_quantile_are_in_the_tail():
    r = np.array([-0.05, -0.02, -0.02, -0.02, 0.01, 0.03] * 20)
    var, cvar = k.historical_var_cvar(r, 0.75)
    q = np.quantile(r, 0.25)
    assert var == pytest.approx(-q)
    assert cvar == pytest.approx(-r[r <= q].mean())
    assert cvar >= var


def test_tail_with_many_ties_long_column():
    # Discrete ticks: thousands of equal values, both code paths must agree with numpy.
    rng = np.random.default_rng(7)
    r = np.round(rng.normal(0, 0.01, (5000, 3)), 3)
    for level in (0.99, 0.9):
        var, cvar = k.historical_var_cvar(r, level)
        ref_var, ref_cvar = np_var_cvar(r, level)
        np.testing.assert_allclose(var, ref_var, rtol=1e-12)
        np.testing.assert_allclose(cvar, ref_cvar, rtol=1e-12)


def test_constant_series():
    r = np.full(50, 0.002)
    assert k.historical_var(r) == pytest.approx(-0.002)
    assert k.historical_cvar(r) == pytest.approx(-0.002)
    assert k.parametric_var(r) == pytest.approx(-0.002)
    assert k.cornish_fisher_var(r) == pytest.approx(-0.002)


@pytest.mark.parametrize("level", [0.99, 0.95])
def test_parametric_matches_quantstats_and_scipy(aapl, level):
    mu, sd = aapl.mean(), aapl.std(ddof=1)
    assert k.parametric_var(aapl, level) == pytest.approx(-stats.norm.ppf(1 - level, mu, sd), rel=1e-12)
    assert k.parametric_var(aapl, level) == pytest.approx(
        -qs.stats.value_at_risk(aapl, confidence=level, prepare_returns=False), rel=1e-12)
    assert k.parametric_cvar(aapl, level) == pytest.approx(
        -qs.stats.conditional_value_at_risk(aapl, confidence=level, prepare_returns=False), rel=1e-12)
    es = -mu + sd * stats.norm.pdf(stats.norm.ppf(level)) / (1 - level)
    assert k.parametric_cvar(aapl, level) == pytest.approx(es, rel=1e-12)


def test_cornish_fisher_matches_formula_from_scipy(stocks):
    for level in (0.99, 0.95):
        z = stats.norm.ppf(1 - level)
        s = stats.skew(stocks)
        kurt = stats.kurtosis(stocks)
        zcf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * s**2 / 36
        expected = -(stocks.mean() + zcf * stocks.std(ddof=1))
        pd.testing.assert_series_equal(k.cornish_fisher_var(stocks, level), expected, rtol=1e-10)


def test_cornish_fisher_fat_left_tail_raises_var(aapl):
    # Real equity returns are fat tailed: at 99% modified VaR exceeds the Gaussian one.
    assert k.cornish_fisher_var(aapl, 0.99) > k.parametric_var(aapl, 0.99)


def test_monte_carlo_reproducible_and_close_to_gaussian(stocks):
    w = np.full(stocks.shape[1], 1 / stocks.shape[1])
    a = k.monte_carlo_var(stocks, w, 0.99, n_paths=40_000, seed=3)
    assert a == k.monte_carlo_var(stocks, w, 0.99, n_paths=40_000, seed=3)
    port = stocks.to_numpy() @ w
    gaussian = k.parametric_var(port, 0.99)
    # one-period Gaussian simulation: sampling error ~1-2% at 40k paths
    assert a == pytest.approx(gaussian, rel=0.05)
    assert a != k.monte_carlo_var(stocks, w, 0.99, n_paths=40_000, seed=4)


def test_monte_carlo_horizon_and_single_asset(aapl):
    one = k.monte_carlo_var(aapl, [1.0], 0.99, n_paths=20_000, horizon=1, seed=1)
    ten = k.monte_carlo_var(aapl, [1.0], 0.99, n_paths=20_000, horizon=10, seed=1)
    assert one == pytest.approx(k.parametric_var(aapl, 0.99), rel=0.05)
    assert 2.0 < ten / one < 4.5  # roughly sqrt(10) for compounding daily shocks


def test_monte_carlo_singular_covariance_uses_eigen_root(aapl):
    r = np.column_stack([aapl, aapl, 2 * aapl])  # rank 1
    v = k.monte_carlo_var(r, [0.25, 0.25, 0.5], n_paths=20_000, seed=0)
    assert v == pytest.approx(k.parametric_var(aapl * 1.5, 0.99), rel=0.06)


def test_monte_carlo_rejects_bad_weights(stocks):
    with pytest.raises(ValueError, match="weights has 2 entries"):
        k.monte_carlo_var(stocks, [0.5, 0.5])
    with pytest.raises(ValueError, match="weights contains 1 NaN"):
        k.monte_carlo_var(stocks, [np.nan] + [0.2] * 5)
    with pytest.raises(ValueError, match="n_paths"):
        k.monte_carlo_var(stocks, [0.2] * 6, n_paths=0)


@pytest.mark.parametrize("bad,message", [
    (np.array([]), "empty"),
    (np.zeros((2, 2, 2)), "1-D .* or 2-D"),
    (np.array([0.01, np.nan, 0.02]), "NaN/inf"),
    (np.array([0.01, np.inf, 0.02]), "NaN/inf"),
    (["a", "b"], "numeric"),
])
def test_bad_input_raises(bad, message):
    for fn in (k.historical_var, k.historical_cvar, k.parametric_var):
        with pytest.raises(ValueError, match=message):
            fn(bad)


def test_nan_message_names_the_column(stocks):
    broken = stocks.copy()
    broken.iloc[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"first at row .*column 'XOM'"):
        k.historical_var(broken)
    with pytest.raises(ValueError, match=r"column 'XOM'"):
        k.historical_var(broken, 0.5)  # quickselect path too


@pytest.mark.parametrize("level", [0.0, 1.0, 99, -0.5, "0.99", True])
def test_level_outside_unit_interval_raises(aapl, level):
    with pytest.raises(ValueError, match="level"):
        k.historical_var(aapl, level)


def test_too_short_for_parametric_measures():
    with pytest.raises(ValueError, match="at least 2"):
        k.parametric_var([0.01])
    with pytest.raises(ValueError, match="at least 4"):
        k.cornish_fisher_var([0.01, 0.02, 0.03])


# --- rolling forms ----------------------------------------------------------------

def test_rolling_historical_matches_pandas(stocks):
    window, level = 60, 0.95
    rv = k.rolling_historical_var(stocks, window, level)
    expected = -stocks.rolling(window).quantile(1 - level)
    pd.testing.assert_frame_equal(rv, expected, rtol=1e-12)
    rc = k.rolling_historical_cvar(stocks["AMD"], window, level)
    exp_c = stocks["AMD"].rolling(window).apply(lambda x: -x[x <= np.quantile(x, 1 - level)].mean(), raw=True)
    pd.testing.assert_series_equal(rc, exp_c, rtol=1e-12, check_names=False)


def test_rolling_parametric_matches_pandas(aapl):
    window, level = 100, 0.99
    mu, sd = aapl.rolling(window).mean(), aapl.rolling(window).std()
    expected = -(mu + sd * stats.norm.ppf(1 - level))
    pd.testing.assert_series_equal(k.rolling_parametric_var(aapl, window, level), expected,
                                   rtol=1e-9, check_names=False)
    es = -mu + sd * stats.norm.pdf(stats.norm.ppf(level)) / (1 - level)
    pd.testing.assert_series_equal(k.rolling_parametric_cvar(aapl, window, level), es,
                                   rtol=1e-9, check_names=False)


def test_rolling_cornish_fisher_equals_point_measure_per_window(aapl):
    window = 80
    out = k.rolling_cornish_fisher_var(aapl, window, 0.99)
    assert out.iloc[: window - 1].isna().all()
    for t in (window - 1, 500, len(aapl) - 1):
        assert out.iloc[t] == pytest.approx(k.cornish_fisher_var(aapl.iloc[t - window + 1: t + 1], 0.99), rel=1e-10)


@pytest.mark.parametrize("window", [1, 0, 10_000, 2.5])
def test_rolling_window_validation(aapl, window):
    with pytest.raises(ValueError, match="window"):
        k.rolling_historical_var(aapl, window)


# --- properties -------------------------------------------------------------------

finite_returns = arrays(np.float64, st.integers(1, 300),
                        elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False))


@settings(max_examples=200, deadline=None)
@given(finite_returns, st.floats(0.5, 0.999))
def test_cvar_at_least_var_and_var_is_numpy_quantile(r, level):
    var, cvar = k.historical_var_cvar(r, level)
    assert var == pytest.approx(-np.quantile(r, 1 - level), rel=1e-12, abs=1e-15)
    assert cvar >= var - 1e-15


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(20, 200), st.integers(1, 4)),
              elements=st.floats(-0.2, 0.2, allow_nan=False, allow_subnormal=False)),
       st.sampled_from([0.9, 0.95, 0.99]))
def test_parametric_cvar_at_least_var(r, level):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.all(k.parametric_cvar(r, level) >= k.parametric_var(r, level) - 1e-15)
