"""Compliance figures from the desk's own orders and fills (internal best-execution monitoring, not a
regulatory filing). Conventions, so a reviewer can recompute every figure by hand:

- volume: executed notional, fill quantity x price x instrument multiplier, in instrument currency;
- instrument class: the instrument's asset class (equity, fx, option, index);
- order count (RTS 28): distinct orders with at least one fill at the venue in the period;
- passive / aggressive share: of the venue's fills, the share that added (maker) / took (taker) liquidity;
- price improvement: per fill, (arrival mid - price) / mid for a buy, (price - mid) / mid for a sell, in
  bps, weighted by notional (positive = better than the mid at arrival); fills without a mid are left out;
- fill rate: filled quantity / ordered quantity of the orders routed to the venue and created in the period;
- latency: median milliseconds from an order's creation to its acknowledgement, orders routed to the venue;
- Rule 606 categories: market; limit orders marketable at arrival (buy limit >= arrival mid, sell limit <=
  arrival mid); non-marketable limit; other (stop and the rest). Every order counts as non-directed.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from models import Account, Fill, Instrument, Order, Strategy, Venue

MAX_PERIOD_DAYS = 366
TOP_VENUES = 5
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=timezone.utc)

    @property
    def until(self) -> datetime:  # exclusive
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=timezone.utc)

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"


def period(start: date, end: date) -> Period:
    if end < start:
        raise ValidationError("the end date must not be before the start date", field="end")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError(f"a period is at most {MAX_PERIOD_DAYS} days", field="end")
    if start.year < 1990 or end.year > 2200:
        raise ValidationError("dates must lie between 1990 and 2200", field="start")
    return Period(start, end)


def quarter(text: str) -> tuple[Period, list[Period]]:
    """'2026Q2' -> the quarter and its three months."""
    found = _QUARTER.match(text or "")
    if not found:
        raise ValidationError("quarter must look like 2026Q2", field="quarter")
    year, q = int(found.group(1)), int(found.group(2))
    if not 1990 <= year <= 2200:
        raise ValidationError("quarter year must lie between 1990 and 2200", field="quarter")
    months = [Period(date(year, m, 1), date(year, m, calendar.monthrange(year, m)[1]))
              for m in range(3 * q - 2, 3 * q + 1)]
    return Period(months[0].start, months[-1].end), months


def _frame(stmt) -> pd.DataFrame:
    result = db.session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def fills_frame(p: Period) -> pd.DataFrame:
    stmt = (sa.select(Fill.id, Fill.exec_id, Fill.order_id, Fill.side, Fill.quantity, Fill.price, Fill.fee,
                      Fill.liquidity, Fill.mid_at_arrival, Fill.filled_at, Venue.code.label("venue"),
                      Instrument.symbol, Instrument.asset_class, Instrument.currency, Instrument.multiplier,
                      Account.code.label("account"), Strategy.code.label("strategy"), Order.engine_id,
                      Order.client_order_id, Order.order_type, Order.arrival_mid)
            .join(Order, Order.id == Fill.order_id).join(Venue, Venue.id == Fill.venue_id)
            .join(Instrument, Instrument.id == Fill.instrument_id).join(Account, Account.id == Order.account_id)
            .join(Strategy, Strategy.id == Fill.strategy_id)
            .where(Fill.filled_at >= p.since, Fill.filled_at < p.until).order_by(Fill.filled_at, Fill.id))
    frame = _frame(stmt)
    if not frame.empty:
        frame["notional"] = frame["quantity"] * frame["price"] * frame["multiplier"]
        mid = frame["mid_at_arrival"].where(frame["mid_at_arrival"].notna(), frame["arrival_mid"]).astype(float)
        sign = np.where(frame["side"] == "buy", 1.0, -1.0)
        frame["improvement_bps"] = sign * (mid - frame["price"]) / mid * 1e4
    return frame


def orders_frame(p: Period) -> pd.DataFrame:
    stmt = (sa.select(Order.id, Order.side, Order.order_type, Order.quantity, Order.limit_price,
                      Order.filled_quantity, Order.arrival_mid, Order.created_at, Order.acknowledged_at,
                      Venue.code.label("venue"), Instrument.asset_class)
            .outerjoin(Venue, Venue.id == Order.venue_id).join(Instrument, Instrument.id == Order.instrument_id)
            .where(Order.created_at >= p.since, Order.created_at < p.until, Order.venue_id.is_not(None)))
    frame = _frame(stmt)
    if not frame.empty:
        ack = pd.to_datetime(frame["acknowledged_at"], utc=True)
        frame["latency_ms"] = (ack - pd.to_datetime(frame["created_at"], utc=True)).dt.total_seconds() * 1000
    return frame


def _weighted(values: pd.Series, weights: pd.Series) -> float | None:
    ok = values.notna() & weights.notna()
    total = float(weights[ok].sum())
    return float((values[ok] * weights[ok]).sum() / total) if total > 0 else None


def rts28(p: Period) -> pd.DataFrame:
    """One row per (instrument class, venue), ranked by volume within the class."""
    fills, orders = fills_frame(p), orders_frame(p)
    columns = ["asset_class", "rank", "venue", "volume", "volume_share", "orders", "order_share", "fills",
               "passive_share", "aggressive_share", "price_improvement_bps", "improved_share", "fill_rate",
               "latency_ms"]
    if fills.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for asset_class, group in fills.groupby("asset_class", sort=True):
        class_volume, class_orders = group["notional"].sum(), group["order_id"].nunique()
        for venue, at in group.groupby("venue"):
            routed = orders[(orders["venue"] == venue) & (orders["asset_class"] == asset_class)] \
                if not orders.empty else orders
            ordered = float(routed["quantity"].sum()) if len(routed) else 0.0
            improved = at["improvement_bps"].notna()
            rows.append({
                "asset_class": asset_class, "venue": venue, "volume": float(at["notional"].sum()),
                "volume_share": float(at["notional"].sum() / class_volume) if class_volume else None,
                "orders": int(at["order_id"].nunique()),
                "order_share": at["order_id"].nunique() / class_orders if class_orders else None,
                "fills": len(at), "passive_share": float((at["liquidity"] == "maker").mean()),
                "aggressive_share": float((at["liquidity"] == "taker").mean()),
                "price_improvement_bps": _weighted(at["improvement_bps"], at["notional"]),
                "improved_share": float((at.loc[improved, "improvement_bps"] > 0).mean()) if improved.any() else None,
                "fill_rate": float(routed["filled_quantity"].sum() / ordered) if ordered else None,
                "latency_ms": float(routed["latency_ms"].median()) if len(routed) and routed["latency_ms"].notna().any()
                else None})
    frame = pd.DataFrame(rows).sort_values(["asset_class", "volume"], ascending=[True, False])
    frame["rank"] = frame.groupby("asset_class").cumcount() + 1
    return frame[columns].reset_index(drop=True)


def top_venues(table: pd.DataFrame, by: str = "volume", n: int = TOP_VENUES) -> pd.DataFrame:
    if table.empty:
        return table
    return (table.sort_values(["asset_class", by, "venue"], ascending=[True, False, True])
            .groupby("asset_class").head(n).reset_index(drop=True))


def order_category(row) -> str:
    if row["order_type"] == "market":
        return "market"
    if row["order_type"] == "limit":
        mid, limit = row["arrival_mid"], row["limit_price"]
        if mid is None or limit is None or pd.isna(mid) or pd.isna(limit):
            return "non_marketable_limit"
        marketable = limit >= mid if row["side"] == "buy" else limit <= mid
        return "marketable_limit" if marketable else "non_marketable_limit"
    return "other"


CATEGORIES = ("market", "marketable_limit", "non_marketable_limit", "other")


def rule606_month(p: Period) -> dict:
    """One month: share of non-directed orders by category, then per venue its share of all orders and
    the mix of categories it received (counts and percentages)."""
    orders = orders_frame(p)
    if orders.empty:
        return {"period": p, "total": 0, "category_pct": {c: 0.0 for c in CATEGORIES}, "venues": []}
    orders["category"] = orders.apply(order_category, axis=1)
    total = len(orders)
    pct = {c: float((orders["category"] == c).sum() / total * 100) for c in CATEGORIES}
    per_category = {c: int((orders["category"] == c).sum()) for c in CATEGORIES}
    venues = []
    for venue, group in orders.groupby("venue"):
        counts = {c: int((group["category"] == c).sum()) for c in CATEGORIES}
        venues.append({"venue": venue, "orders": len(group), "order_pct": len(group) / total * 100,
                       "counts": counts,  # pct: the venue's share of all orders of each category
                       "pct": {c: counts[c] / per_category[c] * 100 if per_category[c] else 0.0 for c in CATEGORIES}})
    venues.sort(key=lambda v: (-v["orders"], v["venue"]))
    return {"period": p, "total": total, "category_pct": pct, "venues": venues}


def rule606(quarter_text: str) -> dict:
    whole, months = quarter(quarter_text)
    return {"quarter": quarter_text, "period": whole, "months": [rule606_month(m) for m in months]}
