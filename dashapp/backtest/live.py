"""Backtest vs live: the paper engine's equity for the strategy a backtest ran (momentum or mean
reversion), next to the backtest's own curve over the same length of recent window, both
normalised to 1.0 at the start of the window.

The two clocks differ, and the page says so: the backtest's window is the last `days` calendar
days of its bars (daily closes up to its end date); the live window is the last `days` days of
the engine's P&L snapshots (wall clock), in which the engine trades simulated intraday prices
replayed from the same history, on random picks of instruments with confidence-scaled sizes. The
comparison shows shape and scale, not a reconciliation. x is days before each window's end."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.backtest.strategies import STRATEGIES
from dashapp.extensions import db
from models import PnlSnapshot, Strategy, utcnow

MAX_SNAPSHOTS = 20_000  # per strategy: the newest ones (about 5.5 hours of one-second ticks)
WINDOWS = (1, 7, 30, 90)


def live_strategies(kind: str) -> list[tuple[int, str]]:
    rows = db.session.execute(sa.select(Strategy.id, Strategy.code).where(Strategy.kind == kind)
                              .order_by(Strategy.code)).all()
    return [(r[0], r[1]) for r in rows]


def live_equity(strategy_ids: list[int], days: int) -> pd.DataFrame:
    """Summed equity of the strategies over the last `days` (columns ts, equity), oldest first."""
    if not strategy_ids:
        return pd.DataFrame(columns=["ts", "equity"])
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        sa.select(PnlSnapshot.ts, PnlSnapshot.strategy_id, PnlSnapshot.equity)
        .where(PnlSnapshot.strategy_id.in_(strategy_ids), PnlSnapshot.ts >= since)
        .order_by(PnlSnapshot.ts.desc()).limit(MAX_SNAPSHOTS * len(strategy_ids))).all()
    if not rows:
        return pd.DataFrame(columns=["ts", "equity"])
    frame = pd.DataFrame(rows, columns=["ts", "strategy_id", "equity"])
    wide = frame.pivot_table(index="ts", columns="strategy_id", values="equity", aggfunc="last").sort_index().ffill()
    total = wide.dropna().sum(axis=1)
    return pd.DataFrame({"ts": total.index, "equity": total.to_numpy()})


def _window_stats(values: np.ndarray) -> dict:
    peak = np.maximum.accumulate(values)
    return {"return": float(values[-1] / values[0] - 1.0), "max_drawdown": float((values / peak - 1.0).min())}


def comparison(result: dict, days: int = 30) -> dict:
    """Both normalised curves and their window stats, or `available: False` with the reason."""
    kind = result.get("strategy")
    sdef = STRATEGIES.get(kind)
    live_kind = sdef.live_kind if sdef else None
    if live_kind is None:
        return {"available": False, "reason": f"The paper engine does not run {sdef.label if sdef else kind}, so there "
                                              f"is no live curve to compare with. Backtest momentum or mean reversion "
                                              f"to compare with what the engine does live."}
    curve = result.get("equity") or {}
    bt = pd.Series(curve.get("equity") or [], index=pd.to_datetime(curve.get("dates") or []), dtype=float).dropna()
    bt = bt[bt.index >= bt.index[-1] - pd.Timedelta(days=days)] if len(bt) else bt
    strategies = live_strategies(live_kind)
    codes = ", ".join(code for _, code in strategies) or "none registered"
    live = live_equity([sid for sid, _ in strategies], days)
    out = {"days": days, "live_codes": codes, "label": sdef.label}
    if len(bt) >= 2 and (bt > 0).all():
        out["backtest"] = {"x": _days_before_end(bt.index), "y": list(bt.to_numpy() / bt.iloc[0]),
                           "from": bt.index[0].strftime("%Y-%m-%d"), "to": bt.index[-1].strftime("%Y-%m-%d"),
                           "points": int(len(bt)), **_window_stats(bt.to_numpy())}
    if len(live) < 2 or not (live["equity"] > 0).all():
        why = (f"the paper engine has recorded {'one snapshot' if len(live) == 1 else 'no P&L snapshots'} for "
               f"{codes} in the last {days} day(s)" if strategies else
               f"the paper engine has not registered a {sdef.label.lower()} strategy yet (it does on its first start)")
        return {**out, "available": False,
                "reason": f"No live data yet for {sdef.label}: {why}. Start the engine from the Command Center and "
                          f"come back; the backtest's own window is shown alone."}
    ts = pd.to_datetime(live["ts"], utc=True)
    values = live["equity"].to_numpy(dtype=float)
    out["live"] = {"x": _days_before_end(ts), "y": list(values / values[0]),
                   "from": ts.iloc[0].strftime("%Y-%m-%d %H:%M"), "to": ts.iloc[-1].strftime("%Y-%m-%d %H:%M"),
                   "points": int(len(values)), **_window_stats(values)}
    return {**out, "available": True}


def _days_before_end(index) -> list[float]:
    stamps = pd.DatetimeIndex(index)
    return list(((stamps - stamps[-1]) / pd.Timedelta(days=1)).astype(float))
