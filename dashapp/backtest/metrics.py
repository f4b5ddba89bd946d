"""Backtest metrics, all from dashapp.kernels (annualised with 252 daily bars, risk-free 0).

Returns are the simple daily returns of the equity curve, the first one against the initial
capital. Win rate and profit factor are per closed trade (net of fees): the kernels' win_rate and
profit_factor applied to the trades' net P&L (share of winners among trades that won or lost;
sum of gains / sum of losses). Non-finite values (no trades, no losses, a flat curve) come back
as None, which JSON (and PostgreSQL's json type) can hold.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashapp.backtest import loop_nb
from dashapp.kernels import drawdown_nb, performance_nb
from dashapp.kernels._validate import threads

PERIODS_PER_YEAR = 252
METRICS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown", "win_rate",
           "profit_factor", "trades")
LABELS = {"total_return": "Total return", "cagr": "CAGR", "volatility": "Volatility (ann.)", "sharpe": "Sharpe",
          "sortino": "Sortino", "calmar": "Calmar", "max_drawdown": "Max drawdown", "win_rate": "Win rate",
          "profit_factor": "Profit factor", "trades": "Closed trades", "final_equity": "Final equity",
          "time_in_market": "Time in market"}
PERCENT = {"total_return", "cagr", "volatility", "max_drawdown", "win_rate", "time_in_market"}


def finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def daily_returns(equity: np.ndarray, initial: float) -> np.ndarray:
    """(T,) or (T, N) equity -> simple returns of the same shape (row 0 against `initial`)."""
    previous = np.empty_like(equity)
    previous[0] = initial
    previous[1:] = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.ascontiguousarray(equity / previous - 1.0)


def curve_metrics(returns: np.ndarray) -> dict[str, np.ndarray]:
    """CAGR, volatility, Sharpe, Sortino, Calmar and max drawdown of every column of ``returns``
    (T, N), from the kernels' numba functions: the ones kernels.cagr, annual_volatility,
    sharpe_ratio, sortino_ratio, calmar_ratio and max_drawdown wrap, with the same definitions
    (tests compare with the wrappers). The wrappers' validation pass is skipped because the returns
    are the loop's own output; a column that is not finite (an equity that reached zero) gives NaN
    metrics instead of an error, so one bad pair cannot fail a whole sweep."""
    if returns.shape[0] < 2:
        raise ValueError("a backtest needs at least two bars")
    n = threads()
    ppy = float(PERIODS_PER_YEAR)
    growth = performance_nb.cagr_nb(returns, ppy, n)
    mdd, _ = drawdown_nb.max_drawdown_nb(returns, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        calmar = np.where(mdd < 0.0, growth / np.abs(mdd), np.nan)
    return {"cagr": growth, "volatility": performance_nb.annual_volatility_nb(returns, ppy, n),
            "sharpe": performance_nb.sharpe_nb(returns, 0.0, ppy, n),
            "sortino": performance_nb.sortino_nb(returns, 0.0, ppy, n), "calmar": calmar, "max_drawdown": mdd}


def summary(equity: np.ndarray, initial: float, closed_net_pnl: np.ndarray, positions: np.ndarray) -> dict:
    """One backtest: equity (T,), the closed trades' net P&L, positions (T, S)."""
    returns = daily_returns(equity, initial)[:, None]
    out = {k: v[0] for k, v in curve_metrics(np.ascontiguousarray(returns)).items()}
    pnl = np.ascontiguousarray(closed_net_pnl, dtype=np.float64)[:, None]
    out["win_rate"] = performance_nb.win_rate_nb(pnl, 1)[0] if pnl.size else np.nan
    out["profit_factor"] = performance_nb.profit_factor_nb(pnl, 1)[0] if pnl.size else np.nan
    out["trades"] = int(pnl.size)
    out["total_return"] = equity[-1] / initial - 1.0
    out["final_equity"] = equity[-1]
    out["time_in_market"] = float(np.mean(np.any(positions != 0.0, axis=1))) if positions.size else 0.0
    return {k: (v if isinstance(v, int) else finite_or_none(v)) for k, v in out.items()}


def sweep_table(returns: np.ndarray, final: np.ndarray, initial: float, stats: np.ndarray) -> pd.DataFrame:
    """Many backtests at once: the loop's daily returns (T, P), final equity (P,) and stats
    (P, N_STATS) -> one row per parameter set (``curve_metrics`` on every column). Win rate and
    profit factor come from the loop's trade counts and sums: the same numbers the kernels give on
    the trade list (tests/unit/backtest/test_signals_and_sweep.py checks every row against a
    single backtest)."""
    table = pd.DataFrame(curve_metrics(returns))
    with np.errstate(divide="ignore", invalid="ignore"):
        wins, losses = stats[:, loop_nb.S_WINS], stats[:, loop_nb.S_LOSSES]
        gain, loss = stats[:, loop_nb.S_GROSS_WIN], stats[:, loop_nb.S_GROSS_LOSS]
        table["win_rate"] = np.where(wins + losses > 0, wins / (wins + losses), np.nan)
        table["profit_factor"] = np.where(loss > 0, gain / loss, np.where(gain > 0, np.inf, np.nan))
    table["trades"] = stats[:, loop_nb.S_TRADES].astype(np.int64)
    table["total_return"] = final / initial - 1.0
    return table
