"""Performance-metric kernels on C-contiguous float64 (T, N) simple returns.

Each function returns one value per column; annualisation factors are passed
in, never assumed. References (compared in tests) are named in ``performance.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dashapp.kernels._common_nb import (
    column_block_size,
    column_moments_nb,
    gather_columns,
    quantile_inplace,
)


@njit(cache=True, error_model="numpy")
def _ratio(num, den):
    """num / den with den == 0 giving +-inf by the sign of num (NaN for 0 / 0)."""
    if den > 0.0:
        return num / den
    if num > 0.0:
        return np.inf
    if num < 0.0:
        return -np.inf
    return np.nan


@njit(cache=True, error_model="numpy")
def annual_volatility_nb(a, periods_per_year, n_threads):
    """Sample std (ddof=1) * sqrt(periods_per_year) per column."""
    _, std, _, _ = column_moments_nb(a, 1, False, n_threads)
    return std * math.sqrt(periods_per_year)


@njit(cache=True, error_model="numpy")
def sharpe_nb(a, risk_free, periods_per_year, n_threads):
    """mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year) per column."""
    mean, std, _, _ = column_moments_nb(a, 1, False, n_threads)
    N = a.shape[1]
    out = np.empty(N)
    for j in range(N):
        out[j] = _ratio(mean[j] - risk_free, std[j]) * math.sqrt(periods_per_year)
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _column_sums_nb(a, shift, n_threads):
    """Per column: sum(x - shift), sum(min(x - shift, 0)^2), sum of positive and
    of negative parts, count > 0, count < 0, and the compounded wealth prod(1 + x)."""
    T, N = a.shape
    out = np.zeros((7, N))
    bs = column_block_size(N, n_threads)
    n_blocks = (N + bs - 1) // bs
    for b in prange(n_blocks):
        j0 = b * bs
        j1 = min(N, j0 + bs)
        for j in range(j0, j1):
            out[6, j] = 1.0
        for t in range(T):
            for j in range(j0, j1):
                x = a[t, j]
                d = x - shift
                out[0, j] += d
                if d < 0.0:
                    out[1, j] += d * d
                    out[3, j] += d
                    out[5, j] += 1.0
                elif d > 0.0:
                    out[2, j] += d
                    out[4, j] += 1.0
                out[6, j] *= 1.0 + x
    return out


@njit(cache=True, error_model="numpy")
def cagr_nb(a, periods_per_year, n_threads):
    """(prod(1 + r)) ** (periods_per_year / T) - 1 per column."""
    T = a.shape[0]
    wealth = _column_sums_nb(a, 0.0, n_threads)[6]
    return wealth ** (periods_per_year / T) - 1.0


@njit(cache=True, error_model="numpy")
def sortino_nb(a, required, periods_per_year, n_threads):
    """mean(r - req) * sqrt(ppy) / sqrt(mean(min(r - req, 0)^2))."""
    T = a.shape[0]
    sums = _column_sums_nb(a, required, n_threads)
    mean = sums[0] / T
    downside = np.sqrt(sums[1] / T)
    N = a.shape[1]
    out = np.empty(N)
    for j in range(N):
        out[j] = _ratio(mean[j], downside[j]) * math.sqrt(periods_per_year)
    return out


@njit(cache=True, error_model="numpy")
def omega_nb(a, threshold, n_threads):
    """sum of gains above threshold / sum of shortfalls below it; NaN if no shortfall."""
    sums = _column_sums_nb(a, threshold, n_threads)
    N = a.shape[1]
    out = np.empty(N)
    for j in range(N):
        loss = -sums[3, j]
        out[j] = sums[2, j] / loss if loss > 0.0 else np.nan
    return out


@njit(cache=True, error_model="numpy")
def win_rate_nb(a, n_threads):
    """Share of positive periods among non-zero periods; NaN if all are zero."""
    sums = _column_sums_nb(a, 0.0, n_threads)
    N = a.shape[1]
    out = np.empty(N)
    for j in range(N):
        n = sums[4, j] + sums[5, j]
        out[j] = sums[4, j] / n if n > 0 else np.nan
    return out


@njit(cache=True, error_model="numpy")
def profit_factor_nb(a, n_threads):
    """Sum of gains / |sum of losses|; inf if there are gains but no losses, NaN if neither."""
    sums = _column_sums_nb(a, 0.0, n_threads)
    N = a.shape[1]
    out = np.empty(N)
    for j in range(N):
        gains = sums[2, j]
        losses = -sums[3, j]
        if losses > 0.0:
            out[j] = gains / losses
        else:
            out[j] = np.inf if gains > 0.0 else np.nan
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def tail_ratio_nb(a):
    """|95th percentile| / |5th percentile| (linear interpolation) per column."""
    T, N = a.shape
    out = np.empty(N)
    bs = 8
    n_blocks = (N + bs - 1) // bs
    for b in prange(n_blocks):
        j0 = b * bs
        j1 = min(N, j0 + bs)
        tmp = np.empty((j1 - j0, T))
        gather_columns(a, j0, j1, tmp)
        for jj in range(j1 - j0):
            x = tmp[jj]
            hi, _ = quantile_inplace(x, 0.95)
            lo, _ = quantile_inplace(x, 0.05)
            out[j0 + jj] = abs(hi) / abs(lo) if lo != 0.0 else np.nan
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def stability_nb(a):
    """R^2 of an OLS fit of cumulative log returns on time (0, 1, ..., T-1).

    Two passes (means, then centred cross-products); 0 when the cumulative log
    return is constant, as scipy.stats.linregress reports r = 0 then.
    """
    T, N = a.shape
    out = np.empty(N)
    t_mean = (T - 1) / 2.0
    for j in prange(N):
        y = 0.0
        y_sum = 0.0
        for t in range(T):
            y += math.log1p(a[t, j])
            y_sum += y
        y_mean = y_sum / T
        y = 0.0
        sxy = 0.0
        syy = 0.0
        sxx = 0.0
        for t in range(T):
            y += math.log1p(a[t, j])
            dy = y - y_mean
            dt = t - t_mean
            sxy += dt * dy
            syy += dy * dy
            sxx += dt * dt
        if syy == 0.0 or sxx == 0.0:
            out[j] = 0.0
        else:
            r = sxy / math.sqrt(sxx * syy)
            r = min(1.0, max(-1.0, r))
            out[j] = r * r
    return out


@njit(cache=True, error_model="numpy")
def alpha_beta_nb(a, bench, periods_per_year):
    """beta = cov(r, b) / var(b) (both ddof=0); alpha = (mean(r - beta*b) + 1)**ppy - 1.

    Benchmark variance below 1e-30 gives NaN (empyrical's cut-off).
    """
    T, N = a.shape
    b_mean = 0.0
    for t in range(T):
        b_mean += bench[t]
    b_mean /= T
    b_var = 0.0
    for t in range(T):
        d = bench[t] - b_mean
        b_var += d * d
    b_var /= T
    r_mean = np.zeros(N)
    cov = np.zeros(N)
    for t in range(T):
        for j in range(N):
            r_mean[j] += a[t, j]
    r_mean /= T
    for t in range(T):
        d = bench[t] - b_mean
        for j in range(N):
            cov[j] += d * (a[t, j] - r_mean[j])
    alpha = np.empty(N)
    beta = np.empty(N)
    for j in range(N):
        if b_var < 1e-30:
            alpha[j] = np.nan
            beta[j] = np.nan
            continue
        beta[j] = cov[j] / T / b_var
        alpha[j] = (r_mean[j] - beta[j] * b_mean + 1.0) ** periods_per_year - 1.0
    return alpha, beta
