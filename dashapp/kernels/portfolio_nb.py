"""Portfolio-structure kernels: concentration, standardisation, group sums."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, error_model="numpy")
def concentration_nb(weights, top_n):
    """Per row of (P, N) weights: HHI, effective N and top-N share of gross weight.

    Weights are taken by absolute value and normalised by the row's gross sum, so
    shorts count as exposure. Rows with zero gross weight give NaN.
    """
    P, N = weights.shape
    hhi = np.empty(P)
    eff = np.empty(P)
    top = np.empty(P)
    for p in range(P):
        gross = 0.0
        for i in range(N):
            gross += abs(weights[p, i])
        if gross == 0.0:
            hhi[p] = np.nan
            eff[p] = np.nan
            top[p] = np.nan
            continue
        s = 0.0
        absw = np.empty(N)
        for i in range(N):
            x = abs(weights[p, i]) / gross
            absw[i] = x
            s += x * x
        hhi[p] = s
        eff[p] = 1.0 / s
        absw.sort()
        t = 0.0
        for i in range(N - 1, max(-1, N - 1 - top_n), -1):
            t += absw[i]
        top[p] = t
    return hhi, eff, top


@njit(cache=True, parallel=True, error_model="numpy")
def standardize_columns_nb(a):
    """(x - mean) / sqrt(sum of squared deviations) per column, so Z.T @ Z is the
    Pearson correlation matrix. Constant columns become NaN (undefined correlation)."""
    T, N = a.shape
    z = np.empty((T, N))
    mean = np.zeros(N)
    ss = np.zeros(N)
    lo = a[0].copy()
    hi = a[0].copy()
    for t in range(T):
        for j in range(N):
            x = a[t, j]
            mean[j] += x
            lo[j] = min(lo[j], x)
            hi[j] = max(hi[j], x)
    mean /= T
    for t in range(T):
        for j in range(N):
            d = a[t, j] - mean[j]
            ss[j] += d * d
    scale = np.empty(N)
    for j in range(N):
        # min == max: exactly constant, even if the mean carries rounding residue
        scale[j] = 1.0 / math.sqrt(ss[j]) if ss[j] > 0.0 and lo[j] < hi[j] else np.nan
    for t in prange(T):
        for j in range(N):
            z[t, j] = (a[t, j] - mean[j]) * scale[j]
    return z


@njit(cache=True, error_model="numpy")
def group_sum_nb(values, codes, n_groups, gross):
    """Sum (or with ``gross`` the sum of |x|) of each row of (T, N) ``values`` per group code."""
    T, N = values.shape
    out = np.zeros((T, n_groups))
    for t in range(T):
        for i in range(N):
            x = values[t, i]
            out[t, codes[i]] += abs(x) if gross else x
    return out
