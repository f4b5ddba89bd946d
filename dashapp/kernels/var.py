"""Value-at-Risk and CVaR (expected shortfall) of simple periodic returns.

Conventions shared by every function here:

* ``returns``: simple returns per period (0.01 = +1%), a 1-D array/Series (one
  value back, a float) or a 2-D (T, N) array/DataFrame (one value per column:
  ndarray, or Series indexed by the DataFrame's columns).
* ``level``: confidence level strictly inside (0, 1); 0.99 looks at the worst 1%.
* Sign: VaR and CVaR are reported as POSITIVE losses (0.032 = a 3.2% loss). A
  quantile above zero (every outcome a gain) gives a negative VaR.
* NaN/inf in ``returns`` raise ValueError (drop or fill them first), as do empty
  input, a wrong rank and ``level`` outside (0, 1).
* Horizon: one period of the input; scale outside if needed (no sqrt-of-time here).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from dashapp.kernels import var_nb
from dashapp.kernels._validate import (
    as_returns,
    check_level,
    check_positive_int,
    raise_nonfinite_columns,
    reduce_out,
    require_finite,
    threads,
    to_float_array,
)

Result = Any  # float | np.ndarray | pd.Series


def historical_var_cvar(returns, level: float = 0.99) -> tuple[Result, Result]:
    """Historical VaR and CVaR together (one pass over the data); see the two below.

    Tails of at most T/16 periods (e.g. 95% or 99% of 2,520 days) come from about
    one pass over the rows that keeps only the values below a per-column
    threshold taken from a subsample; larger tails use quickselect per column.
    Neither sorts a whole column; both are exact.
    """
    level = check_level(level)
    a, shape = as_returns(returns, check_finite=False)
    if var_nb.use_prefilter(a.shape[0], level):
        var, cvar, bad = var_nb.historical_var_cvar_stream_nb(a, level, threads())
    else:
        var, cvar, bad = var_nb.historical_var_cvar_select_nb(a, level)
    if bad.any():
        raise_nonfinite_columns(a, "returns", bad, shape)
    return reduce_out(var, shape), reduce_out(cvar, shape)


def historical_var(returns, level: float = 0.99) -> Result:
    """Historical VaR: minus the empirical (1 - level) quantile of returns.

    Quantile: linear interpolation between order statistics, NumPy's default
    ``method="linear"`` (virtual index (T - 1) * (1 - level), with 1 - level in
    floating point exactly as NumPy receives it). Same as
    ``-np.quantile(returns, 1 - level, axis=0)`` and
    ``-empyrical.value_at_risk(returns, cutoff=1 - level)``.
    """
    return historical_var_cvar(returns, level)[0]


def historical_cvar(returns, level: float = 0.99) -> Result:
    """Historical CVaR (expected shortfall): minus the mean of all returns <= the
    historical VaR quantile q (ties at q included), so CVaR >= VaR always (the
    last-bit rounding of the tail sum is clamped so this holds exactly).

    Same as ``-quantstats.stats.conditional_value_at_risk(returns,
    confidence=level, method="historical")``; equals
    ``-empyrical.conditional_value_at_risk(returns, cutoff=1 - level)`` unless
    several returns tie at q.
    """
    return historical_var_cvar(returns, level)[1]


def parametric_var(returns, level: float = 0.99) -> Result:
    """Gaussian (variance-covariance) VaR: ``-(mean + std * Phi^-1(1 - level))``.

    mean is the sample mean, std the sample standard deviation with ddof=1.
    Same as ``-quantstats.stats.value_at_risk(returns, confidence=level)`` and
    ``-scipy.stats.norm.ppf(1 - level, mean, std)``. Needs T >= 2.
    """
    level = check_level(level)
    a, shape = as_returns(returns, min_periods=2)
    return reduce_out(var_nb.parametric_var_cvar_nb(a, level, threads())[0], shape)


def parametric_cvar(returns, level: float = 0.99) -> Result:
    """Gaussian expected shortfall: ``-mean + std * phi(Phi^-1(level)) / (1 - level)``.

    mean / std (ddof=1) as in ``parametric_var``. Same as
    ``-quantstats.stats.conditional_value_at_risk(returns, confidence=level)``
    (its default parametric method). Needs T >= 2.
    """
    level = check_level(level)
    a, shape = as_returns(returns, min_periods=2)
    return reduce_out(var_nb.parametric_var_cvar_nb(a, level, threads())[1], shape)


def parametric_var_cvar(returns, level: float = 0.99) -> tuple[Result, Result]:
    """Gaussian VaR and CVaR together from one pass of moments; the same values as
    ``parametric_var`` and ``parametric_cvar``. Needs T >= 2."""
    level = check_level(level)
    a, shape = as_returns(returns, min_periods=2)
    var, cvar = var_nb.parametric_var_cvar_nb(a, level, threads())
    return reduce_out(var, shape), reduce_out(cvar, shape)


def cornish_fisher_var(returns, level: float = 0.99) -> Result:
    """Modified VaR with the Cornish-Fisher expansion of the Gaussian quantile.

    ``-(mean + z_cf * std)`` with z = Phi^-1(1 - level) and
    ``z_cf = z + (z^2 - 1) S / 6 + (z^3 - 3z) K / 24 - (2 z^3 - 5z) S^2 / 36``;
    std has ddof=1, S and K are the biased sample skewness and EXCESS kurtosis
    (``scipy.stats.skew`` / ``scipy.stats.kurtosis`` defaults). A constant series
    has S = K = 0. Reference: PerformanceAnalytics ``VaR(method="modified")``,
    checked in tests against that formula built from scipy. Needs T >= 4.
    """
    level = check_level(level)
    a, shape = as_returns(returns, min_periods=4)
    return reduce_out(var_nb.cornish_fisher_var_nb(a, level, threads()), shape)


def _cholesky_factor(cov: np.ndarray) -> np.ndarray:
    """Lower factor L with L @ L.T == cov; an eigen square root when cov is only
    positive semi-definite (e.g. more assets than periods, or a constant asset)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        return vecs * np.sqrt(np.clip(vals, 0.0, None))


