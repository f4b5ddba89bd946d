"""Numba special functions against SciPy / NumPy; start-up helpers."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy.special import ndtr, ndtri

import dashapp.kernels as k
from dashapp.kernels import _special_nb as sp
from dashapp.kernels._common_nb import first_nonfinite_nb, quantile_inplace


@njit
def _map(fn_id, x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        if fn_id == 0:
            out[i] = sp.norm_ppf(x[i])
        elif fn_id == 1:
            out[i] = sp.norm_cdf(x[i])
        elif fn_id == 2:
            out[i] = sp.norm_cdf_given_pdf(x[i], sp.norm_pdf(x[i]))
        elif fn_id == 3:
            out[i] = sp.exp_vec(x[i])
        else:
            out[i] = sp.log_vec(x[i])
    return out


def test_norm_ppf_matches_scipy():
    p = np.concatenate([np.logspace(-300, -1, 400), np.linspace(0.01, 0.99, 999), 1 - np.logspace(-15, -2, 200)])
    np.testing.assert_allclose(_map(0, p), ndtri(p), rtol=2e-15, atol=1e-15)
    assert np.isnan(_map(0, np.array([0.0, 1.0, -0.1]))).all()


def test_norm_cdf_matches_scipy():
    x = np.linspace(-37, 37, 20_001)
    # libm erfc and Cephes ndtr both lose a few digits of exp(-x^2) deep in the tail
    np.testing.assert_allclose(_map(1, x), ndtr(x), rtol=1e-12, atol=0)
    mid = np.abs(x) < 8
    np.testing.assert_allclose(_map(1, x[mid]), ndtr(x[mid]), rtol=2e-14, atol=0)
    # Hart's rational (|x| < 3) + erfc tails
    np.testing.assert_allclose(_map(2, x), ndtr(x), rtol=5e-14, atol=2e-16)


def test_vectorisable_exp_and_log_within_two_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-700, 700, 100_000), rng.uniform(-1, 1, 10_000), [0.0, -708.0, 709.0]])
    e = _map(3, x)
    assert np.all(np.abs(e - np.exp(x)) <= 2 * np.spacing(np.exp(x)))
    assert _map(3, np.array([-800.0, 800.0])).tolist() == [0.0, np.inf]
    y = np.concatenate([np.exp(rng.uniform(-700, 700, 100_000)), rng.uniform(0.5, 2.0, 10_000), [1.0, 2.0]])
    ly = _map(4, y)
    assert np.all(np.abs(ly - np.log(y)) <= 2 * np.spacing(np.abs(np.log(y))) + 1e-300)
    # edge values behave like np.log / np.exp, so invalid inputs surface as non-finite
    special = np.array([0.0, -1.0, np.inf, np.nan])
    np.testing.assert_array_equal(_map(4, special), [-np.inf, np.nan, np.inf, np.nan])
    np.testing.assert_array_equal(_map(3, np.array([np.nan, -np.inf, np.inf])), [np.nan, 0.0, np.inf])


def test_first_nonfinite_and_quantile_helpers():
    x = np.zeros(100_003)
    assert first_nonfinite_nb(x) == -1
    x[77_777] = np.inf
    x[90_000] = np.nan
    assert first_nonfinite_nb(x) == 77_777
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 1000):
        data = rng.normal(size=n)
        for q in (0.0, 0.01, 0.5, 0.99, 1.0):
            assert quantile_inplace(data.copy(), q)[0] == pytest.approx(np.quantile(data, q), rel=1e-15, abs=1e-300)
    sorted_desc = np.arange(5000, 0, -1, dtype=np.float64)  # adversarial order for quickselect
    assert quantile_inplace(sorted_desc, 0.3)[0] == np.quantile(np.arange(5000, 0, -1.0), 0.3)


def test_warm_up_compiles_the_kernels_behind_the_public_api():
    """Behaviour, not speed: after warm_up the compiled kernels behind each family of the public API
    (VaR, rolling risk, drawdown, performance, portfolio, TCA, options) hold a compiled signature,
    so the first real call loads nothing. How long it took is reported, never asserted."""
    from dashapp.kernels import drawdown_nb, options_nb, performance_nb, portfolio_nb, rolling_nb, tca_nb, var_nb

    assert isinstance(k.warm_up(), float)
    kernels = [var_nb.historical_var_cvar_select_nb, var_nb.parametric_var_cvar_nb, var_nb.cornish_fisher_var_nb,
               var_nb.var_of_paths_nb, rolling_nb.rolling_historical_var_cvar_nb, rolling_nb.rolling_mean_std_nb,
               drawdown_nb.drawdown_series_nb, drawdown_nb.max_drawdown_nb, performance_nb.sharpe_nb,
               performance_nb.alpha_beta_nb, portfolio_nb.concentration_nb, portfolio_nb.group_sum_nb,
               tca_nb.slippage_bps_nb, tca_nb.markouts_nb, options_nb.black_scholes_nb]
    assert [kernel.__name__ for kernel in kernels if not kernel.signatures] == []


def test_public_api_is_exported():
    expected = {
        "historical_var", "historical_cvar", "parametric_var", "parametric_cvar", "cornish_fisher_var",
        "monte_carlo_var", "rolling_historical_var", "rolling_historical_cvar", "rolling_parametric_var",
        "rolling_parametric_cvar", "rolling_cornish_fisher_var", "drawdown_series", "max_drawdown",
        "max_drawdown_duration", "recovery_time", "cagr", "annual_volatility", "sharpe_ratio", "sortino_ratio",
        "calmar_ratio", "omega_ratio", "tail_ratio", "stability", "alpha_beta", "win_rate", "profit_factor",
        "rolling_volatility", "concentration", "correlation_matrix", "exposure_by", "black_scholes",
        "arrival_slippage_bps", "implementation_shortfall", "vwap_slippage_bps", "twap_slippage_bps",
        "effective_spread", "realised_spread", "price_improvement_bps", "markouts", "fill_rate",
        "latency_percentiles", "warm_up",
    }
    assert expected <= set(k.__all__)
    assert all(callable(getattr(k, name)) for name in expected)
