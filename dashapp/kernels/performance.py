"""Return / risk performance metrics of simple periodic returns.

Conventions: ``returns`` is 1-D (float back) or (T, N) (one value per column:
ndarray, or Series for a DataFrame). ``periods_per_year`` annualises (252 daily,
52 weekly, 12 monthly). ``risk_free`` / ``threshold`` are PER PERIOD, in the unit
of the returns (as empyrical), not annual rates. Standard deviations use ddof=1.
NaN/inf, empty input and too-short series raise ValueError. Ratios with a zero
denominator give +-inf by the sign of the numerator, NaN for 0 / 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dashapp.kernels import drawdown_nb, performance_nb, rolling_nb
from dashapp.kernels._validate import (
    as_returns,
    check_finite_number,
    check_positive_number,
    check_window,
    raise_nonfinite_columns,
    reduce_out,
    series_out,
    to_float_array,
    require_finite,
    threads,
)

Result = Any  # float | np.ndarray | pd.Series


def cagr(returns, periods_per_year: float = 252) -> Result:
    """Compound annual growth rate: ``prod(1 + r) ** (periods_per_year / T) - 1``.
    Same as ``empyrical.cagr(returns, annualization=periods_per_year)``."""
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns)
    return reduce_out(performance_nb.cagr_nb(a, ppy, threads()), shape)


def annual_volatility(returns, periods_per_year: float = 252) -> Result:
    """``std(r, ddof=1) * sqrt(periods_per_year)``. Same as
    ``empyrical.annual_volatility`` and ``quantstats.stats.volatility``. Needs T >= 2."""
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns, min_periods=2)
    return reduce_out(performance_nb.annual_volatility_nb(a, ppy, threads()), shape)


def sharpe_ratio(returns, risk_free: float = 0.0, periods_per_year: float = 252) -> Result:
    """``mean(r - risk_free) / std(r - risk_free, ddof=1) * sqrt(periods_per_year)``.

    ``risk_free`` per period. Same as ``empyrical.sharpe_ratio`` (and
    ``quantstats.stats.sharpe`` with rf=0). A constant series has std exactly 0,
    giving +-inf (NaN if its excess mean is 0). Needs T >= 2.
    """
    rf = check_finite_number(risk_free, "risk_free")
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns, min_periods=2)
    return reduce_out(performance_nb.sharpe_nb(a, rf, ppy, threads()), shape)


def sortino_ratio(returns, risk_free: float = 0.0, periods_per_year: float = 252) -> Result:
    """``mean(r - rf) * sqrt(ppy) / sqrt(mean(min(r - rf, 0)^2))``: downside deviation
    over all T periods (not only the losing ones), target = ``risk_free`` per period.
    Same as ``empyrical.sortino_ratio(returns, required_return=risk_free)``.
    Needs T >= 2."""
    rf = check_finite_number(risk_free, "risk_free")
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns, min_periods=2)
    return reduce_out(performance_nb.sortino_nb(a, rf, ppy, threads()), shape)


def calmar_ratio(returns, periods_per_year: float = 252) -> Result:
    """``cagr / |max_drawdown|``; NaN when there is no drawdown. Same as
    ``empyrical.calmar_ratio(returns, annualization=periods_per_year)``."""
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns)
    growth = performance_nb.cagr_nb(a, ppy, threads())
    mdd, _ = drawdown_nb.max_drawdown_nb(a, threads())
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mdd < 0.0, growth / np.abs(mdd), np.nan)
    return reduce_out(out, shape)


def omega_ratio(returns, threshold: float = 0.0) -> Result:
    """``sum(max(r - threshold, 0)) / sum(max(threshold - r, 0))``; NaN if no return
    is below ``threshold`` (per period). Same as
    ``empyrical.omega_ratio(returns, required_return=threshold, annualization=1)``.
    Needs T >= 2."""
    thr = check_finite_number(threshold, "threshold")
    a, shape = as_returns(returns, min_periods=2)
    return reduce_out(performance_nb.omega_nb(a, thr, threads()), shape)


def tail_ratio(returns) -> Result:
    """``|95th percentile| / |5th percentile|`` of returns (linear interpolation,
    NumPy default); NaN if the 5th percentile is 0. Same as ``empyrical.tail_ratio``
    and ``quantstats.stats.tail_ratio``."""
    a, shape = as_returns(returns)
    return reduce_out(performance_nb.tail_ratio_nb(a), shape)


def stability(returns) -> Result:
    """R^2 of a least-squares line through cumulative log returns
    ``cumsum(log1p(r))`` against time; 0 if that curve is flat. Same as
    ``empyrical.stability_of_timeseries``. Needs T >= 2 and returns > -1."""
    a, shape = as_returns(returns, min_periods=2)
    if (a <= -1.0).any():
        raise ValueError("returns must be > -1 (a loss of 100% or more has no log return)")
    return reduce_out(performance_nb.stability_nb(a), shape)


def alpha_beta(returns, benchmark, periods_per_year: float = 252) -> tuple[Result, Result]:
    """(alpha, beta) against ``benchmark`` returns (1-D, same length T).

    beta = cov(r, b) / var(b) (population moments; NaN if var(b) < 1e-30);
    alpha = ``(mean(r - beta * b) + 1) ** periods_per_year - 1`` (annualised by
    compounding the mean daily residual). Same as
    ``empyrical.alpha_beta(returns, benchmark, annualization=periods_per_year)``.
    Needs T >= 2.
    """
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns, min_periods=2)
    b = to_float_array(benchmark, "benchmark")
    if b.ndim == 2 and b.shape[1] == 1:
        b = b[:, 0]
    if b.ndim != 1 or b.shape[0] != a.shape[0]:
        raise ValueError(f"benchmark must be 1-D with {a.shape[0]} periods like returns; got shape {b.shape}")
    b = np.ascontiguousarray(b)
    require_finite(b, "benchmark")
    alpha, beta = performance_nb.alpha_beta_nb(a, b, ppy)
    return reduce_out(alpha, shape), reduce_out(beta, shape)


def win_rate(returns) -> Result:
    """Share of winning periods among periods with a non-zero return (zeros are
    days without trading and do not count); NaN if every return is 0. Same as
    ``quantstats.stats.win_rate`` (which returns 0.0 in the all-zero case)."""
    a, shape = as_returns(returns)
    return reduce_out(performance_nb.win_rate_nb(a, threads()), shape)


def profit_factor(returns) -> Result:
    """Sum of positive returns / |sum of negative returns|; inf with gains and no
    losses, NaN with neither. Same as ``quantstats.stats.profit_factor`` (which
    returns 0.0 instead of NaN when there are neither gains nor losses)."""
    a, shape = as_returns(returns)
    return reduce_out(performance_nb.profit_factor_nb(a, threads()), shape)


def rolling_volatility(returns, window: int, periods_per_year: float = 252) -> Any:
    """Annualised rolling volatility: trailing-window std (ddof=1) * sqrt(ppy).

    Row t uses rows t - window + 1 .. t; the first window - 1 rows are NaN. Windows
    of identical values give exactly 0. Same as
    ``returns.rolling(window).std() * sqrt(periods_per_year)`` (pandas) and
    ``quantstats.stats.rolling_volatility``. One pass per column, O(1) per step.
    """
    ppy = check_positive_number(periods_per_year, "periods_per_year")
    a, shape = as_returns(returns, check_finite=False)
    window = check_window(window, a.shape[0])
    std = np.empty_like(a)
    bad = rolling_nb.rolling_mean_std_nb(a, window, 1, np.sqrt(ppy), std, np.empty((0, 0)), threads())
    if bad.any():
        raise_nonfinite_columns(a, "returns", bad, shape)
    return series_out(std, shape)
