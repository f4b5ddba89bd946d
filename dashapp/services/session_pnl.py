"""Today's P&L from intraday equity snapshots: since the session start, against the previous close.

The desk's session is the UTC day. "Previous close" is the last equity snapshot before today's
session start; on the first day (no snapshot before today) the first snapshot of today stands in,
so the figure shows intraday values from the first snapshot on, not "needs two days"."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from models import utcnow


@dataclass(frozen=True)
class SessionPnl:
    session_start: pd.Timestamp
    baseline: float | None  # equity the P&L is measured from
    baseline_kind: str  # "previous close" | "first snapshot today" | "none"
    points: pd.DataFrame  # ts, pnl: today's intraday P&L since the session start

    @property
    def last(self) -> float | None:
        return None if self.points.empty else float(self.points["pnl"].iloc[-1])


def session_start(now=None) -> pd.Timestamp:
    stamp = pd.Timestamp(now or utcnow())
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    return stamp.normalize()


def today(curve: pd.DataFrame, now=None) -> SessionPnl:
    """`curve`: ts, equity (desk.equity_curve): today's P&L against the previous close."""
    start = session_start(now)
    empty = pd.DataFrame(columns=["ts", "pnl"])
    if curve is None or curve.empty:
        return SessionPnl(start, None, "none", empty)
    stamps = pd.to_datetime(curve["ts"], utc=True, format="mixed")
    equity = pd.to_numeric(curve["equity"], errors="coerce")
    before, during = equity[stamps < start].dropna(), (stamps >= start) & equity.notna()
    if not during.any():
        return SessionPnl(start, float(before.iloc[-1]) if len(before) else None, "previous close", empty)
    if len(before):
        baseline, kind = float(before.iloc[-1]), "previous close"
    else:
        baseline, kind = float(equity[during].iloc[0]), "first snapshot today"
    points = pd.DataFrame({"ts": stamps[during].to_numpy(), "pnl": equity[during].to_numpy() - baseline})
    return SessionPnl(start, baseline, kind, points)
