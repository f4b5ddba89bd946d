"""Execution quality (TCA): venue scorecards side by side, per strategy and per instrument, over a
period. Every measure comes from the TCA kernels; this module only reads and groups.

Conventions: slippage is versus the mid when the order arrived, positive = cost for buys and sells;
price improvement is versus the mid at the fill, positive = better than mid; markouts are the mid
h seconds after the fill versus the fill price, positive = the market moved our way; best-execution
share = of the parent orders split across two or more venues, the share where this venue's
average fill price was the best of the venues used."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from dashapp import kernels
from dashapp.extensions import db
from dashapp.services import rawsql
from dashapp.services import read_bounds as rb
from dashapp.services.errors import ValidationError
from models import Fill, Instrument, Order, Quote, Strategy, Venue, utcnow

MARKOUT_HORIZONS_S = (1, 5, 30)
MAX_FILLS = 50_000  # the newest fills of the period; enough for stable venue statistics


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or utcnow()
    since = since or until - timedelta(hours=24)
    if since >= until:
        raise ValidationError("the period must start before it ends", field="since")
    # Clipped to the accepted span: an open-ended or absurd period reads only plausible rows.
    return rb.window().clip(since, until)


# Rows with absurd magnitudes are left out of every measure (data quality lists them).
_ORDER_OK = (rb.qty_ok(Order.quantity), rb.in_range(Order.filled_quantity, rb.MAX_QTY),
             rb.optional_in_range(Order.avg_fill_price, rb.MAX_ABS_PRICE),
             rb.optional_in_range(Order.arrival_mid, rb.MAX_ABS_PRICE))
_FILL_OK = (rb.qty_ok(Fill.quantity), rb.price_ok(Fill.price),
            rb.optional_in_range(Fill.mid_at_arrival, rb.MAX_ABS_PRICE),
            rb.optional_in_range(Fill.mid_at_fill, rb.MAX_ABS_PRICE))


def child_orders(since, until, strategy: str | None = None, instrument: str | None = None) -> pd.DataFrame:
    """Orders sent to a venue (children, or parents routed directly) in the period."""
    venue, strat, inst = aliased(Venue), aliased(Strategy), aliased(Instrument)
    span = rb.window()
    # An acknowledgement outside the accepted span is unknown, not a latency of centuries.
    acknowledged = rb.guarded(Order.acknowledged_at, rb.in_time(Order.acknowledged_at, span)).label("acknowledged_at")
    stmt = (sa.select(Order.id, Order.parent_id, Order.status, Order.side, Order.quantity, Order.filled_quantity,
                      Order.avg_fill_price, Order.arrival_mid, Order.created_at, acknowledged,
                      venue.code.label("venue"), strat.code.label("strategy"), inst.symbol.label("instrument"))
            .join(venue, venue.id == Order.venue_id).join(strat, strat.id == Order.strategy_id)
            .join(inst, inst.id == Order.instrument_id)
            .where(Order.created_at >= since, Order.created_at < until, *_ORDER_OK))
    if strategy:
        stmt = stmt.where(strat.code == strategy)
    if instrument:
        stmt = stmt.where(inst.symbol == instrument)
    return _frame(db.session.execute(stmt.limit(MAX_FILLS * 2)))


def fills(since, until, strategy: str | None = None, instrument: str | None = None) -> pd.DataFrame:
    strat, inst = aliased(Strategy), aliased(Instrument)
    stmt = (sa.select(Fill.id, Fill.order_id, Fill.instrument_id, Fill.side, Fill.quantity, Fill.price,
                      Fill.mid_at_arrival, Fill.mid_at_fill, Fill.filled_at, Venue.code.label("venue"),
                      strat.code.label("strategy"), inst.symbol.label("instrument"))
            .join(Venue, Venue.id == Fill.venue_id).join(strat, strat.id == Fill.strategy_id)
            .join(inst, inst.id == Fill.instrument_id)
            .where(Fill.filled_at >= since, Fill.filled_at < until, *_FILL_OK)
            .order_by(Fill.filled_at.desc()).limit(MAX_FILLS))
    if strategy:
        stmt = stmt.where(strat.code == strategy)
    if instrument:
        stmt = stmt.where(inst.symbol == instrument)
    return _frame(db.session.execute(stmt))


def _frame(result) -> pd.DataFrame:
    # Plain tuples: pandas probes Row objects attribute by attribute, which costs more than the query.
    return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))


def _mids_after(frame: pd.DataFrame) -> pd.DataFrame:
    """Mid h seconds after each fill (the last quote at or before fill time + h)."""
    out = pd.DataFrame(index=frame.index, columns=[f"{h}s" for h in MARKOUT_HORIZONS_S], dtype=float)
    for instrument_id, group in frame.groupby("instrument_id"):
        start, end = group["filled_at"].min(), group["filled_at"].max() + timedelta(seconds=max(MARKOUT_HORIZONS_S))
        rows = rawsql.fetch(sa.select(Quote.ts, (Quote.bid + Quote.ask) / 2.0).where(
            Quote.instrument_id == instrument_id, Quote.ts >= start - timedelta(seconds=5), Quote.ts <= end,
            rb.price_ok(Quote.bid), rb.price_ok(Quote.ask)).order_by(Quote.ts))
        if not rows:
            continue
        quotes = pd.DataFrame(rows, columns=["ts", "mid"])
        quotes["ts"] = pd.to_datetime(quotes["ts"], utc=True, format="mixed")
        for h in MARKOUT_HORIZONS_S:
            probe = pd.DataFrame({"ts": pd.to_datetime(group["filled_at"], utc=True) + pd.Timedelta(seconds=h),
                                  "row": group.index}).sort_values("ts")
            merged = pd.merge_asof(probe, quotes, on="ts")
            out.loc[merged["row"].to_numpy(), f"{h}s"] = merged["mid"].to_numpy()
    return out


def _best_execution_share(orders: pd.DataFrame) -> pd.Series:
    split = orders[(orders["parent_id"].notna()) & (orders["avg_fill_price"].notna())].copy()
    if split.empty:
        return pd.Series(dtype=float)
    split["venues"] = split.groupby("parent_id")["venue"].transform("nunique")
    split = split[split["venues"] >= 2]
    if split.empty:
        return pd.Series(dtype=float)
    # Lower is better for a buy, higher for a sell: compare side-signed prices.
    split["signed"] = split["avg_fill_price"] * np.where(split["side"] == "buy", 1.0, -1.0)
    split["best"] = split["signed"] == split.groupby("parent_id")["signed"].transform("min")
    per_parent = split.groupby(["venue", "parent_id"])["best"].any().reset_index()
    return per_parent.groupby("venue")["best"].mean()


def scorecards(since: datetime | None = None, until: datetime | None = None, strategy: str | None = None,
               instrument: str | None = None, by: str = "venue") -> pd.DataFrame:
    """One row per venue (or per strategy / instrument with `by`), measures side by side."""
    if by not in ("venue", "strategy", "instrument"):
        raise ValidationError("group by venue, strategy or instrument", field="by")
    since, until = _period(since, until)
    orders, fills_ = child_orders(since, until, strategy, instrument), fills(since, until, strategy, instrument)
    if orders.empty:
        return pd.DataFrame()
    orders["latency_ms"] = (pd.to_datetime(orders["acknowledged_at"], utc=True)
                            - pd.to_datetime(orders["created_at"], utc=True)).dt.total_seconds() * 1000
    rows = []
    best = _best_execution_share(orders) if by == "venue" else pd.Series(dtype=float)
    if not fills_.empty:
        fills_["slippage_bps"] = kernels.arrival_slippage_bps(fills_["side"], fills_["price"],
                                                              fills_["mid_at_arrival"].fillna(fills_["price"]))
        fills_["improvement_bps"] = kernels.price_improvement_bps(fills_["side"], fills_["price"],
                                                                  fills_["mid_at_fill"].fillna(fills_["price"]))
        mids = _mids_after(fills_)
        have = mids.notna().all(axis=1)
        marks = pd.DataFrame(np.nan, index=fills_.index, columns=mids.columns)
        if have.any():
            marks.loc[have] = np.asarray(kernels.markouts(fills_.loc[have, "side"], fills_.loc[have, "price"],
                                                          mids.loc[have]))
        fills_ = fills_.join(marks.add_prefix("markout_"))
    for key, group in orders.groupby(by):
        f = fills_[fills_[by] == key] if not fills_.empty else fills_
        lat = group["latency_ms"].dropna()
        pct = kernels.latency_percentiles(lat.to_numpy()) if len(lat) else pd.Series([np.nan] * 3, index=[50, 95, 99])
        rows.append({
            by: key, "orders": len(group),
            "fill_rate": kernels.fill_rate(group["filled_quantity"].clip(upper=group["quantity"]), group["quantity"]),
            "reject_rate": float((group["status"] == "rejected").mean()),
            "latency_p50_ms": float(pct.iloc[0]), "latency_p95_ms": float(pct.iloc[1]),
            "latency_p99_ms": float(pct.iloc[2]), "fills": len(f),
            "avg_slippage_bps": float(f["slippage_bps"].mean()) if len(f) else np.nan,
            "price_improvement_bps": float(f["improvement_bps"].mean()) if len(f) else np.nan,
            **{f"markout_{h}s_bps": float(f[f"markout_{h}s"].mean()) if len(f) else np.nan
               for h in MARKOUT_HORIZONS_S},
            "best_execution_share": float(best.get(key, np.nan)) if by == "venue" else np.nan,
        })
    return pd.DataFrame(rows)


def distributions(since: datetime | None = None, until: datetime | None = None, strategy: str | None = None,
                  instrument: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fills with venue and slippage_bps, child orders with venue and latency_ms) for the charts."""
    since, until = _period(since, until)
    f = fills(since, until, strategy, instrument)
    o = child_orders(since, until, strategy, instrument)
    if not f.empty:
        f["slippage_bps"] = kernels.arrival_slippage_bps(f["side"], f["price"], f["mid_at_arrival"].fillna(f["price"]))
    if not o.empty:
        o["latency_ms"] = (pd.to_datetime(o["acknowledged_at"], utc=True)
                           - pd.to_datetime(o["created_at"], utc=True)).dt.total_seconds() * 1000
    return f, o