# Seeded draws are a pure function of (seed, shape): the risk monitor asks for the same 10,000 x N
# standard normals on every refresh, and drawing them was most of a refresh's Monte Carlo cost.
# A few small sets are kept per process (read-only); larger or unseeded ones are drawn each call.
_DRAW_CACHE: dict = {}
_DRAW_CACHE_MAX = 1_000_000  # values per set (8 MB)
_DRAW_CACHE_SETS = 4
_DRAW_CACHE_LOCK = threading.Lock()


def _seeded_normals(seed, rows: int, cols: int) -> np.ndarray:
    """The same array as ``np.random.default_rng(seed).standard_normal((rows, cols))``, memoised."""
    key = (int(seed), rows, cols)
    draws = _DRAW_CACHE.get(key)
    if draws is None:
        draws = np.random.default_rng(seed).standard_normal((rows, cols))
        draws.flags.writeable = False
        with _DRAW_CACHE_LOCK:  # web threads share the cache
            while len(_DRAW_CACHE) >= _DRAW_CACHE_SETS:
                del _DRAW_CACHE[next(iter(_DRAW_CACHE))]
            _DRAW_CACHE[key] = draws
    return draws


def monte_carlo_var(returns, weights, level: float = 0.99, n_paths: int = 10_000,
                    horizon: int = 1, seed: int | None = 0) -> float:
    """Monte Carlo VaR of a portfolio from a correlated Gaussian simulation.

    Asset returns per period are drawn from N(mu, Sigma), mu the sample means and
    Sigma the sample covariance (ddof=1) of ``returns`` (T, N), correlated through a
    Cholesky factor of Sigma (eigen square root if Sigma is singular). Each asset
    compounds over ``horizon`` periods; the portfolio return of a path is
    ``sum_i weights_i * (prod_h (1 + r_ih) - 1)`` (buy and hold from the starting
    ``weights``, fractions of portfolio value). VaR is minus the linear-interpolation
    (1 - level) quantile of the simulated portfolio returns, a positive loss.

    ``seed`` fixes the NumPy ``default_rng`` stream so a report is reproducible
    (pass None for fresh entropy). A 1-D ``returns`` is a single asset.
    Sampling error shrinks like 1 / sqrt(n_paths). Equals the matching entry of
    ``monte_carlo_var_many`` with the same seed (it is that, for one portfolio).
    """
    level = check_level(level)
    w = to_float_array(weights, "weights").reshape(1, -1)
    return float(monte_carlo_var_many(returns, w, (level,), n_paths, horizon, seed)[0, 0])


