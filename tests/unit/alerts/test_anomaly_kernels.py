"""Anomaly kernels (dashapp/kernels/anomaly.py) against their references: pandas time-based rolling
(closed="left"), scipy.stats.median_abs_deviation(scale="normal"), numpy.polyfit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import median_abs_deviation

from dashapp.kernels import anomaly


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(11)
    gaps = rng.integers(1, 120, size=400)  # irregular seconds between points
    times = pd.Timestamp("2026-03-02 06:00", tz="UTC") + pd.to_timedelta(np.cumsum(gaps), unit="s")
    values = 100 + np.cumsum(rng.normal(0, 1, 400))
    values[[50, 200, 333]] += [25, -30, 40]
    values[[10, 120]] = np.nan
    return pd.Series(values, index=times)


def test_zscore_matches_pandas_rolling_closed_left(series):
    window = "1800s"
    roll = series.rolling(window, closed="left", min_periods=5)
    expected = ((series - roll.mean()) / roll.std(ddof=1)).to_numpy()
    got = anomaly.rolling_zscore(series.index, series.to_numpy(), 1800, min_samples=5)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert np.nanmax(np.abs(got)) > 5  # the injected spikes stand out


def _mad_reference(series, window_s, min_samples, bucket=None):
    out = np.full(len(series), np.nan)
    t, x = series.index, series.to_numpy()
    for i in range(len(series)):
        if np.isnan(x[i]):
            continue
        mask = (t >= t[i] - pd.Timedelta(seconds=window_s)) & (t < t[i]) & ~np.isnan(x)
        if bucket is not None:
            mask &= bucket == bucket[i]
        base = x[mask]
        if len(base) < min_samples:
            continue
        scale = median_abs_deviation(base, scale="normal")
        out[i] = (x[i] - np.median(base)) / scale if scale > 0 else np.nan
    return out


def test_mad_score_matches_scipy(series):
    got = anomaly.rolling_mad_score(series.index, series.to_numpy(), 3600, min_samples=5)
    np.testing.assert_allclose(got, _mad_reference(series, 3600, 5), rtol=1e-9, equal_nan=True)


def test_time_of_day_buckets_compare_like_with_like():
    times = pd.date_range("2026-03-01", periods=24 * 6 * 8, freq="10min", tz="UTC")  # 8 days
    hour = times.hour.to_numpy()
    values = np.where(hour == 9, 1000.0, 10.0) + np.tile([0.0, 1.0, -1.0, 0.5, -0.5, 0.2], 24 * 8)
    plain = anomaly.rolling_zscore(times, values, 3 * 86400, min_samples=10)
    bucketed = anomaly.rolling_zscore(times, values, 3 * 86400, min_samples=10, by_time_of_day=True,
                                      bucket_minutes=60)
    last_nine = np.flatnonzero(hour == 9)[-1]
    assert plain[last_nine] > 3  # the daily 09:00 burst looks anomalous against the whole day
    assert abs(bucketed[last_nine]) < 3  # but not against earlier 09:00s
    bucket = ((times.as_unit("ns").asi8 // 60_000_000_000) % 1440) // 60
    ref = _mad_reference(pd.Series(values, index=times), 3 * 86400, 10, bucket)
    got = anomaly.rolling_mad_score(times, values, 3 * 86400, min_samples=10, by_time_of_day=True,
                                    bucket_minutes=60)
    np.testing.assert_allclose(got[~np.isinf(got)], ref[~np.isinf(got)], rtol=1e-9, equal_nan=True)


def test_flat_baseline_and_too_few_samples():
    times = pd.date_range("2026-03-01", periods=6, freq="1min", tz="UTC")
    z = anomaly.rolling_zscore(times, [5.0, 5, 5, 5, 5, 9], 3600, min_samples=3)
    assert np.isnan(z[:3]).all() and z[3] == 0.0 and z[5] == np.inf
    m = anomaly.rolling_mad_score(times, [5.0, 5, 5, 5, 5, 1], 3600, min_samples=3)
    assert m[5] == -np.inf


def test_time_to_limit_matches_polyfit():
    rng = np.random.default_rng(3)
    secs = np.sort(rng.uniform(0, 3600, 60))
    times = pd.Timestamp("2026-03-02", tz="UTC") + pd.to_timedelta(secs, unit="s")
    values = 50 + 0.01 * secs + rng.normal(0, 0.5, 60)
    slope, intercept = np.polyfit(secs - secs[-1], values, 1)
    expected = (100 - intercept) / slope
    assert anomaly.time_to_limit(times, values, 100.0) == pytest.approx(expected, rel=1e-9)
    assert anomaly.time_to_limit(times, values, 10.0) == 0.0  # already above
    assert anomaly.time_to_limit(times, -values, -100.0, above=False) == pytest.approx(expected, rel=1e-9)
    assert anomaly.time_to_limit(times, values[::-1].copy(), 1000.0) == np.inf  # falling: never reaches it
    rolling = anomaly.rolling_time_to_limit(times, values, 1200, 100.0, min_samples=5)
    i = 45
    mask = (secs > secs[i] - 1200) & (secs <= secs[i])
    s, c = np.polyfit(secs[mask] - secs[i], values[mask], 1)
    assert rolling[i] == pytest.approx((100 - c) / s, rel=1e-9)


def test_wrappers_validate():
    times = pd.date_range("2026-03-01", periods=3, freq="1min", tz="UTC")
    with pytest.raises(ValueError, match="ascending"):
        anomaly.rolling_zscore(times[::-1], [1.0, 2.0, 3.0], 60)
    with pytest.raises(ValueError, match="has 3"):
        anomaly.rolling_zscore(times, [1.0, 2.0], 60)
    with pytest.raises(ValueError, match="finite"):
        anomaly.rolling_zscore(times, [1.0, np.inf, 3.0], 60)
    with pytest.raises(ValueError, match="bucket_minutes"):
        anomaly.rolling_zscore(times, [1.0, 2.0, 3.0], 60, by_time_of_day=True, bucket_minutes=7)
    with pytest.raises(ValueError, match="window"):
        anomaly.rolling_mad_score(times, [1.0, 2.0, 3.0], 0)
    assert np.isnan(anomaly.time_to_limit([], [], 1.0))


def test_last_only_scores_the_newest_point_like_the_full_run(series):
    full = anomaly.rolling_zscore(series.index, series.to_numpy(), 1800, min_samples=5)
    last = anomaly.rolling_zscore(series.index, series.to_numpy(), 1800, min_samples=5, last_only=True)
    assert np.isnan(last[:-1]).all() and last[-1] == pytest.approx(full[-1])
    full = anomaly.rolling_mad_score(series.index, series.to_numpy(), 1800, min_samples=5)
    last = anomaly.rolling_mad_score(series.index, series.to_numpy(), 1800, min_samples=5, last_only=True)
    assert last[-1] == pytest.approx(full[-1])
