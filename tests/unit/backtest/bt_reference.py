"""backtrader running the same target-position strategy as dashapp.backtest, used as the reference
in tests and in benchmarks/bench_backtest.py. Test-only dependency (`pip install backtrader`).

The data feed has open = high = low = close (the bundled file has closes only), so backtrader's
default market order fills at the next bar's close, which is our `next_bar` rule; cheat-on-close
(`set_coc(True)`) is our `same_close`. Slippage is `set_slippage_perc(..., slip_out=True)` (with
high = low = close, the default would cap every slipped price at the bar's range, i.e. no slip), and
the commission is a CommInfo charging per share + a rate of notional, like ours."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import backtrader as bt
import pandas as pd


class PerShareAndRate(bt.CommInfoBase):
    params = (("per_share", 0.0), ("rate", 0.0), ("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED))

    def _getcommission(self, size, price, pseudoexec):
        return abs(size) * self.p.per_share + abs(size) * self.p.rate * price


class TargetSmaCross(bt.Strategy):
    """Long while SMA(fast) > SMA(slow), short (or flat) below; on a change of view the target is
    floor(min(size_frac * value, max_notional) / close) shares."""

    params = (("fast", 10), ("slow", 50), ("size_frac", 1.0), ("max_notional", math.inf), ("allow_short", True),
              ("record", True))

    def __init__(self):
        self.fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.view = 0
        self.fills, self.trades, self.values = [], [], []

    def next(self):
        f, s = self.fast[0], self.slow[0]
        d = 1 if f > s else (-1 if f < s else 0)
        if d < 0 and not self.p.allow_short:
            d = 0
        if d != self.view:
            self.view = d
            close = self.data.close[0]
            budget = min(self.p.size_frac * self.broker.getvalue(), self.p.max_notional)
            target = d * math.floor(budget / close) if budget > 0 else 0
            self.order_target_size(target=target)
        if self.p.record:
            self.values.append((len(self.data) - 1, self.broker.getvalue()))

    def notify_order(self, order):
        if self.p.record and order.status == order.Completed:
            # the price of the execution itself (order.executed.price re-averages it: size * price / size)
            (bit,) = order.executed.exbits
            self.fills.append((len(self.data) - 1, bit.size, bit.price, order.executed.comm))

    def notify_trade(self, trade):
        if self.p.record and trade.isclosed:
            self.trades.append((trade.baropen - 1, trade.barclose - 1, trade.price, trade.pnl, trade.pnlcomm))


@dataclass
class Reference:
    fills: list = field(default_factory=list)  # (bar, signed size, price, commission)
    trades: list = field(default_factory=list)  # (entry bar, exit bar, entry price, pnl, pnl net of fees)
    values: list = field(default_factory=list)  # (bar, broker value after the bar)
    final_value: float = 0.0


def feed(closes: pd.Series) -> bt.feeds.PandasData:
    frame = pd.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes, "volume": 0.0})
    return bt.feeds.PandasData(dataname=frame)


def run(closes: pd.Series, fast: int, slow: int, cash: float = 1_000_000.0, size_frac: float = 1.0,
        max_notional: float = math.inf, allow_short: bool = True, same_close: bool = False, per_share: float = 0.0,
        rate: float = 0.0, slip: float = 0.0, record: bool = True) -> Reference:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed(closes))
    cerebro.addstrategy(TargetSmaCross, fast=fast, slow=slow, size_frac=size_frac, max_notional=max_notional,
                        allow_short=allow_short, record=record)
    broker = cerebro.broker
    broker.setcash(cash)
    broker.set_checksubmit(False)  # like ours: no pre-trade cash check
    broker.set_coc(same_close)
    broker.addcommissioninfo(PerShareAndRate(per_share=per_share, rate=rate))
    if slip:
        broker.set_slippage_perc(slip, slip_open=True, slip_match=True, slip_out=True)
    strat = cerebro.run()[0]
    return Reference(strat.fills, strat.trades, strat.values, broker.getvalue())
