"""Indicator and regime kernels against their named references (pandas formulas, Wilder's RSI)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp.kernels import indicators


@pytest.fixture
def prices():
    rng = np.random.default_rng(7)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 500)))


def test_sma_matches_pandas_rolling_mean(prices):
    np.testing.assert_allclose(indicators.sma(prices, 20), pd.Series(prices).rolling(20).mean(), rtol=1e-10)


def test_ema_matches_pandas_ewm_without_adjustment(prices):
    np.testing.assert_allclose(indicators.ema(prices, 12),
                               pd.Series(prices).ewm(span=12, adjust=False).mean(), rtol=1e-12)


def test_bollinger_uses_population_std(prices):
    bands = indicators.bollinger(prices, 20, 2.0)
    roll = pd.Series(prices).rolling(20)
    np.testing.assert_allclose(bands.upper, roll.mean() + 2 * roll.std(ddof=0), rtol=1e-10)
    np.testing.assert_allclose(bands.lower, roll.mean() - 2 * roll.std(ddof=0), rtol=1e-10)
    assert np.isnan(bands.middle[18]) and np.isfinite(bands.middle[19])


def _wilder_rsi(prices, n):
    """Reference: Wilder's smoothing is an EWM with alpha = 1/n started from the SMA seed."""
    change = pd.Series(prices).diff()
    gain, loss = change.clip(lower=0), (-change).clip(lower=0)
    out = pd.Series(np.nan, index=change.index)
    g, lo = gain.iloc[n:].copy(), loss.iloc[n:].copy()
    g.iloc[0], lo.iloc[0] = gain.iloc[1:n + 1].mean(), loss.iloc[1:n + 1].mean()
    avg_g, avg_l = g.ewm(alpha=1 / n, adjust=False).mean(), lo.ewm(alpha=1 / n, adjust=False).mean()
    out.iloc[n:] = 100 - 100 / (1 + avg_g / avg_l)
    return out


def test_rsi_matches_wilder_reference(prices):
    np.testing.assert_allclose(indicators.rsi(prices, 14), _wilder_rsi(prices, 14), rtol=1e-10)
    assert np.isnan(indicators.rsi(prices, 14)[13])


def test_rsi_edges():
    assert indicators.rsi(np.arange(1.0, 40.0), 14)[-1] == 100.0  # no losses at all
    assert indicators.rsi(np.full(30, 5.0), 14)[-1] == 50.0  # nothing moved
    assert np.isnan(indicators.rsi([1.0, 2.0], 14)).all()


def test_regime_labels_volatile_and_down():
    rng = np.random.default_rng(3)
    calm_up = 100 * np.exp(np.cumsum(np.full(200, 0.001) + rng.normal(0, 0.001, 200)))
    wild_down = calm_up[-1] * np.exp(np.cumsum(np.full(200, -0.004) + rng.normal(0, 0.03, 200)))
    labels = indicators.regime(np.r_[calm_up, wild_down], 20)
    assert (labels[:20] == -1).all()
    assert np.mean(labels[40:200] == 0) > 0.9  # calm, up
    assert np.mean(labels[240:] >= 2) > 0.9  # volatile
    segments = indicators.regime_segments(labels)
    assert segments[0][0] == 20 and all(s[2] >= 0 for s in segments)
    assert sum(e - s + 1 for s, e, _ in segments) == len(labels) - 20


def test_regime_segments_runs():
    assert indicators.regime_segments([-1, 0, 0, 2, 2, 2, 1]) == [(1, 2, 0), (3, 5, 2), (6, 6, 1)]
    assert indicators.regime_segments([]) == []


@pytest.mark.parametrize("bad", [[1.0, np.nan, 2.0], [1.0, np.inf]])
def test_non_finite_prices_raise(bad):
    with pytest.raises(ValueError):
        indicators.sma(bad, 2)


def test_bad_window_raises(prices):
    with pytest.raises(ValueError, match="window"):
        indicators.sma(prices, 0)
    with pytest.raises(ValueError, match="positive"):
        indicators.regime([1.0, -1.0, 2.0], 1)


def _groupby_streaks(pnl):
    import itertools

    runs = [(sign, len(list(g))) for sign, g in itertools.groupby(np.sign(pnl))]
    return (max((n for s, n in runs if s > 0), default=0), max((n for s, n in runs if s < 0), default=0))


@pytest.mark.parametrize("seed", range(5))
def test_longest_streaks_match_groupby(seed):
    from dashapp.kernels.streaks import longest_streaks

    pnl = np.random.default_rng(seed).choice([-2.0, -1.0, 0.0, 1.0, 3.0], size=300)
    assert tuple(longest_streaks(pnl)) == _groupby_streaks(pnl)
    assert tuple(longest_streaks([])) == (0, 0)
    assert tuple(longest_streaks([1.0, 1.0, 0.0, 1.0, -1.0])) == (2, 1)
