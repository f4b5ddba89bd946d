"""Anomaly scores and time-to-limit for alert rules (services/alerts), on irregular time series.

Conventions (each compared in tests/unit/alerts/test_anomaly_kernels.py with the named reference):
- `rolling_zscore`: z of each point against the trailing window BEFORE it (its own value excluded),
  sample std (ddof=1). Reference: pandas `Series.rolling(f"{window}s", closed="left")` mean/std.
- `rolling_mad_score`: robust score (x - median) / (1.4826 * MAD) over the same trailing window.
  Reference: `scipy.stats.median_abs_deviation(..., scale="normal")` and `numpy.median`.
- `by_time_of_day=True` keeps in each baseline only the points in the same time-of-day bucket
  (`bucket_minutes`, UTC), so 09:30's volume is compared with earlier days' 09:30, not with lunch.
- `time_to_limit`: least-squares line over the lookback ending at each point (reference:
  `numpy.polyfit(t, x, 1)`), seconds until it reaches `limit` (0 = already there; inf = never).
`last_only=True` scores only the newest point (what a live rule needs; the others are NaN).
A score is NaN while the baseline has fewer than `min_samples` values; a flat baseline gives 0 for
an equal point and +-inf for any other (a constant series that jumps is an anomaly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashapp.kernels import anomaly_nb

MAD_SCALE = anomaly_nb.MAD_SCALE


def _times_ns(times) -> np.ndarray:
    stamps = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).as_unit("ns")  # pandas 3 may hold us or s
    t = np.ascontiguousarray(stamps.asi8.astype(np.int64))
    if len(t) > 1 and np.any(np.diff(t) < 0):
        raise ValueError("times must be ascending")
    return t


def _values(values, n: int) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(values, dtype=np.float64).ravel())
    if x.shape[0] != n:
        raise ValueError(f"values has {x.shape[0]} points but times has {n}")
    if np.isinf(x).any():
        raise ValueError("values must be finite (NaN marks a missing point)")
    return x


def _buckets(t: np.ndarray, by_time_of_day: bool, bucket_minutes: int) -> np.ndarray:
    if not by_time_of_day:
        return np.zeros(t.shape[0], dtype=np.int64)
    if not 1 <= bucket_minutes <= 1440 or 1440 % bucket_minutes:
        raise ValueError("bucket_minutes must divide a day (1440 minutes) evenly")
    return np.ascontiguousarray(((t // 60_000_000_000) % 1440) // bucket_minutes).astype(np.int64)


def _check(window_seconds: float, min_samples: int) -> int:
    if not window_seconds > 0 or not np.isfinite(window_seconds):
        raise ValueError("window_seconds must be a positive number")
    if int(min_samples) < 1:
        raise ValueError("min_samples must be at least 1")
    return int(round(window_seconds * 1e9))


def rolling_zscore(times, values, window_seconds: float, min_samples: int = 2, by_time_of_day: bool = False,
                   bucket_minutes: int = 60, last_only: bool = False) -> np.ndarray:
    t = _times_ns(times)
    x = _values(values, t.shape[0])
    window_ns = _check(window_seconds, min_samples)
    first = max(0, t.shape[0] - 1) if last_only else 0
    return anomaly_nb.rolling_zscore_nb(t, x, _buckets(t, by_time_of_day, bucket_minutes), window_ns,
                                        int(min_samples), first)


def rolling_mad_score(times, values, window_seconds: float, min_samples: int = 1, by_time_of_day: bool = False,
                      bucket_minutes: int = 60, last_only: bool = False) -> np.ndarray:
    t = _times_ns(times)
    x = _values(values, t.shape[0])
    window_ns = _check(window_seconds, min_samples)
    first = max(0, t.shape[0] - 1) if last_only else 0
    return anomaly_nb.rolling_mad_score_nb(t, x, _buckets(t, by_time_of_day, bucket_minutes), window_ns,
                                           int(min_samples), first)


def rolling_time_to_limit(times, values, lookback_seconds: float, limit: float, above: bool = True,
                          min_samples: int = 2, last_only: bool = False) -> np.ndarray:
    t = _times_ns(times)
    x = _values(values, t.shape[0])
    lookback_ns = _check(lookback_seconds, min_samples)
    if not np.isfinite(limit):
        raise ValueError("limit must be finite")
    first = max(0, t.shape[0] - 1) if last_only else 0
    return anomaly_nb.rolling_time_to_limit_nb(t, x, lookback_ns, float(limit), bool(above), int(min_samples), first)


def time_to_limit(times, values, limit: float, above: bool = True, min_samples: int = 2) -> float:
    """Seconds from the last point until the least-squares line over all the points reaches `limit`."""
    if len(values) == 0:
        return float("nan")
    t = _times_ns(times)
    span = (t[-1] - t[0]) / 1e9 + 1.0
    return float(rolling_time_to_limit(times, values, span, limit, above, min_samples, last_only=True)[-1])


def warm_up() -> None:
    t = pd.date_range("2026-01-01", periods=6, freq="1min", tz="UTC")
    x = np.array([1.0, 2.0, 1.5, 1.2, 1.8, 5.0])
    rolling_zscore(t, x, 600)
    rolling_mad_score(t, x, 600, by_time_of_day=True, bucket_minutes=60)
    time_to_limit(t, x, 10.0)
