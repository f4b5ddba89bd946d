"""Burn-rate math against hand-computed cases and the reference (pandas rolling sums)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashapp.kernels import burn_rate as br


def _reference_rolling(good, total, window, objective):
    bad = pd.Series(np.asarray(total, float) - np.asarray(good, float))
    tot = pd.Series(np.asarray(total, float))
    b, t = bad.rolling(window, min_periods=1).sum(), tot.rolling(window, min_periods=1).sum()
    return ((b / t) / (1 - objective)).where(t > 0).to_numpy()


def test_hand_computed_windows():
    # 99.9 % objective = budget 0.001. Last hour: 60 minutes x 1000 requests, 14.4 bad per minute on
    # average -> error rate 1.44 % -> burn 14.4 (exactly the page threshold).
    total = np.full(60, 1000.0)
    good = total - 14.4
    rates = br.burn_rates(good, total, [60, 5, 1], 0.999)
    assert rates == pytest.approx([14.4, 14.4, 14.4])
    # All errors in the last 5 minutes: 5 x 100 bad in 60 000 -> 1/120 / 0.001 = 8.33 over 1 h;
    # 500 / 5000 / 0.001 = 100 over 5 m.
    good = total.copy()
    good[-5:] = 900
    long_burn, short_burn = br.burn_rates(good, total, [60, 5], 0.999)
    assert long_burn == pytest.approx(500 / 60000 / 0.001)
    assert short_burn == pytest.approx(100.0)
    assert not br.pair_firing(long_burn, short_burn, 14.4)  # the short spike alone does not page
    assert br.pair_firing(15.0, 20.0, 14.4) and not br.pair_firing(15.0, 3.0, 14.4)


def test_no_requests_is_no_evidence():
    rates = br.burn_rates([0, 0], [0, 0], [1, 2], 0.99)
    assert np.isnan(rates).all()
    assert not br.pair_firing(float("nan"), 50.0, 1.0)
    assert br.budget_used(0, 0, 0.99) == 0.0


def test_window_longer_than_data_uses_all_of_it():
    assert br.burn_rates([8, 9], [10, 10], [4320], 0.9) == pytest.approx([(3 / 20) / 0.1])


@pytest.mark.parametrize("window", [1, 5, 60])
def test_rolling_matches_pandas_reference(window):
    rng = np.random.default_rng(7)
    total = rng.integers(0, 50, size=500).astype(float)
    good = np.floor(total * rng.uniform(0.9, 1.0, size=500))
    ours = br.rolling_burn_rate(good, total, window, 0.99)
    ref = _reference_rolling(good, total, window, 0.99)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, equal_nan=True)
    # The window kernel's answer is the rolling series' last value.
    assert br.burn_rates(good, total, [window], 0.99)[0] == pytest.approx(ref[-1])


def test_thresholds_scale_with_the_window():
    standard = br.alert_pairs(30)
    assert [(p.severity, p.name, p.threshold) for p in standard] == [
        ("page", "1h/5m", 14.4), ("page", "6h/30m", 6.0), ("ticket", "1d/2h", 3.0), ("ticket", "3d/6h", 1.0)]
    assert [p.budget_share for p in standard] == pytest.approx([0.02, 0.05, 0.10, 0.10])
    week = br.alert_pairs(7)
    # Same share of the (smaller) budget within the same long window: threshold * 7/30.
    assert [p.threshold for p in week] == pytest.approx([14.4 * 7 / 30, 6 * 7 / 30, 3 * 7 / 30, 7 / 30])
    for pair in week:
        assert pair.threshold * pair.long_minutes / (7 * 1440) == pytest.approx(pair.budget_share)


def test_budget_and_time_to_exhaustion():
    # 99.9 %: 1 000 000 requests allow 1 000 bad; 250 bad = a quarter of the budget.
    used = br.budget_used(250, 1_000_000, 0.999)
    assert used == pytest.approx(0.25)
    # Burn 2 spends a 30-day budget in 15 days; 75 % left -> 11.25 days.
    assert br.seconds_to_exhaustion(used, 2.0, 30) == pytest.approx(11.25 * 86400)
    assert br.seconds_to_exhaustion(1.2, 2.0, 30) == 0.0
    assert br.seconds_to_exhaustion(0.1, 0.0, 30) is None
    assert br.seconds_to_exhaustion(0.1, math.nan, 30) is None


@pytest.mark.parametrize("bad_call, field", [
    (lambda: br.burn_rates([1, 2], [1], [1], 0.9), "same length"),
    (lambda: br.burn_rates([3], [2], [1], 0.9), "good <= total"),
    (lambda: br.burn_rates([1], [1], [0], 0.9), "windows_minutes"),
    (lambda: br.burn_rates([1], [1], [1], 1.0), "objective"),
    (lambda: br.alert_pairs(0), "window_days"),
    (lambda: br.rolling_burn_rate([1], [1], 0, 0.9), "window_minutes"),
])
def test_invalid_inputs_name_the_field(bad_call, field):
    with pytest.raises(ValueError, match=field):
        bad_call()
