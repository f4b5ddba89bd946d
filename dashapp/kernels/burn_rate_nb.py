"""Error-budget burn rates over trailing windows of per-minute request counts (C-contiguous float64,
oldest minute first, the last element the current minute)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def window_burn_rates_nb(bad, total, windows, budget):
    """Burn rate over each trailing window of `windows[k]` minutes: (sum bad / sum total) / budget,
    where budget = 1 - objective. A window longer than the data uses all of it; a window with no
    requests gives NaN (no evidence, not zero burn)."""
    n = bad.shape[0]
    out = np.empty(windows.shape[0], dtype=np.float64)
    for k in range(windows.shape[0]):
        w = windows[k]
        if w > n:
            w = n
        b = 0.0
        t = 0.0
        for i in range(n - w, n):
            b += bad[i]
            t += total[i]
        out[k] = np.nan if t <= 0.0 else (b / t) / budget
    return out


@njit(cache=True)
def rolling_burn_rate_nb(bad, total, window, budget):
    """The burn rate over the trailing `window` minutes ending at every minute (prefix sums: O(n));
    NaN where the window holds no request. Minutes before the first full window use what there is."""
    n = bad.shape[0]
    out = np.empty(n, dtype=np.float64)
    cb = 0.0
    ct = 0.0
    pb = np.zeros(n + 1, dtype=np.float64)
    pt = np.zeros(n + 1, dtype=np.float64)
    for i in range(n):
        cb += bad[i]
        ct += total[i]
        pb[i + 1] = cb
        pt[i + 1] = ct
    for i in range(n):
        lo = i + 1 - window
        if lo < 0:
            lo = 0
        t = pt[i + 1] - pt[lo]
        out[i] = np.nan if t <= 0.0 else ((pb[i + 1] - pb[lo]) / t) / budget
    return out
