"""Anomaly scores and linear extrapolation on irregular time series (int64 ns stamps, float64 values).

Baselines are trailing time windows that EXCLUDE the point being scored (pandas' `closed="left"`), so
an outlier is measured against what came before it, never against itself."""

from __future__ import annotations

import numpy as np
from numba import njit

MAD_SCALE = 1.482602218505602  # 1 / Phi^-1(0.75): MAD of a normal sample estimates its sigma


@njit(cache=True)
def _baseline(t, x, bucket, i, window_ns, out):
    """Values in [t_i - window, t_i) of the same bucket as point i, written to `out`; returns their count."""
    n = 0
    start = t[i] - window_ns
    j = i - 1
    while j >= 0 and t[j] >= start:
        if bucket[j] == bucket[i] and t[j] < t[i] and not np.isnan(x[j]):
            out[n] = x[j]
            n += 1
        j -= 1
    return n


@njit(cache=True)
def rolling_zscore_nb(t, x, bucket, window_ns, min_samples, first):
    """(x_i - mean(baseline)) / std(baseline, ddof=1) for every i >= first (NaN before); NaN while the
    baseline has fewer than `min_samples` values. Two-pass mean/variance per window (no running sums: no cancellation)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    buf = np.empty(n)
    for i in range(first, n):
        if np.isnan(x[i]):
            continue
        m = _baseline(t, x, bucket, i, window_ns, buf)
        if m < min_samples or m < 2:
            continue
        mean = 0.0
        for k in range(m):
            mean += buf[k]
        mean /= m
        ss = 0.0
        for k in range(m):
            d = buf[k] - mean
            ss += d * d
        sd = np.sqrt(ss / (m - 1))
        dev = x[i] - mean
        if sd > 0.0:
            out[i] = dev / sd
        elif dev != 0.0:
            out[i] = np.inf if dev > 0 else -np.inf
        else:
            out[i] = 0.0
    return out


@njit(cache=True)
def rolling_mad_score_nb(t, x, bucket, window_ns, min_samples, first):
    """(x_i - median(baseline)) / (MAD_SCALE * median(|baseline - median|)) for every i."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    buf = np.empty(n)
    for i in range(first, n):
        if np.isnan(x[i]):
            continue
        m = _baseline(t, x, bucket, i, window_ns, buf)
        if m < min_samples or m < 1:
            continue
        window = buf[:m].copy()
        med = np.median(window)
        for k in range(m):
            window[k] = abs(window[k] - med)
        scale = np.median(window) * MAD_SCALE
        dev = x[i] - med
        if scale > 0.0:
            out[i] = dev / scale
        elif dev != 0.0:
            out[i] = np.inf if dev > 0 else -np.inf
        else:
            out[i] = 0.0
    return out


@njit(cache=True)
def _fit(ts, xs, m):
    """Least-squares slope and intercept of xs on ts (seconds, centred for accuracy): (slope, level at ts[m-1])."""
    mt = 0.0
    mx = 0.0
    for k in range(m):
        mt += ts[k]
        mx += xs[k]
    mt /= m
    mx /= m
    sxx = 0.0
    sxy = 0.0
    for k in range(m):
        dt = ts[k] - mt
        sxx += dt * dt
        sxy += dt * (xs[k] - mx)
    if sxx == 0.0:
        return np.nan, np.nan
    slope = sxy / sxx
    return slope, mx + slope * (ts[m - 1] - mt)


@njit(cache=True)
def rolling_time_to_limit_nb(t, x, lookback_ns, limit, above, min_samples, first_i):
    """For every i: seconds from t_i until the least-squares line over (t_i - lookback, t_i] reaches
    `limit` (0 if its level at t_i is already there; +inf if it moves away or is flat; NaN with too few
    points). `above`: the limit is crossed from below (a utilisation rising to 100%)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    ts = np.empty(n)
    xs = np.empty(n)
    for i in range(first_i, n):
        m = 0
        start = t[i] - lookback_ns
        first = i
        while first > 0 and t[first - 1] > start:
            first -= 1
        for j in range(first, i + 1):
            if not np.isnan(x[j]):
                ts[m] = (t[j] - t[i]) / 1e9
                xs[m] = x[j]
                m += 1
        if m < min_samples or m < 2:
            continue
        slope, level = _fit(ts, xs, m)
        if np.isnan(slope):
            continue
        gap = limit - level
        if (above and gap <= 0.0) or (not above and gap >= 0.0):
            out[i] = 0.0
        elif slope == 0.0 or (gap > 0.0) != (slope > 0.0):
            out[i] = np.inf
        else:
            out[i] = gap / slope
    return out
