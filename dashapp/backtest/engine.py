"""Backtests on daily bars: a thin wrapper over dashapp.backtest.loop_nb.

Conventions (the loop's docstring has the arithmetic):
* Signals are decided on each bar's close. Fill rule ``next_bar`` (the default): the order fills
  on the next bar, at its open when opens are given, else at its close (the bundled data has
  closes only); ``same_close``: at the close the signal was computed on (optimistic: it trades at
  a price the signal has just seen). These are backtrader's default market order and its
  cheat-on-close, and tests compare the two engines fill by fill.
* Target positions: when the desired direction changes, the target is direction x whole shares
  worth ``position_size`` x the symbol's equity, capped at ``max_position_notional``, both at the
  signal bar's close. No trade while the direction holds (no drift rebalancing).
* Costs: ``commission_per_share`` x shares + ``commission_bps`` of the traded notional, at a price
  moved ``slippage_bps`` against the trade.
* Several symbols: the capital is split equally; each symbol runs on its own slice and the
  portfolio equity is the sum.
* Indicators warm up inside the chosen date range (no bars before ``start`` are used).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd

from dashapp.backtest import loop_nb, metrics
from dashapp.backtest.strategies import StrategyDef, strategy

FILL_RULES = {"next_bar": 1, "same_close": 0}
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Costs:
    commission_per_share: float = 0.0
    commission_bps: float = 0.0
    slippage_bps: float = 0.0


@dataclass(frozen=True)
class RunConfig:
    initial_capital: float = 1_000_000.0
    position_size: float = 1.0  # fraction of the symbol's equity per position
    max_position_notional: float | None = None
    allow_short: bool = True
    fill: str = "next_bar"
    costs: Costs = field(default_factory=Costs)

    def kernel_args(self, n_symbols: int) -> tuple:
        if self.fill not in FILL_RULES:
            raise ValueError(f"fill must be one of {', '.join(FILL_RULES)}, not {self.fill!r}")
        if not self.initial_capital > 0 or not self.position_size > 0:
            raise ValueError("initial_capital and position_size must be positive")
        cap = self.max_position_notional
        c = self.costs
        return (FILL_RULES[self.fill], self.initial_capital / n_symbols, float(self.position_size),
                float(cap) if cap else np.inf, float(c.commission_per_share), c.commission_bps / 1e4,
                c.slippage_bps / 1e4)


@dataclass
class BacktestResult:
    """What one backtest produced. The loop's arrays and the metrics are computed by run_backtest;
    the pandas views (equity, positions, fills, trades) are built from them on first access."""

    strategy: str
    params: dict
    config: RunConfig
    index: pd.DatetimeIndex
    symbols: list[str]
    equity_array: np.ndarray  # (S, T): each symbol's equity after each bar's close
    position_array: np.ndarray  # (S, T): shares held after each bar
    fill_records: np.ndarray  # (n, N_FILL_FIELDS), ordered by bar then symbol
    fill_symbols: np.ndarray  # (n,) column number of each fill's symbol
    trade_records: np.ndarray  # (m, N_TRADE_FIELDS), ordered by entry bar then symbol
    trade_symbols: np.ndarray
    metrics: dict

    @cached_property
    def equity(self) -> pd.Series:
        """Portfolio equity after each bar's close."""
        return pd.Series(self.equity_array.sum(axis=0), index=self.index, name="equity")

    @cached_property
    def equity_by_symbol(self) -> pd.DataFrame:
        return pd.DataFrame(self.equity_array.T, index=self.index, columns=self.symbols)

    @cached_property
    def positions(self) -> pd.DataFrame:
        return pd.DataFrame(self.position_array.T, index=self.index, columns=self.symbols)

    @cached_property
    def fills(self) -> pd.DataFrame:
        r, s = self.fill_records, self.fill_symbols
        return pd.DataFrame({"date": self.index[r[:, loop_nb.F_BAR].astype(np.int64)],
                             "symbol": np.asarray(self.symbols, object)[s],
                             "side": np.where(r[:, loop_nb.F_SIDE] > 0, "buy", "sell"), "qty": r[:, loop_nb.F_QTY],
                             "price": r[:, loop_nb.F_PRICE], "fee": r[:, loop_nb.F_FEE],
                             "position": r[:, loop_nb.F_POSITION]})

    @cached_property
    def trades(self) -> pd.DataFrame:
        """Round trips; `open` marks one still open at the end (marked at the last close)."""
        r, s = self.trade_records, self.trade_symbols
        entry, exit_ = r[:, loop_nb.T_ENTRY_BAR].astype(np.int64), r[:, loop_nb.T_EXIT_BAR].astype(np.int64)
        return pd.DataFrame({"symbol": np.asarray(self.symbols, object)[s],
                             "side": np.where(r[:, loop_nb.T_SIDE] > 0, "long", "short"), "qty": r[:, loop_nb.T_QTY],
                             "entry_date": self.index[entry], "entry_price": r[:, loop_nb.T_ENTRY_PRICE],
                             "exit_date": self.index[exit_], "exit_price": r[:, loop_nb.T_EXIT_PRICE],
                             "bars": exit_ - entry, "fees": r[:, loop_nb.T_FEES], "pnl": r[:, loop_nb.T_PNL],
                             "net_pnl": r[:, loop_nb.T_NET], "open": r[:, loop_nb.T_OPEN] > 0})


