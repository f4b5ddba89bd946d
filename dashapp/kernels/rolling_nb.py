"""Rolling-window kernels over C-contiguous float64 (T, N) arrays.

Outputs are (T, N); the first ``window - 1`` rows are NaN (pandas ``rolling``
convention, ``min_periods = window``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dashapp.kernels._common_nb import column_block_size, lerp, quantile_position
from dashapp.kernels._special_nb import norm_ppf
from dashapp.kernels.var_nb import cornish_fisher_quantile, gaussian_var_cvar


@njit(cache=True, parallel=True, error_model="numpy")
def rolling_mean_std_nb(a, window, ddof, scale, std, mean_out, n_threads):
    """Rolling ``scale`` * std (``ddof``) into ``std`` (T, N) and, if ``mean_out`` is
    (T, N) rather than empty, the rolling mean into it; one pass per column.

    Outputs come from the caller because NumPy backs large arrays with huge
    pages; allocating 40 MB inside numba costs ~10k page faults, more than the
    computation.

    Welford's update with replacement (one value in, one out, same count) keeps
    the sum of squared deviations accurate without re-summing the window. Windows
    whose values are all equal report exactly 0 (as pandas does) rather than
    rounding residue. Returns the per-column ``nonfinite`` flags: NaN/inf
    poisons the running mean, which is how a column gets flagged.
    """
    T, N = a.shape
    with_mean = mean_out.shape[0] > 0
    nonfinite = np.zeros(N, np.bool_)
    bs = column_block_size(N, n_threads)
    n_blocks = (N + bs - 1) // bs
    inv_w = 1.0 / window
    inv_denom = 1.0 / (window - ddof)
    for b in prange(n_blocks):
        j0 = b * bs
        j1 = min(N, j0 + bs)
        w = j1 - j0
        mean = np.zeros(w)
        m2 = np.zeros(w)
        run = np.ones(w)  # consecutive equal values ending at row t (float: vectorises)
        # Row views + one simple loop per step keep every inner loop unit-stride
        # and branch-free, so LLVM vectorises them.
        for t in range(T):
            x = a[t, j0:j1]
            if t < window:
                inv = 1.0 / (t + 1)
                for jj in range(w):
                    d = x[jj] - mean[jj]
                    mean[jj] += d * inv
                    m2[jj] += d * (x[jj] - mean[jj])
            else:
                xo = a[t - window, j0:j1]
                for jj in range(w):
                    mo = mean[jj]
                    d = x[jj] - xo[jj]
                    mn = mo + d * inv_w
                    mean[jj] = mn
                    m2[jj] += d * (x[jj] - mn + xo[jj] - mo)
            if t > 0:
                xp = a[t - 1, j0:j1]
                for jj in range(w):
                    run[jj] = run[jj] + 1.0 if x[jj] == xp[jj] else 1.0
            out = std[t, j0:j1]
            if t + 1 < window:
                out[:] = np.nan
                if with_mean:
                    mean_out[t, j0:j1] = np.nan
                continue
            for jj in range(w):
                v = m2[jj] * inv_denom
                v = 0.0 if (run[jj] >= window or v < 0.0) else v
                out[jj] = math.sqrt(v) * scale
            if with_mean:
                mean_out[t, j0:j1] = mean
        for jj in range(w):
            nonfinite[j0 + jj] = not math.isfinite(mean[jj])
    return nonfinite


@njit(cache=True, error_model="numpy")
def _move_in_sorted(win, old, new):
    """Replace one occurrence of ``old`` by ``new`` in the sorted array ``win``."""
    lo = 0
    hi = win.shape[0]
    while lo < hi:  # leftmost index with win[i] >= old
        mid = (lo + hi) >> 1
        if win[mid] < old:
            lo = mid + 1
        else:
            hi = mid
    i = lo
    n = win.shape[0]
    if new > old:
        while i + 1 < n and win[i + 1] < new:
            win[i] = win[i + 1]
            i += 1
    else:
        while i > 0 and win[i - 1] > new:
            win[i] = win[i - 1]
            i -= 1
    win[i] = new


@njit(cache=True, parallel=True, error_model="numpy")
def rolling_historical_var_cvar_nb(a, window, level):
    """Rolling historical VaR and CVaR: a sorted copy of each window is updated in
    O(window) per step (one value out, one in) instead of re-selecting."""
    T, N = a.shape
    k, frac = quantile_position(window, 1.0 - level)
    var = np.full((T, N), np.nan)
    cvar = np.full((T, N), np.nan)
    for j in prange(N):
        win = np.empty(window)
        for t in range(window):
            win[t] = a[t, j]
        win.sort()
        for t in range(window - 1, T):
            if t >= window:
                _move_in_sorted(win, a[t - window, j], a[t, j])
            hi = win[k + 1] if k + 1 < window else win[k]
            q = lerp(win[k], hi, frac) if frac > 0.0 else win[k]
            s = 0.0
            c = 0
            while c < window and win[c] <= q:
                s += win[c]
                c += 1
            var[t, j] = -q
            cvar[t, j] = max(-s / c, -q)  # the tail mean is <= q; clamp summation rounding
    return var, cvar


@njit(cache=True, parallel=True, error_model="numpy")
def rolling_parametric_var_cvar_nb(a, window, level, n_threads):
    """Rolling Gaussian VaR and CVaR from rolling mean and std (ddof=1)."""
    T, N = a.shape
    mean = np.empty((T, N))
    std = np.empty((T, N))
    rolling_mean_std_nb(a, window, 1, 1.0, std, mean, n_threads)
    var = np.empty((T, N))
    cvar = np.empty((T, N))
    for t in prange(T):
        for j in range(N):
            var[t, j], cvar[t, j] = gaussian_var_cvar(mean[t, j], std[t, j], level)
    return var, cvar


@njit(cache=True, parallel=True, error_model="numpy")
def rolling_cornish_fisher_var_nb(a, window, level):
    """Rolling Cornish-Fisher VaR; moments recomputed per window (two passes, exact
    zero dispersion for constant windows), O(T * window) per column."""
    T, N = a.shape
    z = norm_ppf(1.0 - level)
    out = np.full((T, N), np.nan)
    for j in prange(N):
        col = np.empty(T)
        for t in range(T):
            col[t] = a[t, j]
        for t in range(window - 1, T):
            x = col[t - window + 1:t + 1]
            m = 0.0
            lo = x[0]
            hi = x[0]
            for v in x:
                m += v
                lo = min(lo, v)
                hi = max(hi, v)
            m /= window
            if lo == hi:
                out[t, j] = -m
                continue
            s2 = 0.0
            s3 = 0.0
            s4 = 0.0
            for v in x:
                d = v - m
                s2 += d * d
                s3 += d * d * d
                s4 += d * d * d * d
            m2 = s2 / window
            skew = (s3 / window) / m2 ** 1.5
            kurt = (s4 / window) / (m2 * m2) - 3.0
            sd = math.sqrt(s2 / (window - 1))
            out[t, j] = -(m + cornish_fisher_quantile(z, skew, kurt) * sd)
    return out
