"""Execution-quality (TCA) kernels: hand-computed cases and sign conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dashapp.kernels as k


def test_arrival_slippage_is_a_cost_for_both_sides():
    # bought 10 bps above arrival mid, sold 10 bps below it: both +10 bps
    out = k.arrival_slippage_bps([1, -1], [100.10, 99.90], [100.0, 100.0])
    np.testing.assert_allclose(out, [10.0, 10.0])
    better = k.arrival_slippage_bps(["buy", "SELL"], [99.95, 100.05], 100.0)
    np.testing.assert_allclose(better, [-5.0, -5.0])


def test_vwap_twap_slippage():
    np.testing.assert_allclose(k.vwap_slippage_bps("b", 50.05, 50.0), [10.0])
    np.testing.assert_allclose(k.twap_slippage_bps("s", 49.9, 50.0), [20.0])


def test_series_input_keeps_index():
    px = pd.Series([100.1, 99.8], index=["o1", "o2"])
    out = k.arrival_slippage_bps(pd.Series([1, -1], index=px.index), px, 100.0)
    assert isinstance(out, pd.Series) and list(out.index) == ["o1", "o2"]


def test_spreads_and_price_improvement():
    side, px, mid = np.array([1.0, -1.0]), np.array([100.02, 99.97]), np.array([100.0, 100.0])
    np.testing.assert_allclose(k.effective_spread(side, px, mid), [4.0, 6.0])
    np.testing.assert_allclose(k.effective_spread(side, px, mid, in_bps=False), [0.04, 0.06])
    # later the mid moved our way after both trades (up after the buy, down after the
    # sell): the liquidity providers kept less than nothing, realised < effective
    np.testing.assert_allclose(k.realised_spread(side, px, mid, [100.03, 99.95]), [-2.0, -4.0])
    np.testing.assert_allclose(k.realised_spread(side, px, mid, [100.0, 100.0]), [4.0, 6.0])
    np.testing.assert_allclose(k.price_improvement_bps(side, px, mid), [-2.0, -3.0])
    np.testing.assert_allclose(k.price_improvement_bps([1, -1], [99.99, 100.01], 100.0), [1.0, 1.0])


def test_markouts_several_horizons():
    mids = pd.DataFrame({"1s": [100.05, 99.90], "60s": [100.20, 100.10]}, index=["f1", "f2"])
    out = k.markouts([1, -1], [100.0, 100.0], mids)
    assert list(out.columns) == ["1s", "60s"]
    np.testing.assert_allclose(out.to_numpy(), [[5.0, 20.0], [10.0, -10.0]])
    with pytest.raises(ValueError, match="3 fills"):
        k.markouts([1, 1, 1], [1.0, 1.0, 1.0], np.ones((2, 2)))


def test_implementation_shortfall_perold_decomposition():
    # buy 1,000 decided at 50.00; arrival 50.10; 800 filled at avg 50.30; close 51.00
    s = k.implementation_shortfall(1, 1000, 800, 50.30, 50.00, 50.10, 51.00, fees=12.0)
    assert s.delay[0] == pytest.approx(800 * 0.10)
    assert s.trading[0] == pytest.approx(800 * 0.20)
    assert s.opportunity[0] == pytest.approx(200 * 1.00)
    assert s.fees[0] == 12.0
    assert s.total[0] == pytest.approx(80 + 160 + 200 + 12)
    # total equals paper-portfolio return minus the real portfolio's
    paper_gain = 1000 * (51.00 - 50.00)
    real_gain = 800 * (51.00 - 50.30) - 12.0
    assert s.total[0] == pytest.approx(paper_gain - real_gain)
    assert s.total_bps[0] == pytest.approx(452 / 50_000 * 1e4)


def test_implementation_shortfall_sell_and_unfilled():
    s = k.implementation_shortfall([-1, -1], [100, 100], [100, 0], [20.0, np.nan], 20.5, 20.4, 19.0)
    assert s.delay[0] == pytest.approx(100 * 0.1)  # price fell before arrival: cost for a seller
    assert s.trading[0] == pytest.approx(100 * 0.4)
    assert s.trading[1] == 0.0 and s.delay[1] == 0.0
    assert s.opportunity[1] == pytest.approx(100 * 1.5)  # unsold while it fell further


def test_implementation_shortfall_validation():
    with pytest.raises(ValueError, match="fill_qty <= order_qty"):
        k.implementation_shortfall(1, 100, 150, 10.0, 10.0, 10.0, 10.0)
    with pytest.raises(ValueError, match="avg_fill_price must be finite"):
        k.implementation_shortfall(1, 100, 50, np.nan, 10.0, 10.0, 10.0)
    with pytest.raises(ValueError, match="fees must be >= 0"):
        k.implementation_shortfall(1, 100, 50, 10.0, 10.0, 10.0, 10.0, fees=-1.0)


def test_fill_rate_and_latency_percentiles():
    assert k.fill_rate([50, 100, 0], [100, 100, 50]) == pytest.approx(150 / 250)
    with pytest.raises(ValueError):
        k.fill_rate([120], [100])
    lat = np.random.default_rng(2).lognormal(1.0, 0.8, 10_001)
    p = k.latency_percentiles(lat)
    np.testing.assert_allclose(p.to_numpy(), np.percentile(lat, [50, 95, 99]), rtol=1e-14)
    assert list(p.index) == [50.0, 95.0, 99.0]
    assert k.latency_percentiles([3.0, 1.0, 2.0], percentiles=(0, 100)).tolist() == [1.0, 3.0]


@pytest.mark.parametrize("call,message", [
    (lambda: k.arrival_slippage_bps([2], [1.0], [1.0]), "side must be"),
    (lambda: k.arrival_slippage_bps(["hold"], [1.0], [1.0]), "side must be"),
    (lambda: k.arrival_slippage_bps([1], [-1.0], [1.0]), "fill_price must be > 0"),
    (lambda: k.arrival_slippage_bps([1], [np.nan], [1.0]), "fill_price contains"),
    (lambda: k.arrival_slippage_bps([1, 1], [1.0, 1.0, 1.0], [1.0]), "broadcast"),
    (lambda: k.latency_percentiles([]), "empty"),
    (lambda: k.latency_percentiles([1.0], percentiles=(50, 101)), "percentiles"),
    (lambda: k.latency_percentiles([1.0, np.inf]), "latencies contains"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 50), elements=st.floats(1.0, 1000.0)),
       arrays(np.float64, st.integers(1, 50), elements=st.floats(-0.05, 0.05)))
def test_sign_symmetry(mid, move):
    n = min(len(mid), len(move))
    mid, move = mid[:n], move[:n]
    buy = k.arrival_slippage_bps(1, mid * (1 + move), mid)
    sell = k.arrival_slippage_bps(-1, mid * (1 - move), mid)
    np.testing.assert_allclose(buy, sell, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(k.price_improvement_bps(1, mid * (1 + move), mid), -buy, atol=1e-9)
