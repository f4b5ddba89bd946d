"""Signals against their references (the paper engine's strategies, pandas rolling means), the
metrics against the kernels, and the sweep against single backtests."""
from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
import pytest

from dashapp import kernels
from dashapp.backtest import data, engine, loop_nb
from dashapp.backtest.engine import Costs, RunConfig
from dashapp.backtest.metrics import daily_returns
from dashapp.backtest.strategies import strategy
from dashapp.engine.strategies import MeanReversion, Momentum


@pytest.fixture(scope="module")
def closes():
    return data.closes(["MSFT", "XOM"], "2016-01-04", "2020-12-31")


def _directions(kind, close, first, second, allow_short=True):
    c = np.ascontiguousarray(close, dtype=np.float64)[None, :]
    means, stds, ia, ib, x = engine._features(strategy(kind), c, np.array([first]), np.array([second]))
    out = np.empty(c.shape[1], np.int8)
    loop_nb.direction_nb(strategy(kind).code, c[0], means[0], stds[0], ia[0], ib[0], x[0], allow_short, out)
    return out


def _paper_engine(strategy_obj, close):
    prices, out = deque(maxlen=600), []
    for price in close:
        prices.append(price)
        sig = strategy_obj.signal(prices)
        out.append(0 if sig is None else sig.direction)
    return np.array(out)


@pytest.mark.parametrize("lookback,threshold", [(20, 0.002), (5, 0.0), (60, 0.05)])
def test_momentum_is_the_paper_engines(closes, lookback, threshold):
    close = closes["MSFT"].to_numpy()
    ours = _directions("momentum", close, lookback, threshold)
    assert (ours == _paper_engine(Momentum(lookback, threshold), close)).all()


@pytest.mark.parametrize("window,entry_z", [(30, 1.5), (10, 0.5), (60, 2.0)])
def test_mean_reversion_is_the_paper_engines(closes, window, entry_z):
    close = closes["XOM"].to_numpy()
    ours = _directions("mean_reversion", close, window, entry_z)
    theirs = _paper_engine(MeanReversion(window, entry_z), close)
    # np.std sums pairwise and our window sum is compensated: a z within 1e-9 of the band may differ
    z = (close - pd.Series(close).rolling(window).mean()) / pd.Series(close).rolling(window).std(ddof=0)
    near_band = np.abs(np.abs(z.to_numpy()) - entry_z) < 1e-9
    assert (ours == theirs)[~near_band].all() and (ours != 0).any()


def test_sma_cross_and_long_only(closes):
    close = closes["MSFT"]
    fast, slow = close.rolling(10).mean().to_numpy(), close.rolling(40).mean().to_numpy()
    expected = np.where(np.isnan(slow), 0, np.sign(fast - slow)).astype(int)
    assert (_directions("sma_cross", close.to_numpy(), 10, 40) == expected).all()
    long_only = _directions("sma_cross", close.to_numpy(), 10, 40, allow_short=False)
    assert (long_only == np.maximum(expected, 0)).all()


def test_metrics_are_the_kernels_on_the_equity_curve(closes):
    result = engine.run_backtest(closes, "momentum", {}, RunConfig(costs=Costs(commission_bps=1.0)))
    returns = daily_returns(result.equity.to_numpy(), 1_000_000.0)
    assert returns[0] == result.equity.iloc[0] / 1_000_000.0 - 1
    m = result.metrics
    assert m["sharpe"] == pytest.approx(kernels.sharpe_ratio(returns), rel=1e-12)
    assert m["sortino"] == pytest.approx(kernels.sortino_ratio(returns), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(kernels.max_drawdown(returns), rel=1e-12)
    assert m["cagr"] == pytest.approx(kernels.cagr(returns), rel=1e-12)
    assert m["calmar"] == pytest.approx(kernels.calmar_ratio(returns), rel=1e-12)
    assert m["volatility"] == pytest.approx(kernels.annual_volatility(returns), rel=1e-12)
    closed = result.trades.loc[~result.trades["open"], "net_pnl"]
    assert m["trades"] == len(closed) > 50
    assert m["win_rate"] == pytest.approx((closed > 0).sum() / (closed != 0).sum())
    assert m["profit_factor"] == pytest.approx(closed[closed > 0].sum() / -closed[closed < 0].sum())


@pytest.mark.parametrize("kind,first,second", [
    ("sma_cross", [5, 10, 20], [30, 60]),
    ("momentum", [5, 20], [0.0, 0.01]),
    ("mean_reversion", [10, 30], [1.0, 2.0]),
])
def test_every_sweep_row_equals_the_single_backtest(closes, kind, first, second):
    config = RunConfig(initial_capital=500_000.0, position_size=0.8, allow_short=kind != "momentum",
                       costs=Costs(0.005, 1.0, 2.0))
    sweep = engine.run_sweep(closes, kind, first, second, config, chunk_size=2)
    names = strategy(kind).names
    assert len(sweep.table) == len(first) * len(second)
    for row in sweep.table.itertuples():
        params = {names[0]: getattr(row, names[0]), names[1]: getattr(row, names[1])}
        single = engine.run_backtest(closes, kind, params, config).metrics
        assert row.total_return == single["total_return"]
        assert row.trades == single["trades"]
        for metric in ("sharpe", "sortino", "cagr", "max_drawdown", "win_rate", "profit_factor"):
            expected = single[metric]
            assert (expected is None and not np.isfinite(getattr(row, metric))) or \
                getattr(row, metric) == pytest.approx(expected, rel=1e-9), metric


def test_sweep_grid_skips_fast_at_or_above_slow_and_reports_progress(closes):
    seen = []
    sweep = engine.run_sweep(closes, "sma_cross", [10, 30, 50], [20, 40], chunk_size=1,
                             progress=lambda f, m: seen.append(f))
    assert sweep.table[["fast", "slow"]].values.tolist() == [[10, 20], [10, 40], [30, 40]]
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="grid is empty"):
        engine.run_sweep(closes, "sma_cross", [50], [20])