@dataclass
class SweepResult:
    strategy: str
    axes: tuple[str, str]
    table: pd.DataFrame  # one row per parameter set: both parameters, then the metrics
    n_bars: int
    n_symbols: int


def _prices(closes: pd.DataFrame, opens: pd.DataFrame | None, fill: str) -> tuple[np.ndarray, np.ndarray]:
    """(S, T) C-contiguous closes and fill prices, validated."""
    if not isinstance(closes, pd.DataFrame) or closes.shape[1] == 0:
        raise ValueError("closes must be a DataFrame with one column per symbol")
    if closes.shape[0] < 2:
        raise ValueError(f"a backtest needs at least two bars; got {closes.shape[0]}")
    c = np.ascontiguousarray(closes.to_numpy(dtype=np.float64).T)
    if not np.isfinite(c).all() or (c <= 0).any():
        raise ValueError("closes must be finite and positive (fill or drop missing bars first)")
    if opens is None or fill == "same_close":
        return c, c
    o = np.ascontiguousarray(opens.reindex_like(closes).to_numpy(dtype=np.float64).T)
    if not np.isfinite(o).all() or (o <= 0).any():
        raise ValueError("opens must be finite and positive on every bar of closes")
    return c, o


def _features(sdef: StrategyDef, closes: np.ndarray, first: np.ndarray, second: np.ndarray):
    """The rolling tables the signals read, and the kernel's (ia, ib, x) per parameter set."""
    S, T = closes.shape
    if sdef.code == loop_nb.MOMENTUM:
        windows = np.empty(0, np.int64)
        ia, ib, x = first.astype(np.int64), np.zeros(first.size, np.int64), second.astype(np.float64)
    elif sdef.code == loop_nb.SMA_CROSS:
        windows = np.unique(np.concatenate([first, second])).astype(np.int64)
        ia, ib, x = np.searchsorted(windows, first), np.searchsorted(windows, second), np.zeros(first.size)
    else:
        windows = np.unique(first).astype(np.int64)
        ia, ib, x = np.searchsorted(windows, first), np.zeros(first.size, np.int64), second.astype(np.float64)
    want_std = sdef.code == loop_nb.MEAN_REVERSION
    means = np.empty((S, windows.size, T))
    stds = np.empty((S, windows.size, T if want_std else 0))
    loop_nb.feature_tables_nb(closes, windows, want_std, means, stds)
    return means, stds, ia.astype(np.int64), ib.astype(np.int64), x.astype(np.float64)


def _check_params(sdef: StrategyDef, first, second) -> None:
    a, b = sdef.params
    for p, values in ((a, first), (b, second)):
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all() or (values < p.low).any() or (values > p.high).any():
            raise ValueError(f"{p.name} must be between {p.low:g} and {p.high:g}")
        if p.kind is int and (values != np.round(values)).any():
            raise ValueError(f"{p.name} must be a whole number")


