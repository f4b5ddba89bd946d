"""Multi-window, multi-burn-rate SLO alerting (Google SRE Workbook, "Alerting on SLOs", approach 6).

A burn rate is how fast the error budget is spent relative to the SLO window: 1.0 spends exactly
the whole budget over the window, 14.4 spends 2 % of a 30-day budget in one hour. An alert pair
fires when BOTH its long and its short window burn faster than the threshold (the short window makes
the alert reset soon after the problem stops). The standard pairs are for a 30-day window; for a
window of W days the thresholds are scaled by W / 30, which keeps each pair's meaning ("this share
of the budget spent within the long window"): threshold = share * W days / long window.

Reference: the workbook's table of recommended parameters (2 % / 1 h / 5 m / 14.4, 5 % / 6 h /
30 m / 6, 10 % / 1 d / 2 h / 3, 10 % / 3 d / 6 h / 1); tests compare the kernels with pandas
rolling sums and hand-computed cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dashapp.kernels import burn_rate_nb
from dashapp.kernels._validate import to_float_array

STANDARD_WINDOW_DAYS = 30.0


@dataclass(frozen=True)
class AlertPair:
    severity: str  # "page" | "ticket"
    long_minutes: int
    short_minutes: int
    threshold: float  # for the SLO's own window (already scaled)
    budget_share: float  # share of the window's budget spent within the long window at the threshold

    @property
    def name(self) -> str:
        return f"{_label(self.long_minutes)}/{_label(self.short_minutes)}"


# (severity, long, short, threshold for 30 days)
STANDARD_PAIRS: tuple[tuple[str, int, int, float], ...] = (
    ("page", 60, 5, 14.4),
    ("page", 360, 30, 6.0),
    ("ticket", 1440, 120, 3.0),
    ("ticket", 4320, 360, 1.0),
)


def _label(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def window_label(minutes: int) -> str:
    return _label(minutes)


def alert_pairs(window_days: float = STANDARD_WINDOW_DAYS) -> tuple[AlertPair, ...]:
    """The four standard pairs with thresholds scaled to an SLO window of `window_days`."""
    if not (isinstance(window_days, (int, float)) and math.isfinite(window_days) and 1 <= window_days <= 366):
        raise ValueError(f"window_days must be between 1 and 366, got {window_days!r}")
    scale = window_days / STANDARD_WINDOW_DAYS
    pairs = []
    for severity, long_m, short_m, threshold in STANDARD_PAIRS:
        share = threshold * long_m / (STANDARD_WINDOW_DAYS * 1440)
        pairs.append(AlertPair(severity, long_m, short_m, threshold * scale, share))
    return tuple(pairs)


def _budget(objective: float) -> float:
    if not (isinstance(objective, (int, float)) and 0 < objective < 1):
        raise ValueError(f"objective must be strictly between 0 and 1, got {objective!r}")
    return 1.0 - float(objective)


def _counts(good, total) -> tuple[np.ndarray, np.ndarray]:
    g = np.ascontiguousarray(to_float_array(good, "good").ravel())
    t = np.ascontiguousarray(to_float_array(total, "total").ravel())
    if g.shape != t.shape:
        raise ValueError(f"good and total must have the same length, got {g.shape[0]} and {t.shape[0]}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(t))):
        raise ValueError("good and total must be finite counts")
    if np.any(g < 0) or np.any(t < g):
        raise ValueError("counts must satisfy 0 <= good <= total in every minute")
    return np.ascontiguousarray(t - g), t


def burn_rates(good, total, windows_minutes, objective: float) -> np.ndarray:
    """Burn rate over each trailing window (minutes), from per-minute counts ending now (NaN: no requests)."""
    bad, t = _counts(good, total)
    windows = np.ascontiguousarray(np.asarray(windows_minutes, dtype=np.int64).ravel())
    if windows.size and windows.min() < 1:
        raise ValueError("windows_minutes must be at least 1 minute each")
    if t.size == 0:
        return np.full(windows.shape[0], np.nan)
    return burn_rate_nb.window_burn_rates_nb(bad, t, windows, _budget(objective))


def rolling_burn_rate(good, total, window_minutes: int, objective: float) -> np.ndarray:
    """The burn rate over the trailing `window_minutes` at every minute (for a chart)."""
    bad, t = _counts(good, total)
    if int(window_minutes) < 1:
        raise ValueError("window_minutes must be at least 1")
    if t.size == 0:
        return np.empty(0)
    return burn_rate_nb.rolling_burn_rate_nb(bad, t, int(window_minutes), _budget(objective))


def pair_firing(long_burn: float, short_burn: float, threshold: float) -> bool:
    """Both windows at or above the threshold; a window without requests never fires."""
    return bool(np.isfinite(long_burn) and np.isfinite(short_burn) and long_burn >= threshold
                and short_burn >= threshold)


def budget_used(bad_in_window: float, total_in_window: float, objective: float) -> float:
    """Share of the window's error budget spent so far (bad / allowed bad); 0 with no requests."""
    if total_in_window <= 0:
        return 0.0
    return float(bad_in_window) / (_budget(objective) * float(total_in_window))


def seconds_to_exhaustion(used: float, current_burn: float, window_days: float) -> float | None:
    """At the current burn rate, seconds until the remaining budget is spent: remaining * window / burn.
    0 when it is spent already; None when nothing is burning (or no evidence)."""
    if used >= 1.0:
        return 0.0
    if not np.isfinite(current_burn) or current_burn <= 0:
        return None
    return (1.0 - used) * window_days * 86400.0 / current_burn
