"""Read-side guards: what a page query or figure may read, from the bounds in `services/bounds.py`.

A stored row outside the bounds (it got in before they existed, or by direct SQL) must degrade one
point, never a page. So page queries filter such rows out in SQL (before any arithmetic on them: a
product of two absurd floats overflows in PostgreSQL and fails the whole statement), "latest"
queries never see the future, time windows are clipped to the accepted span, and bucketed series
are capped. `services/data_quality.py` lists the rows these guards hide, for admins.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.services.bounds import MAX_ABS_AMOUNT, MAX_ABS_PRICE, MAX_BUCKETS, MAX_QTY, TimeWindow, time_window


def window(now: datetime | None = None) -> TimeWindow:
    """The accepted span for timestamps right now (from the app's settings)."""
    return time_window(now=now)


# ---- SQL predicates ---------------------------------------------------------------------------
# BETWEEN is false for NaN and infinities on PostgreSQL (and SQLite stores NaN as NULL), so one
# range test refuses non-finite and absurd values alike.

def in_range(column, limit: float):
    return column.between(-limit, limit)


def positive(column, limit: float):
    """A strictly positive magnitude within `limit` (prices, order and fill quantities)."""
    return sa.and_(column > 0, column <= limit)


def optional_in_range(column, limit: float):
    return sa.or_(column.is_(None), column.between(-limit, limit))


def price_ok(column):
    return positive(column, MAX_ABS_PRICE)


def qty_ok(column):
    return positive(column, MAX_QTY)


def amount_ok(column):
    return in_range(column, MAX_ABS_AMOUNT)


def in_time(column, span: TimeWindow):
    return column.between(span.earliest, span.latest)


def guarded(expr, *conditions):
    """`expr` where every condition holds, else NULL: for computed columns (notional, slippage) of
    rows that are still listed, so one absurd row gives one empty cell instead of an SQL error."""
    return sa.case((sa.and_(*conditions), expr), else_=None)


# ---- frames -----------------------------------------------------------------------------------

def finite_rows(frame: pd.DataFrame, limits: dict[str, float]) -> tuple[pd.DataFrame, int]:
    """Rows whose listed columns are finite and within their limit (NaN/None counts as fine: it
    means "unknown", which every consumer already handles), and how many were dropped."""
    if frame.empty:
        return frame, 0
    keep = np.ones(len(frame), dtype=bool)
    for column, limit in limits.items():
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            keep &= np.isnan(values) | (np.abs(values) <= limit)
    dropped = int((~keep).sum())
    return (frame[keep] if dropped else frame), dropped


def bucket_start(start: datetime, end: datetime, width: pd.Timedelta | str) -> datetime:
    """The start of a bucketed series from `start` to `end` that has at most MAX_BUCKETS buckets:
    the newest ones are kept when the span is wider."""
    width = pd.Timedelta(width)
    if end - start > width * MAX_BUCKETS:
        return end - width * MAX_BUCKETS
    return start
