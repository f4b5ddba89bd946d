"""Compact, JSON-safe results for the Job row (its `result` column) and the page that reads them.

* Equity curve: every bar of the most recent RECENT_BARS (the live comparison reads that window),
  older bars thinned to about MAX_POINTS in all, always keeping the deepest drawdown's trough.
* Trades: the most recent MAX_TRADES round trips, with the total count beside them.
* Monthly returns: year x month, plus each year's return.
* Floats rounded; NaN/inf become None (PostgreSQL's json type refuses NaN).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashapp import kernels
from dashapp.backtest.engine import BacktestResult, SweepResult
from dashapp.backtest.metrics import daily_returns
from dashapp.backtest.strategies import strategy

MAX_POINTS = 800
RECENT_BARS = 130  # about six months of daily bars at full resolution
MAX_TRADES = 500
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _num(value, digits: int = 6):
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return round(value, digits)


def thin_indices(n: int, keep: list[int] | tuple = (), max_points: int = MAX_POINTS,
                 recent: int = RECENT_BARS) -> np.ndarray:
    """Row numbers to keep out of `n`: all of the last `recent`, an even stride before them, the
    first and last rows and any of `keep`."""
    if n <= max_points:
        return np.arange(n)
    recent = min(recent, n)
    head = n - recent
    stride = max(1, math.ceil(head / max(max_points - recent, 1)))
    picked = np.concatenate([np.arange(0, head, stride), np.arange(head, n), [0, n - 1],
                             np.asarray(keep, dtype=np.int64)])
    return np.unique(picked[(picked >= 0) & (picked < n)])


def equity_payload(equity: pd.Series, initial: float, positions: pd.DataFrame | None = None) -> dict:
    """Dates, equity, drawdown (and shares held per symbol) at the kept bars."""
    values = equity.to_numpy(dtype=np.float64)
    drawdown = np.asarray(kernels.drawdown_series(daily_returns(values, initial)))
    keep = thin_indices(values.size, keep=[int(np.argmin(drawdown))])
    dates = equity.index[keep]
    out = {"dates": [d.strftime("%Y-%m-%d") for d in dates], "equity": [_num(v, 2) for v in values[keep]],
           "drawdown": [_num(v, 6) for v in drawdown[keep]], "bars": int(values.size),
           "thinned": bool(keep.size < values.size)}
    if positions is not None:
        out["positions"] = {str(s): [_num(v, 0) for v in positions[s].to_numpy()[keep]] for s in positions.columns}
    return out


def monthly_returns(equity: pd.Series, initial: float) -> dict:
    """Returns by calendar month (month-end equity over the previous month-end's, the first month
    over the initial capital) and by year."""
    month_end = equity.resample("ME").last().dropna()
    previous = month_end.shift(1)
    previous.iloc[0] = initial
    by_month = month_end / previous - 1.0
    year_end = equity.resample("YE").last().dropna()
    prev_year = year_end.shift(1)
    prev_year.iloc[0] = initial
    by_year = year_end / prev_year - 1.0
    years = sorted({d.year for d in by_month.index})
    grid = {(d.year, d.month): v for d, v in by_month.items()}
    return {"years": years, "months": list(MONTHS),
            "returns": [[_num(grid.get((y, m))) for m in range(1, 13)] for y in years],
            "year": [_num(by_year[by_year.index.year == y].iloc[0]) for y in years]}


def trade_rows(trades: pd.DataFrame, limit: int = MAX_TRADES) -> dict:
    shown = trades.tail(limit)
    rows = [{"symbol": t.symbol, "side": t.side, "qty": _num(t.qty, 0), "entry_date": t.entry_date.strftime("%Y-%m-%d"),
             "entry_price": _num(t.entry_price, 4), "exit_date": t.exit_date.strftime("%Y-%m-%d"),
             "exit_price": _num(t.exit_price, 4), "bars": int(t.bars), "fees": _num(t.fees, 2), "pnl": _num(t.pnl, 2),
             "net_pnl": _num(t.net_pnl, 2), "status": "open" if t.open else "closed"} for t in shown.itertuples()]
    return {"count": int(len(trades)), "shown": len(rows), "rows": rows}


def backtest_payload(result: BacktestResult, request: dict) -> dict:
    sdef = strategy(result.strategy)
    return {"kind": "backtest", "strategy": result.strategy, "strategy_label": sdef.label,
            "live_kind": sdef.live_kind, "params": result.params, "request": request,
            "symbols": list(result.positions.columns),
            "start": result.equity.index[0].strftime("%Y-%m-%d"), "end": result.equity.index[-1].strftime("%Y-%m-%d"),
            "metrics": {k: (v if isinstance(v, int) else _num(v)) for k, v in result.metrics.items()},
            "equity": equity_payload(result.equity, result.config.initial_capital, result.positions),
            "monthly": monthly_returns(result.equity, result.config.initial_capital),
            "trades": trade_rows(result.trades), "fills": int(len(result.fills))}


def sweep_payload(sweep: SweepResult, best: BacktestResult, best_by: str, request: dict, elapsed_s: float) -> dict:
    """The sweep table column by column (compact), the best pair by `best_by`, and that pair's
    full backtest (equity, trades, monthly returns) so the page can show it like a single run."""
    table = sweep.table
    columns = list(table.columns)
    runs = len(table) * sweep.n_symbols
    whole = {"trades"} | {p.name for p in strategy(sweep.strategy).params if p.kind is int}
    return {"kind": "sweep", "strategy": sweep.strategy, "strategy_label": strategy(sweep.strategy).label,
            "axes": list(sweep.axes), "request": request, "pairs": int(len(table)), "backtests": int(runs),
            "bars": sweep.n_bars, "elapsed_s": _num(elapsed_s, 3),
            "backtests_per_s": _num(runs / elapsed_s if elapsed_s > 0 else None, 1),
            "columns": columns, "table": {c: [int(v) if c in whole else _num(v, 4) for v in table[c]] for c in columns},
            "best_by": best_by, "best": {a: best.params[a] for a in sweep.axes},
            "best_run": backtest_payload(best, request)}


def best_row(table: pd.DataFrame, by: str = "sharpe") -> int:
    """Index of the best row by `by` (highest; max drawdown: the least negative), ignoring NaN."""
    values = table[by].astype(float).replace([np.inf, -np.inf], np.nan)
    if values.notna().any():
        return int(values.idxmax())
    return int(table["total_return"].astype(float).idxmax())