def monte_carlo_var_many(returns, weights, levels=(0.99,), n_paths: int = 10_000,
                         horizon: int = 1, seed: int | None = 0) -> np.ndarray:
    """Monte Carlo VaR of several portfolios at several levels from ONE simulation.

    ``weights`` is (S, N): one row of starting weights per portfolio (e.g. each
    strategy and the total); the result is (S, len(levels)), row s and column l
    being ``monte_carlo_var(returns, weights[s], levels[l], ...)`` with the same
    seed: every portfolio and level is read off the same simulated asset paths,
    so a refresh draws once instead of once per scope and level.

    One period (``horizon=1``) is linear in the shocks, so portfolio s returns
    ``Z @ (L.T @ w_s) + w_s @ mu`` on standard normal draws Z (P, N) with factor L:
    one matrix-vector product per portfolio instead of correlating all N assets on
    every path. Seeded draws of up to 10^6 values are memoised per process (see
    ``_seeded_normals``); the numbers are the ones a fresh draw would give.
    """
    levels = np.array([check_level(x, "levels") for x in np.atleast_1d(levels)], dtype=np.float64)
    n_paths = check_positive_int(n_paths, "n_paths")
    horizon = check_positive_int(horizon, "horizon")
    a, _ = as_returns(returns, min_periods=2)
    w = to_float_array(weights, "weights")
    w = np.ascontiguousarray(w.reshape(1, -1) if w.ndim <= 1 else w)
    if w.ndim != 2 or w.shape[1] != a.shape[1]:
        raise ValueError(f"weights has {w.shape[-1]} entries but returns has {a.shape[1]} asset column(s)")
    require_finite(w, "weights")
    mu = a.mean(axis=0)
    factor = _cholesky_factor(np.atleast_2d(np.cov(a, rowvar=False, ddof=1)))
    rng = np.random.default_rng(seed)
    n_assets = a.shape[1]
    chunk = max(1, 2_000_000 // (n_assets * horizon))  # ~16 MB of draws at a time
    pnl = np.empty((w.shape[0], n_paths))
    # Per portfolio, its exposure to the N independent draws and its mean: vector products, one
    # portfolio at a time, so its numbers do not depend on which others share the call (a matrix
    # product may sum in another order for another shape).
    loadings = [factor.T @ w[s] for s in range(w.shape[0])]
    drift = [float(w[s] @ mu) for s in range(w.shape[0])]
    done = 0
    while done < n_paths:
        p = min(chunk, n_paths - done)
        if isinstance(seed, (int, np.integer)) and p == n_paths and p * horizon * n_assets <= _DRAW_CACHE_MAX:
            draws = _seeded_normals(seed, p * horizon, n_assets)
        else:
            draws = rng.standard_normal((p * horizon, n_assets))
        if horizon == 1:
            for s in range(w.shape[0]):
                pnl[s, done:done + p] = draws @ loadings[s] + drift[s]
        else:
            shocks = np.ascontiguousarray(draws @ factor.T)
            pnl[:, done:done + p] = var_nb.compound_portfolios_nb(shocks, mu, w, horizon)
        done += p
    return var_nb.var_of_paths_nb(pnl, levels)
