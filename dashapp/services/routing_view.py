"""Routing views for the venues: where orders went and how they ended (strategy -> venue ->
outcome), and per venue the quote staleness and the spread paid at the fills.

Quotes carry no venue (one consolidated book per instrument), so staleness is measured at each
fill: the age of the newest stored quote of the instrument at the fill time (how old the price the
router trusted was). Spread: the kernels' effective spread, 2 x side x (fill - mid at fill) in bps
of that mid, positive = paid."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp import kernels
from dashapp.extensions import db
from dashapp.services import read_bounds as rb
from models import Fill, Order, Quote, Strategy, Venue, utcnow

OUTCOMES = {"filled": "filled", "partially_filled": "partly filled", "canceled": "canceled",
            "rejected": "rejected", "expired": "expired", "new": "working", "acknowledged": "working"}
MAX_FILLS = 5_000  # the newest fills of the period: enough for stable per-venue medians


def order_flow(since: datetime, until: datetime | None = None) -> pd.DataFrame:
    """Counts of venue orders by strategy, venue and outcome (columns strategy, venue, outcome, orders)."""
    since, until = rb.window().clip(since, until or utcnow())
    found = db.session.execute(
        sa.select(Strategy.code, Venue.code, Order.status, sa.func.count())
        .join(Strategy, Strategy.id == Order.strategy_id).join(Venue, Venue.id == Order.venue_id)
        .where(Order.created_at >= since, Order.created_at < until)
        .group_by(Strategy.code, Venue.code, Order.status)).all()
    frame = pd.DataFrame(found, columns=["strategy", "venue", "status", "orders"])
    frame["outcome"] = frame["status"].map(OUTCOMES).fillna(frame["status"])
    return frame.groupby(["strategy", "venue", "outcome"], as_index=False)["orders"].sum()


def sankey_links(flow: pd.DataFrame) -> dict:
    """Node labels and link source/target/value for a Sankey: strategies, then venues, then outcomes."""
    if flow.empty:
        return {"labels": [], "source": [], "target": [], "value": []}
    labels = (list(dict.fromkeys(flow["strategy"])) + [f"@{v}" for v in dict.fromkeys(flow["venue"])]
              + list(dict.fromkeys(flow["outcome"])))
    index = {label: i for i, label in enumerate(labels)}
    first = flow.groupby(["strategy", "venue"], as_index=False)["orders"].sum()
    second = flow.groupby(["venue", "outcome"], as_index=False)["orders"].sum()
    source = [index[s] for s in first["strategy"]] + [index[f"@{v}"] for v in second["venue"]]
    target = [index[f"@{v}"] for v in first["venue"]] + [index[o] for o in second["outcome"]]
    value = [int(v) for v in first["orders"]] + [int(v) for v in second["orders"]]
    return {"labels": [label.lstrip("@") for label in labels], "source": source, "target": target, "value": value}


def fills_with_quote_age(since: datetime, until: datetime | None = None) -> pd.DataFrame:
    since, until = rb.window().clip(since, until or utcnow())
    newest_quote = (sa.select(sa.func.max(Quote.ts)).where(Quote.instrument_id == Fill.instrument_id,
                                                           Quote.ts <= Fill.filled_at)
                    .correlate(Fill).scalar_subquery())
    found = db.session.execute(
        sa.select(Venue.code, Fill.side, Fill.price, Fill.mid_at_fill, Fill.filled_at, newest_quote.label("quote_ts"))
        .join(Venue, Venue.id == Fill.venue_id)
        .where(Fill.filled_at >= since, Fill.filled_at < until, rb.price_ok(Fill.price),
               rb.optional_in_range(Fill.mid_at_fill, rb.MAX_ABS_PRICE))
        .order_by(Fill.filled_at.desc()).limit(MAX_FILLS)).all()
    frame = pd.DataFrame(found, columns=["venue", "side", "price", "mid", "filled_at", "quote_ts"])
    if frame.empty:
        return frame.assign(staleness_ms=[], spread_bps=[])
    age = pd.to_datetime(frame["filled_at"], utc=True, format="mixed") - pd.to_datetime(
        frame["quote_ts"], utc=True, format="mixed")
    frame["staleness_ms"] = age.dt.total_seconds() * 1000.0
    priced = frame["mid"].notna() & (frame["mid"] > 0)
    frame["spread_bps"] = np.nan
    if priced.any():
        part = frame[priced]
        frame.loc[priced, "spread_bps"] = np.asarray(kernels.effective_spread(
            np.where(part["side"] == "buy", 1.0, -1.0), part["price"].to_numpy(float), part["mid"].to_numpy(float)))
    return frame


def venue_quality(fills: pd.DataFrame) -> pd.DataFrame:
    """Per venue: fills, quote age at fill (median, p95 ms; fills with no earlier quote counted
    apart) and effective spread (mean, median bps)."""
    columns = ["venue", "fills", "staleness_p50_ms", "staleness_p95_ms", "no_quote_fills", "spread_mean_bps",
               "spread_median_bps"]
    if fills.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for venue, group in fills.groupby("venue"):
        age = group["staleness_ms"].dropna()
        rows.append({"venue": venue, "fills": len(group),
                     "staleness_p50_ms": float(age.median()) if len(age) else None,
                     "staleness_p95_ms": float(age.quantile(0.95)) if len(age) else None,
                     "no_quote_fills": int(group["staleness_ms"].isna().sum()),
                     "spread_mean_bps": float(group["spread_bps"].mean()) if group["spread_bps"].notna().any() else None,
                     "spread_median_bps": (float(group["spread_bps"].median())
                                           if group["spread_bps"].notna().any() else None)})
    return pd.DataFrame(rows, columns=columns)


def routing(period: timedelta) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    since = utcnow() - period
    fills = fills_with_quote_age(since)
    return sankey_links(order_flow(since)), venue_quality(fills), fills
