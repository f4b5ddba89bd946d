"""Technical-indicator kernels on one price series (C-contiguous float64, oldest first).

Warm-up periods are NaN (never a made-up value). Serial on purpose: each pass is a recurrence or a
running sum, so threads would not help; a million points take a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def sma_nb(x, window):
    """Simple moving average over `window` points; NaN for the first window - 1."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    total = 0.0
    for i in range(n):
        total += x[i]
        if i >= window:
            total -= x[i - window]
        if i >= window - 1:
            out[i] = total / window
    return out


@njit(cache=True, error_model="numpy")
def ema_nb(x, span):
    """Exponential moving average, alpha = 2 / (span + 1), seeded with the first point (adjust=False)."""
    n = x.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    alpha = 2.0 / (span + 1.0)
    out[0] = x[0]
    for i in range(1, n):
        out[i] = alpha * x[i] + (1.0 - alpha) * out[i - 1]
    return out


@njit(cache=True, error_model="numpy")
def rolling_std_nb(x, window):
    """Population standard deviation (ddof=0) over `window` points, two-pass per window so a long
    series of large prices does not lose precision to a running sum of squares."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(window - 1, n):
        mean = 0.0
        for j in range(i - window + 1, i + 1):
            mean += x[j]
        mean /= window
        acc = 0.0
        for j in range(i - window + 1, i + 1):
            d = x[j] - mean
            acc += d * d
        out[i] = np.sqrt(acc / window)
    return out


@njit(cache=True, error_model="numpy")
def rsi_nb(x, period):
    """Wilder's RSI: the first average gain/loss is the mean of the first `period` changes, then
    avg = (avg * (period - 1) + change) / period. NaN until `period` changes exist; 100 when
    there was no loss (and 50 when nothing moved at all)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = x[i] - x[i - 1]
        if d > 0:
            gain += d
        else:
            loss -= d
    gain /= period
    loss /= period
    for i in range(period, n):
        if i > period:
            d = x[i] - x[i - 1]
            up = d if d > 0 else 0.0
            down = -d if d < 0 else 0.0
            gain = (gain * (period - 1) + up) / period
            loss = (loss * (period - 1) + down) / period
        if loss == 0.0:
            out[i] = 50.0 if gain == 0.0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + gain / loss)
    return out


@njit(cache=True, error_model="numpy")
def regime_nb(x, window, vol_threshold):
    """Market regime per point: 0 calm/up, 1 calm/down, 2 volatile/up, 3 volatile/down, -1 unknown
    (warm-up). Volatile = the standard deviation of the last `window` log returns is above
    `vol_threshold`; up = the price is at or above its `window`-point simple moving average."""
    n = x.shape[0]
    out = np.full(n, -1.0)
    if n <= window:
        return out
    r = np.empty(n)
    r[0] = 0.0
    for i in range(1, n):
        r[i] = np.log(x[i] / x[i - 1])
    vol = rolling_std_nb(r[1:], window)
    mean = sma_nb(x, window)
    for i in range(window, n):
        v = vol[i - 1]
        volatile = v > vol_threshold
        down = x[i] < mean[i]
        out[i] = (2.0 if volatile else 0.0) + (1.0 if down else 0.0)
    return out


@njit(cache=True, error_model="numpy")
def log_return_vol_nb(x, window):
    """Rolling standard deviation (ddof=0) of log returns over `window` returns, aligned to the
    later price of each return (NaN before `window` returns exist)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n <= window:
        return out
    r = np.empty(n - 1)
    for i in range(1, n):
        r[i - 1] = np.log(x[i] / x[i - 1])
    vol = rolling_std_nb(r, window)
    for i in range(window, n):
        out[i] = vol[i - 1]
    return out
