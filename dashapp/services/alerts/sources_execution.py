"""Execution quality for alert rules, per venue over a trailing window (the TCA kernels' conventions,
services/execution.py): average arrival slippage (bps, positive = cost), 95th-percentile acknowledgement
latency (ms), reject rate and fill rate of the orders sent to the venue; order rejects as events; per
fill slippage and per order latency as history (anomaly and predictive rules, the preview)."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp import kernels
from dashapp.extensions import db
from dashapp.services import rawsql
from dashapp.services import read_bounds as rb
from dashapp.services.alerts.metrics import (Event, EventSource, MetricSource, Sample, Series, register_events,
                                             register_metric)
from models import Fill, Instrument, Order, Strategy, Venue

WINDOW = timedelta(minutes=15)
MAX_ROWS = 50_000
_FILL_OK = (rb.qty_ok(Fill.quantity), rb.price_ok(Fill.price), rb.price_ok(Fill.mid_at_arrival))


def _fills(start: datetime, end: datetime) -> pd.DataFrame:
    rows = rawsql.fetch(sa.select(Venue.code, Fill.filled_at, Fill.side, Fill.price, Fill.mid_at_arrival)
                        .join(Venue, Venue.id == Fill.venue_id)
                        .where(Fill.filled_at > start, Fill.filled_at <= end, *_FILL_OK)
                        .order_by(Fill.filled_at).limit(MAX_ROWS))
    frame = pd.DataFrame(rows, columns=["venue", "ts", "side", "price", "mid"])
    if frame.empty:
        return frame.assign(slippage_bps=[])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="mixed")
    side = np.where(frame["side"] == "buy", 1.0, -1.0)
    frame["slippage_bps"] = kernels.arrival_slippage_bps(side, frame["price"].to_numpy(float),
                                                         frame["mid"].to_numpy(float))
    return frame


def _orders(start: datetime, end: datetime) -> pd.DataFrame:
    rows = rawsql.fetch(sa.select(Venue.code, Order.created_at, Order.acknowledged_at, Order.status, Order.quantity,
                                  Order.filled_quantity)
                        .join(Venue, Venue.id == Order.venue_id)
                        .where(Order.created_at > start, Order.created_at <= end, rb.qty_ok(Order.quantity))
                        .order_by(Order.created_at).limit(MAX_ROWS))
    frame = pd.DataFrame(rows, columns=["venue", "created", "acked", "status", "qty", "filled"])
    if frame.empty:
        return frame.assign(latency_ms=[])
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="mixed")
    frame["acked"] = pd.to_datetime(frame["acked"], utc=True, format="mixed")
    latency = (frame["acked"] - frame["created"]).dt.total_seconds() * 1000.0
    frame["latency_ms"] = latency.where((latency >= 0) & (latency < 3_600_000))
    return frame


def _slippage(now: datetime) -> list[Sample]:
    fills = _fills(now - WINDOW, now)
    return [Sample({"venue": venue}, float(group["slippage_bps"].mean())) for venue, group in fills.groupby("venue")]


def _latency(now: datetime) -> list[Sample]:
    orders = _orders(now - WINDOW, now)
    out = []
    for venue, group in orders.groupby("venue"):
        lat = group["latency_ms"].dropna().to_numpy(float)
        out.append(Sample({"venue": venue}, float(kernels.latency_percentiles(lat, (95,)).iloc[0]) if len(lat)
                          else None))
    return out


def _reject_rate(now: datetime) -> list[Sample]:
    orders = _orders(now - WINDOW, now)
    return [Sample({"venue": venue}, float((group["status"] == "rejected").mean()) * 100.0)
            for venue, group in orders.groupby("venue")]


def _fill_rate(now: datetime) -> list[Sample]:
    orders = _orders(now - WINDOW, now)
    out = []
    for venue, group in orders.groupby("venue"):
        qty = group["qty"].to_numpy(float)
        filled = np.minimum(group["filled"].to_numpy(float), qty)
        out.append(Sample({"venue": venue}, kernels.fill_rate(filled, qty) * 100.0 if qty.sum() > 0 else None))
    return out


def _per_event(frame: pd.DataFrame, time_column: str, value_column: str) -> list[Series]:
    out = []
    for venue, group in frame.dropna(subset=[value_column]).groupby("venue"):
        out.append(Series({"venue": venue}, list(group[time_column].dt.to_pydatetime()),
                          group[value_column].astype(float).tolist()))
    return out


def _rejects(start: datetime, end: datetime) -> list[Event]:
    rows = db.session.execute(
        sa.select(Order.rejected_at, Venue.code, Instrument.symbol, Strategy.code, Order.reject_reason)
        .join(Instrument, Instrument.id == Order.instrument_id).join(Strategy, Strategy.id == Order.strategy_id)
        .outerjoin(Venue, Venue.id == Order.venue_id)
        .where(Order.status == "rejected", Order.rejected_at > start, Order.rejected_at <= end)
        .order_by(Order.rejected_at.desc()).limit(MAX_ROWS)).all()
    return [Event(at, {"venue": venue or "", "instrument": symbol, "strategy": strategy}, (reason or "")[:200])
            for at, venue, symbol, strategy, reason in reversed(rows)]


register_metric(MetricSource("execution.slippage_bps", "Arrival slippage (15 min average)", "bps", ("venue",),
                             _slippage, lambda start, end: _per_event(_fills(start, end), "ts", "slippage_bps")))
register_metric(MetricSource("execution.latency_ms", "Acknowledgement latency p95 (15 min)", "ms", ("venue",),
                             _latency, lambda start, end: _per_event(_orders(start, end), "created", "latency_ms")))
register_metric(MetricSource("execution.reject_rate", "Reject rate (15 min)", "%", ("venue",), _reject_rate))
register_metric(MetricSource("execution.fill_rate", "Fill rate (15 min)", "%", ("venue",), _fill_rate))
register_events(EventSource("execution.reject", "Order rejected", ("venue", "instrument", "strategy"), _rejects))
