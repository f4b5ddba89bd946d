"""Value-at-Risk / CVaR kernels: C-contiguous float64 (T, N) arrays in, arrays out.

Sign convention inside these kernels is already the public one: VaR and CVaR
are positive numbers for losses. Wrappers live in ``var.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dashapp.kernels._common_nb import (
    column_block_size,
    column_moments_nb,
    gather_columns,
    lerp,
    quantile_inplace,
    quantile_position,
    select_kth,
)
from dashapp.kernels._special_nb import norm_pdf, norm_ppf

# A tail of m order statistics is found by the prefilter pass when m * 16 <= T
# (e.g. 99% or 95% of 2,520 days); larger tails use quickselect per column.
PREFILTER_MAX_FRACTION = 16
SUBSAMPLE_DIV = 3


@njit(cache=True, error_model="numpy")
def use_prefilter(n_periods, level):
    k, _ = quantile_position(n_periods, 1.0 - level)
    return (k + 2) * PREFILTER_MAX_FRACTION <= n_periods


@njit(cache=True, error_model="numpy")
def _var_cvar_exact(col, k, frac):
    """VaR and CVaR (positive losses) from ``col``, which must contain every value
    <= the quantile; reorders ``col``. Quickselect for order statistic k, a scan
    for k + 1 (the minimum above it), and a scan for the tail mean (ties included)."""
    n = col.shape[0]
    select_kth(col, k)
    q = col[k]
    if frac > 0.0 and k + 1 < n:
        hi = col[k + 1]
        for i in range(k + 2, n):
            if col[i] < hi:
                hi = col[i]
        q = lerp(q, hi, frac)
    s = 0.0
    c = 0
    for v in col:
        if v <= q:
            s += v
            c += 1
    return -q, max(-s / c, -q)  # the tail mean is <= q; clamp summation rounding


@njit(cache=True, parallel=True, error_model="numpy")
def historical_var_cvar_stream_nb(a, level, n_threads):
    """Historical VaR and CVaR per column for small tails, ~one pass over the rows.

    1. A strided subsample of rows gives each column a threshold that, with high
       probability, has a few times m = k + 2 values below it.
    2. One pass over all rows (unit stride, columns inner) collects the values
       below the threshold and sums each column (a NaN/inf makes the sum
       non-finite: validation without another pass).
    3. Per column, quickselect on the few candidates gives the quantile and the
       tail mean. Everything <= q is a candidate because q < threshold, so the
       result is exact; a column whose threshold let through fewer than m or too
       many values is redone exactly by quickselect.
    Returns (var, cvar, nonfinite).
    """
    T, N = a.shape
    k, frac = quantile_position(T, 1.0 - level)
    m = min(k + 2, T)
    # Threshold = the rank-th smallest of every step-th row: expect ~2m values
    # below it (sd ~ sqrt(2m * step)), so too few (< m) or too many (> cap) is rare.
    step = max(1, m // SUBSAMPLE_DIV)
    rank = 2 * m // step + 4
    cap = 6 * m + 32
    var = np.empty(N)
    cvar = np.empty(N)
    nonfinite = np.zeros(N, np.bool_)
    redo = np.zeros(N, np.bool_)
    bs = column_block_size(N, n_threads)
    n_blocks = (N + bs - 1) // bs
    for b in prange(n_blocks):
        j0 = b * bs
        w = min(N, j0 + bs) - j0
        # 1. threshold: the rank-th smallest of rows 0, step, 2*step, ...
        small = np.empty((w, rank))
        thr = np.full(w, np.inf)
        seen = 0
        for t in range(0, T, step):
            row = a[t, j0:j0 + w]
            for jj in range(w):
                x = row[jj]
                if x < thr[jj]:
                    i = min(seen, rank - 1) - 1
                    while i >= 0 and small[jj, i] > x:
                        small[jj, i + 1] = small[jj, i]
                        i -= 1
                    small[jj, i + 1] = x
                    if seen >= rank - 1:
                        thr[jj] = small[jj, rank - 1]
            seen += 1
        # 2. collect candidates below the threshold
        cand = np.empty((w, cap))
        cnt = np.zeros(w, np.int64)
        colsum = np.zeros(w)
        for t in range(T):
            row = a[t, j0:j0 + w]
            for jj in range(w):
                colsum[jj] += row[jj]
            for jj in range(w):
                x = row[jj]
                if x < thr[jj]:
                    c = cnt[jj]
                    if c < cap:
                        cand[jj, c] = x
                    cnt[jj] = c + 1
        # 3. tail statistics from the candidates
        for jj in range(w):
            j = j0 + jj
            nonfinite[j] = not math.isfinite(colsum[jj])
            c = cnt[jj]
            if nonfinite[j] or c < m or c > cap:
                redo[j] = not nonfinite[j]
                var[j] = np.nan
                cvar[j] = np.nan
                continue
            var[j], cvar[j] = _var_cvar_exact(cand[jj, :c], k, frac)
    for j in prange(N):
        if redo[j]:
            col = np.empty(T)
            for t in range(T):
                col[t] = a[t, j]
            var[j], cvar[j] = _var_cvar_exact(col, k, frac)
    return var, cvar, nonfinite


@njit(cache=True, parallel=True, error_model="numpy")
def historical_var_cvar_select_nb(a, level):
    """Same result as the streaming kernel, for large tails: quickselect per column
    on a transposed block copy (average O(T) per column, no full sort)."""
    T, N = a.shape
    k, frac = quantile_position(T, 1.0 - level)
    var = np.empty(N)
    cvar = np.empty(N)
    nonfinite = np.zeros(N, np.bool_)
    bs = 8  # 8 columns = one cache line per row when gathering
    n_blocks = (N + bs - 1) // bs
    for b in prange(n_blocks):
        j0 = b * bs
        j1 = min(N, j0 + bs)
        tmp = np.empty((j1 - j0, T))
        gather_columns(a, j0, j1, tmp)
        for jj in range(j1 - j0):
            x = tmp[jj]
            total = 0.0
            for t in range(T):
                total += x[t]
            if not math.isfinite(total):
                nonfinite[j0 + jj] = True
                var[j0 + jj] = np.nan
                cvar[j0 + jj] = np.nan
            else:
                var[j0 + jj], cvar[j0 + jj] = _var_cvar_exact(x, k, frac)
    return var, cvar, nonfinite


@njit(cache=True, error_model="numpy")
def gaussian_var_cvar(mu, sigma, level):
    """Loss-positive Gaussian VaR and expected shortfall for one (mu, sigma)."""
    z = norm_ppf(level)
    return -mu + sigma * z, -mu + sigma * norm_pdf(z) / (1.0 - level)


@njit(cache=True, error_model="numpy")
def cornish_fisher_quantile(z, skew, kurt):
    """Cornish-Fisher expansion of the standard normal quantile ``z``."""
    return (z + (z * z - 1.0) * skew / 6.0 + (z ** 3 - 3.0 * z) * kurt / 24.0
            - (2.0 * z ** 3 - 5.0 * z) * skew * skew / 36.0)


@njit(cache=True, error_model="numpy")
def parametric_var_cvar_nb(a, level, n_threads):
    """Gaussian VaR and CVaR per column from sample mean and std (ddof=1)."""
    mean, std, _, _ = column_moments_nb(a, 1, False, n_threads)
    N = a.shape[1]
    var = np.empty(N)
    cvar = np.empty(N)
    for j in range(N):
        var[j], cvar[j] = gaussian_var_cvar(mean[j], std[j], level)
    return var, cvar


@njit(cache=True, error_model="numpy")
def cornish_fisher_var_nb(a, level, n_threads):
    """Modified (Cornish-Fisher) VaR per column: mean, std ddof=1, biased skew/kurtosis."""
    mean, std, skew, kurt = column_moments_nb(a, 1, True, n_threads)
    z = norm_ppf(1.0 - level)
    N = a.shape[1]
    out = np.empty(N)
    for j in range(N):
        out[j] = -(mean[j] + cornish_fisher_quantile(z, skew[j], kurt[j]) * std[j])
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def compound_portfolios_nb(shocks, mu, weights, horizon):
    """Buy-and-hold return over ``horizon`` steps of every portfolio, on the same paths.

    ``shocks`` is (P * horizon, N) correlated zero-mean draws, path-major; asset
    gross returns compound over the horizon once per path, then each row of
    ``weights`` (S, N), the starting weights, prices them. Returns (S, P).
    """
    n_rows, N = shocks.shape
    S = weights.shape[0]
    P = n_rows // horizon
    out = np.empty((S, P))
    for p in prange(P):
        growth = np.empty(N)
        for i in range(N):
            g = 1.0
            for h in range(horizon):
                g *= 1.0 + mu[i] + shocks[p * horizon + h, i]
            growth[i] = g - 1.0
        for s in range(S):
            total = 0.0
            for i in range(N):
                total += weights[s, i] * growth[i]
            out[s, p] = total
    return out


@njit(cache=True, error_model="numpy")
def var_of_paths_nb(pnl, levels):
    """Loss-positive linear-interpolation VaR of each row of ``pnl`` (S, P) at each
    level: (S, L). One copy per row; each quantile reorders it in place, which
    leaves it a valid input for the next level's selection. Serial: a few
    quickselects over 10^4 paths cost less than waking the thread pool."""
    S, P = pnl.shape
    L = levels.shape[0]
    out = np.empty((S, L))
    for s in range(S):
        x = pnl[s].copy()
        for l in range(L):
            q, _ = quantile_inplace(x, 1.0 - levels[l])
            out[s, l] = -q
    return out
