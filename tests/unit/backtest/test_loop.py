"""The event loop on hand-computed cases: fills, cash, equity, trades, costs, position limits,
fill timing, reversals, a trade still open at the end."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp.backtest import loop_nb as nb
from dashapp.backtest.engine import Costs, RunConfig, run_backtest


def simulate(close, direction, delay=1, cash=1000.0, size=1.0, cap=np.inf, per_share=0.0, rate=0.0, slip=0.0,
             fill_px=None):
    close = np.asarray(close, dtype=np.float64)
    T = close.size
    fills, trades = np.zeros((T, nb.N_FILL_FIELDS)), np.zeros((T + 1, nb.N_TRADE_FIELDS))
    equity, position, stats = np.zeros(T), np.zeros(T), np.zeros(nb.N_STATS)
    n_f, n_t = nb.simulate_nb(close, close if fill_px is None else np.asarray(fill_px, dtype=np.float64),
                              np.asarray(direction, dtype=np.int8), delay, cash, size, cap, per_share, rate, slip,
                              fills, trades, equity, position, stats)
    return fills[:n_f], trades[:n_t], equity, position, stats


def test_long_round_trip_fills_on_the_next_bar():
    fills, trades, equity, position, stats = simulate([10, 10, 12, 15, 15], [1, 1, 1, 0, 0])
    # signal on bar 0's close: 1000 / 10 = 100 shares, bought on bar 1; flat on bar 3, sold on bar 4
    assert fills[:, [nb.F_BAR, nb.F_SIDE, nb.F_QTY, nb.F_PRICE, nb.F_POSITION]].tolist() == [
        [1, 1, 100, 10, 100], [4, -1, 100, 15, 0]]
    assert equity.tolist() == [1000, 1000, 1200, 1500, 1500]
    assert position.tolist() == [0, 100, 100, 100, 0]
    (trade,) = trades
    assert trade[[nb.T_ENTRY_BAR, nb.T_EXIT_BAR, nb.T_SIDE, nb.T_QTY, nb.T_ENTRY_PRICE, nb.T_EXIT_PRICE, nb.T_PNL,
                  nb.T_NET, nb.T_OPEN]].tolist() == [1, 4, 1, 100, 10, 15, 500, 500, 0]
    assert stats.tolist() == [2, 1, 1, 0, 500, 0]


def test_same_close_fills_on_the_signal_bar():
    fills, trades, equity, _, _ = simulate([10, 10, 12, 15, 15], [1, 1, 1, 0, 0], delay=0)
    assert fills[:, nb.F_BAR].tolist() == [0, 3]
    assert equity.tolist() == [1000, 1000, 1200, 1500, 1500]
    assert trades[0, nb.T_PNL] == 500


def test_commissions_and_slippage_by_hand():
    fills, trades, equity, _, _ = simulate([10, 10, 12, 15, 15], [1, 1, 1, 0, 0], per_share=0.01, rate=0.001,
                                           slip=0.005)
    # buy 100 at 10 * 1.005 = 10.05, fee 100 * 0.01 + 100 * 0.001 * 10.05 = 2.005
    # sell 100 at 15 * 0.995 = 14.925, fee 1 + 100 * 0.001 * 14.925 = 2.4925
    assert fills[:, nb.F_PRICE] == pytest.approx([10.05, 14.925], abs=1e-12)
    assert fills[:, nb.F_FEE] == pytest.approx([2.005, 2.4925], abs=1e-12)
    assert equity[1] == pytest.approx(1000 - 1005 - 2.005 + 1000, abs=1e-9)  # cash -7.005 + 100 x 10
    assert equity[-1] == pytest.approx(1000 - 1005 - 2.005 + 1492.5 - 2.4925, abs=1e-9)
    trade = trades[0]
    assert trade[nb.T_PNL] == pytest.approx(100 * (14.925 - 10.05), abs=1e-9)
    assert trade[nb.T_FEES] == pytest.approx(2.005 + 2.4925, abs=1e-12)
    assert trade[nb.T_NET] == pytest.approx(487.5 - 4.4975, abs=1e-9)


def test_reversal_closes_one_trade_and_opens_the_next():
    fills, trades, equity, position, stats = simulate([10, 10, 8, 8], [1, -1, -1, 0], delay=0, per_share=0.01)
    # bar 0: buy 100 @ 10 (fee 1); bar 1: equity 999 -> target -99, sell 199 @ 10 (fee 1.99 = 1.00 + 0.99)
    assert fills[:, [nb.F_BAR, nb.F_SIDE, nb.F_QTY, nb.F_POSITION]].tolist() == [
        [0, 1, 100, 100], [1, -1, 199, -99], [3, 1, 99, 0]]
    assert fills[1, nb.F_FEE] == pytest.approx(1.99)
    long, short = trades
    assert long[[nb.T_SIDE, nb.T_QTY, nb.T_PNL]].tolist() == [1, 100, 0]
    assert long[nb.T_NET] == pytest.approx(-2.0)  # 1 in, 1 out (the closing part of the reversal)
    assert short[[nb.T_ENTRY_BAR, nb.T_EXIT_BAR, nb.T_SIDE, nb.T_QTY]].tolist() == [1, 3, -1, 99]
    assert short[nb.T_PNL] == pytest.approx(99 * 2)
    assert short[nb.T_FEES] == pytest.approx(0.99 + 0.99)
    assert equity[-1] == pytest.approx(1000 - 2 + 198 - 1.98)
    assert stats[nb.S_TRADES] == 2 and stats[nb.S_WINS] == 1 and stats[nb.S_LOSSES] == 1


def test_position_limit_caps_the_target_notional():
    fills, *_ = simulate([10, 10, 10], [1, 1, 1], cap=455.0)
    assert fills[0, nb.F_QTY] == 45  # floor(455 / 10), not 1000 / 10


def test_position_size_is_a_fraction_of_equity():
    fills, *_ = simulate([10, 10, 10], [-1, -1, -1], size=0.25)
    assert fills[0, [nb.F_SIDE, nb.F_QTY]].tolist() == [-1, 25]


def test_no_trade_while_the_direction_holds_and_integer_shares():
    fills, *_ = simulate([7, 8, 9, 10, 11], [1, 1, 1, 1, 1])
    assert fills[:, nb.F_QTY].tolist() == [142]  # floor(1000 / 7); no drift rebalancing later


def test_open_trade_at_the_end_is_marked_not_counted():
    fills, trades, equity, _, stats = simulate([10, 10, 11, 12], [1, 1, 1, 1])
    (trade,) = trades
    assert trade[nb.T_OPEN] == 1 and trade[nb.T_EXIT_BAR] == 3 and trade[nb.T_PNL] == pytest.approx(200)
    assert stats[nb.S_TRADES] == 0 and equity[-1] == 1200


def test_an_order_on_the_last_bar_never_fills():
    fills, trades, equity, position, _ = simulate([10, 10, 10], [0, 0, 1])
    assert len(fills) == 0 and len(trades) == 0 and position[-1] == 0 and equity[-1] == 1000


def test_fill_prices_can_be_opens():
    close, opens = [10, 12, 15, 15], [9, 11, 14, 16]
    fills, trades, equity, _, _ = simulate(close, [1, 1, 0, 0], fill_px=opens)
    assert fills[:, [nb.F_BAR, nb.F_PRICE]].tolist() == [[1, 11], [3, 16]]
    assert trades[0, nb.T_PNL] == 100 * 5  # 100 = floor(1000 / 10) at the signal close
    assert equity[1] == 1000 - 1100 + 1200


def test_wrapper_splits_capital_and_sums_equity():
    index = pd.bdate_range("2020-01-01", periods=6)
    closes = pd.DataFrame({"A": [10, 10, 12, 15, 15, 15], "B": [20, 20, 20, 20, 20, 20]}, index=index, dtype=float)
    result = run_backtest(closes, "momentum", {"lookback": 1, "threshold": 0.1}, RunConfig(initial_capital=2000.0))
    assert result.equity_by_symbol["B"].tolist() == [1000.0] * 6  # B never moves: no signal
    assert result.equity.iloc[-1] == result.equity_by_symbol.sum(axis=1).iloc[-1]
    # A: +20% on bar 2 -> long 83 shares (1000 / 12) bought at 15 on bar 3; flat signal on bar 4 (0%) -> sold at 15
    assert result.fills[["symbol", "side", "qty", "price"]].values.tolist() == [["A", "buy", 83.0, 15.0],
                                                                              ["A", "sell", 83.0, 15.0]]
    assert result.metrics["trades"] == 1 and result.metrics["total_return"] == 0.0


def test_wrapper_refuses_bad_input():
    index = pd.bdate_range("2020-01-01", periods=3)
    with pytest.raises(ValueError, match="finite and positive"):
        run_backtest(pd.DataFrame({"A": [1.0, np.nan, 2.0]}, index=index), "sma_cross", {"fast": 2, "slow": 3})
    with pytest.raises(ValueError, match="slow must be between"):
        run_backtest(pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=index), "sma_cross", {"fast": 2, "slow": 1000})
    with pytest.raises(ValueError, match="fill must be"):
        run_backtest(pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=index), "momentum", {},
                     RunConfig(fill="tomorrow"))
    with pytest.raises(ValueError, match="unknown strategy"):
        run_backtest(pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=index), "astrology", {})


def test_costs_only_ever_lower_the_result():
    index = pd.bdate_range("2020-01-01", periods=300)
    rng = np.random.default_rng(3)
    closes = pd.DataFrame({"A": 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 300)))}, index=index)
    free = run_backtest(closes, "sma_cross", {"fast": 5, "slow": 20})
    costly = run_backtest(closes, "sma_cross", {"fast": 5, "slow": 20},
                          RunConfig(costs=Costs(commission_per_share=0.01, commission_bps=2, slippage_bps=5)))
    assert len(free.fills) == len(costly.fills) > 5
    assert costly.equity.iloc[-1] < free.equity.iloc[-1]
    assert costly.fills["fee"].gt(0).all() and free.fills["fee"].eq(0).all()
