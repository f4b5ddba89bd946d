"""Drawdown kernels on C-contiguous float64 (T, N) simple returns.

Wealth starts at 1 before the first return and compounds, ``w_t = w_{t-1} * (1 + r_t)``;
the running peak includes that starting 1, so a first-period loss is a drawdown
(same anchor as empyrical). Drawdown is ``w_t / peak_t - 1`` (<= 0). Returns
below -1 make wealth negative; the kernels do not guard against that.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dashapp.kernels._common_nb import column_block_size


# Rows folded into the running state per sweep of a column block (see max_drawdown_nb).
MDD_ROWS = 8


@njit(cache=True, error_model="numpy")
def _grow(u, r):
    """One period of u = wealth / running peak: u' = min(1, u * (1 + r)), since a value
    above the old peak is the new peak. NaN fails the test and propagates."""
    x = u * (1.0 + r)
    return 1.0 if x >= 1.0 else x


@njit(cache=True, error_model="numpy")
def _mdd_rows(a, t, j0, w, under, low, bad, n):
    """Fold rows t .. t+n-1 of columns j0 .. j0+w-1 into the block state, one row at a time."""
    for i in range(n):
        r = a[t + i, j0:j0 + w]
        for jj in range(w):
            x = _grow(under[jj], r[jj])
            under[jj] = x
            low[jj] = x if x < low[jj] else low[jj]
            bad[jj] += r[jj] - r[jj]


@njit(cache=True, parallel=True, error_model="numpy")
def max_drawdown_nb(a, n_threads):
    """Most negative drawdown per column in one pass (rows outer, columns inner).

    Tracks u = wealth / running peak (``_grow``): no division, and the minimum of u
    gives the result (min(u) - 1 equals min(u - 1) exactly: x -> x - 1 is monotone
    in floating point). Each block sweep folds MDD_ROWS rows into registers before
    writing the three state arrays back: the state costs one load and one store per
    8 rows instead of per row, which is what kept the old one-row loop from running
    at memory speed. check[j] is NaN iff column j holds NaN/inf (sum of r - r), so
    the wrapper validates without another pass.
    Returns (max_drawdown, check).
    """
    T, N = a.shape
    mdd = np.empty(N)
    check = np.empty(N)
    bs = column_block_size(N, n_threads)
    n_blocks = (N + bs - 1) // bs
    t_main = T - T % MDD_ROWS
    for b in prange(n_blocks):
        j0 = b * bs
        w = min(N, j0 + bs) - j0
        under = np.ones(w)
        low = np.ones(w)  # running minimum of u
        bad = np.zeros(w)
        for t in range(0, t_main, MDD_ROWS):
            # Written out (not an inner loop over i) so LLVM vectorises across columns.
            r0 = a[t, j0:j0 + w]
            r1 = a[t + 1, j0:j0 + w]
            r2 = a[t + 2, j0:j0 + w]
            r3 = a[t + 3, j0:j0 + w]
            r4 = a[t + 4, j0:j0 + w]
            r5 = a[t + 5, j0:j0 + w]
            r6 = a[t + 6, j0:j0 + w]
            r7 = a[t + 7, j0:j0 + w]
            for jj in range(w):
                x = _grow(under[jj], r0[jj])
                m = x if x < low[jj] else low[jj]
                x = _grow(x, r1[jj])
                m = x if x < m else m
                x = _grow(x, r2[jj])
                m = x if x < m else m
                x = _grow(x, r3[jj])
                m = x if x < m else m
                x = _grow(x, r4[jj])
                m = x if x < m else m
                x = _grow(x, r5[jj])
                m = x if x < m else m
                x = _grow(x, r6[jj])
                m = x if x < m else m
                x = _grow(x, r7[jj])
                under[jj] = x
                low[jj] = x if x < m else m
                bad[jj] += ((r0[jj] - r0[jj]) + (r1[jj] - r1[jj]) + (r2[jj] - r2[jj]) + (r3[jj] - r3[jj])
                            + (r4[jj] - r4[jj]) + (r5[jj] - r5[jj]) + (r6[jj] - r6[jj]) + (r7[jj] - r7[jj]))
        _mdd_rows(a, t_main, j0, w, under, low, bad, T - t_main)
        for jj in range(w):
            mdd[j0 + jj] = low[jj] - 1.0
            check[j0 + jj] = bad[jj]
    return mdd, check


@njit(cache=True, parallel=True, error_model="numpy")
def drawdown_series_nb(a, out, n_threads):
    """Underwater curve into ``out`` (T, N): wealth / running peak - 1, by the same
    recurrence as ``max_drawdown_nb`` (so its column minima equal max_drawdown)."""
    T, N = a.shape
    bs = column_block_size(N, n_threads)
    n_blocks = (N + bs - 1) // bs
    for b in prange(n_blocks):
        j0 = b * bs
        j1 = min(N, j0 + bs)
        w = j1 - j0
        under = np.ones(w)
        for t in range(T):
            r = a[t, j0:j1]
            o = out[t, j0:j1]
            for jj in range(w):
                x = _grow(under[jj], r[jj])
                under[jj] = x
                o[jj] = x - 1.0


@njit(cache=True, parallel=True, error_model="numpy")
def drawdown_stats_nb(a):
    """Per column: (max_drawdown, longest underwater run, recovery periods).

    Underwater means wealth strictly below its running peak. The max-drawdown
    trough is the first period reaching the minimum; recovery is the number of
    periods from that trough until wealth first gets back to (>=) the peak that
    preceded it -- NaN if it never does, 0 if there was no drawdown.
    """
    T, N = a.shape
    mdd = np.zeros(N)
    longest = np.zeros(N)
    recovery = np.zeros(N)
    for j in prange(N):
        wealth = 1.0
        peak = 1.0
        low = 0.0
        run = 0
        best_run = 0
        trough = -1
        trough_peak = 1.0
        recovered_at = -1
        for t in range(T):
            wealth *= 1.0 + a[t, j]
            if wealth >= peak:
                peak = wealth
                run = 0
            else:
                run += 1
                if run > best_run:
                    best_run = run
            d = wealth / peak - 1.0
            if d < low:
                low = d
                trough = t
                trough_peak = peak
                recovered_at = -1
            elif trough >= 0 and recovered_at < 0 and wealth >= trough_peak:
                recovered_at = t
        mdd[j] = low
        longest[j] = best_run
        if trough < 0:
            recovery[j] = 0.0
        elif recovered_at < 0:
            recovery[j] = math.nan
        else:
            recovery[j] = recovered_at - trough
    return mdd, longest, recovery