def run_backtest(closes: pd.DataFrame, kind: str, params: dict | None = None, config: RunConfig | None = None,
                 opens: pd.DataFrame | None = None, progress: Progress | None = None) -> BacktestResult:
    """One backtest of strategy `kind` over `closes` (dates x symbols)."""
    sdef = strategy(kind)
    params = {**sdef.defaults(), **(params or {})}
    config = config or RunConfig()
    first, second = np.array([params[sdef.params[0].name]]), np.array([params[sdef.params[1].name]])
    _check_params(sdef, first, second)
    c, px = _prices(closes, opens, config.fill)
    delay, cash, size, cap, per_share, rate, slip = config.kernel_args(c.shape[0])
    means, stds, ia, ib, x = _features(sdef, c, first, second)
    S, T = c.shape
    equity, positions = np.empty((S, T)), np.empty((S, T))
    fills, trades, direction, stats = [], [], np.empty(T, np.int8), np.empty(loop_nb.N_STATS)
    for s in range(S):
        loop_nb.direction_nb(sdef.code, c[s], means[s], stds[s], ia[0], ib[0], x[0], config.allow_short, direction)
        f = np.empty((T, loop_nb.N_FILL_FIELDS))
        t = np.empty((T + 1, loop_nb.N_TRADE_FIELDS))
        n_f, n_t = loop_nb.simulate_nb(c[s], px[s], direction, delay, cash, size, cap, per_share, rate, slip, f, t,
                                       equity[s], positions[s], stats)
        fills.append((s, f[:n_f]))
        trades.append((s, t[:n_t]))
        if progress is not None:
            progress((s + 1) / S, f"{closes.columns[s]} done ({s + 1}/{S})")
    fill_records, fill_symbols = _stack(fills, loop_nb.N_FILL_FIELDS, loop_nb.F_BAR)
    trade_records, trade_symbols = _stack(trades, loop_nb.N_TRADE_FIELDS, loop_nb.T_ENTRY_BAR)
    closed = trade_records[trade_records[:, loop_nb.T_OPEN] == 0, loop_nb.T_NET]
    summary = metrics.summary(equity.sum(axis=0), config.initial_capital, closed, positions.T)
    return BacktestResult(kind, params, config, pd.DatetimeIndex(closes.index), list(closes.columns), equity,
                          positions, fill_records, fill_symbols, trade_records, trade_symbols, summary)


def _stack(parts, width: int, bar_field: int) -> tuple[np.ndarray, np.ndarray]:
    """The records of every symbol in one array, ordered by bar then symbol (column order)."""
    records = np.concatenate([r for _, r in parts]) if parts else np.empty((0, width))
    symbol = np.concatenate([np.full(len(r), s, np.int64) for s, r in parts]) if parts else np.empty(0, np.int64)
    order = np.lexsort((symbol, records[:, bar_field]))
    return records[order], symbol[order]


def parameter_grid(kind: str, first_values, second_values) -> tuple[np.ndarray, np.ndarray]:
    """Every (first, second) pair; for the SMA crossover only pairs with fast < slow."""
    sdef = strategy(kind)
    pairs = [(a, b) for a, b in itertools.product(first_values, second_values)
             if sdef.code != loop_nb.SMA_CROSS or a < b]
    if not pairs:
        raise ValueError("the parameter grid is empty" + (" (fast must be below slow)"
                                                          if sdef.code == loop_nb.SMA_CROSS else ""))
    first, second = (np.array(v, dtype=np.float64) for v in zip(*pairs))
    _check_params(sdef, first, second)
    return first, second


def run_sweep(closes: pd.DataFrame, kind: str, first_values, second_values, config: RunConfig | None = None,
              opens: pd.DataFrame | None = None, chunk_size: int = 500,
              progress: Progress | None = None) -> SweepResult:
    """One backtest per parameter pair (the product of both value lists), run in parallel over the
    pairs (numba prange), `chunk_size` pairs at a time so `progress(fraction, message)` moves."""
    sdef = strategy(kind)
    config = config or RunConfig()
    first, second = parameter_grid(kind, first_values, second_values)
    c, px = _prices(closes, opens, config.fill)
    delay, cash, size, cap, per_share, rate, slip = config.kernel_args(c.shape[0])
    means, stds, ia, ib, x = _features(sdef, c, first, second)
    P, T = first.size, c.shape[1]
    parts = []
    for lo in range(0, P, chunk_size):
        hi = min(P, lo + chunk_size)
        returns, final, stats = np.empty((T, hi - lo)), np.empty(hi - lo), np.empty((hi - lo, loop_nb.N_STATS))
        loop_nb.sweep_nb(sdef.code, c, px, means, stds, ia[lo:hi], ib[lo:hi], x[lo:hi], config.allow_short, delay,
                         cash, size, cap, per_share, rate, slip, returns, final, stats)
        parts.append(metrics.sweep_table(returns, final, config.initial_capital, stats))
        if progress is not None:
            progress(hi / P, f"{hi} of {P} parameter sets")
    table = pd.concat(parts, ignore_index=True)
    cast = [p.kind for p in sdef.params]
    table.insert(0, sdef.params[1].name, second.astype(cast[1]))
    table.insert(0, sdef.params[0].name, first.astype(cast[0]))
    return SweepResult(kind, sdef.names, table, T, c.shape[0])
