"""What the Command Center and Trading pages show, computed from the store."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import rawsql
from dashapp.services import read_bounds as rb
from dashapp.services.positions import unrealized_pnl
from models import (Fill, Instrument, Order, PnlSnapshot, Position, Quote, RiskDecision, Signal,
                    Strategy, Venue, utcnow)


def equity_curve(since_days: int = 30) -> pd.DataFrame:
    """Total equity over time (sum over strategies of each one's latest snapshot at every timestamp),
    with its drawdown from the running peak (<= 0)."""
    from dashapp.services.engine_recovery import restart_times

    stamps, total = equity_points(since_days)
    if not len(total):
        return pd.DataFrame(columns=["ts", "equity", "drawdown"])
    peak = np.maximum.accumulate(total)
    curve = pd.DataFrame({"ts": stamps, "equity": total, "drawdown": total / peak - 1.0})
    curve.attrs["restarts"] = restart_times(since_days)  # marked on the equity figure (figures.equity)
    return curve


def equity_points(since_days: int = 30) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The equity curve as arrays, (timestamps, total equity), for callers that only need a few
    numbers from it (the risk monitor, every refresh) and not a DataFrame."""
    span = rb.window()
    since, until = span.clip(utcnow() - timedelta(days=since_days), None)
    # Future-dated or absurd snapshots are left out: one would be "the latest equity" for ever.
    rows = rawsql.fetch(sa.select(PnlSnapshot.ts, PnlSnapshot.strategy_id, PnlSnapshot.equity)
                        .where(PnlSnapshot.ts.between(since, until), rb.amount_ok(PnlSnapshot.equity))
                        .order_by(PnlSnapshot.ts))
    if not rows:
        return pd.DatetimeIndex([], tz="UTC"), np.empty(0)
    ts, strategy_id, equity = zip(*rows)
    # (timestamp x strategy) grid by scatter, not pivot_table (its machinery cost more than the
    # query). Rows come in ts order, so a later write to the same cell is the "last" snapshot.
    t_code, stamps = pd.factorize(pd.to_datetime(pd.Index(ts), utc=True, format="mixed"), sort=True)
    s_code, _ = pd.factorize(pd.Index(strategy_id))
    wide = np.full((len(stamps), s_code.max() + 1), np.nan)
    wide[t_code, s_code] = np.asarray(equity, dtype=float)
    # forward-fill each strategy's last known equity down the grid
    filled = np.where(np.isnan(wide), 0, np.arange(len(stamps))[:, None])
    wide = wide[np.maximum.accumulate(filled, axis=0), np.arange(wide.shape[1])]
    seen = ~np.isnan(wide).all(axis=1)
    return stamps[seen], np.nansum(wide, axis=1)[seen]


def daily_pnl(curve: pd.DataFrame) -> pd.DataFrame:
    if curve.empty:
        return pd.DataFrame(columns=["day", "pnl"])
    stamps = pd.to_datetime(curve["ts"], utc=True)
    # However far apart the first and last points are, at most MAX_BUCKETS days are bucketed.
    curve = curve[stamps >= rb.bucket_start(stamps.min(), stamps.max(), "1D")]
    by_day = curve.set_index(pd.to_datetime(curve["ts"], utc=True))["equity"].resample("1D").last().dropna()
    return pd.DataFrame({"day": by_day.index.date[1:], "pnl": np.diff(by_day.to_numpy())})


def last_prices(instrument_ids=None) -> dict[int, float]:
    """Latest mid per instrument: one indexed lookup each on (instrument_id, ts), which stays
    cheap however many quotes are stored (a GROUP BY over the quotes table would scan it all).
    The lookups are correlated subqueries of ONE statement: one round trip, not one per instrument.
    A future-dated or absurd quote is skipped (it would otherwise be "the latest" for ever)."""
    latest = (sa.select((Quote.bid + Quote.ask) / 2.0)
              .where(Quote.instrument_id == Instrument.id, Quote.ts <= rb.window().latest,
                     rb.price_ok(Quote.bid), rb.price_ok(Quote.ask))
              .order_by(Quote.ts.desc()).limit(1).correlate(Instrument).scalar_subquery())
    stmt = sa.select(Instrument.id, latest)
    if instrument_ids is not None:
        stmt = stmt.where(Instrument.id.in_([int(i) for i in instrument_ids]))
    return {instrument_id: mid for instrument_id, mid in db.session.execute(stmt).all() if mid is not None}


def open_positions() -> pd.DataFrame:
    """Positions valued at the latest mids; a position with an absurd quantity or cost (outside
    services/bounds.py) is left out, so it cannot turn every total into inf (data quality lists it)."""
    rows = db.session.execute(
        sa.select(Position.id, Strategy.code.label("strategy"), Instrument.id.label("instrument_id"),
                  Instrument.symbol.label("instrument"), Instrument.asset_class, Instrument.sector,
                  Instrument.currency, Instrument.multiplier, Position.quantity, Position.avg_cost,
                  Position.realized_pnl, Position.fees)
        .join(Strategy, Strategy.id == Position.strategy_id).join(Instrument, Instrument.id == Position.instrument_id)
        .where(*POSITION_OK).order_by(Instrument.symbol)).all()
    frame = pd.DataFrame([r._mapping for r in rows])
    if frame.empty:
        return pd.DataFrame(columns=["strategy", "instrument", "sector", "quantity", "avg_cost", "last", "market_value",
                                     "unrealized_pnl", "realized_pnl", "net_pnl"])
    prices = last_prices()
    frame["last"] = frame["instrument_id"].map(prices)
    frame["market_value"] = frame["quantity"] * frame["last"].fillna(frame["avg_cost"]) * frame["multiplier"]
    frame["unrealized_pnl"] = [unrealized_pnl(q, c, p if pd.notna(p) else None, m) for q, c, p, m in
                               zip(frame["quantity"], frame["avg_cost"], frame["last"], frame["multiplier"])]
    frame["net_pnl"] = frame["realized_pnl"] + frame["unrealized_pnl"] - frame["fees"]
    return frame


POSITION_OK = (rb.in_range(Position.quantity, rb.MAX_QTY), rb.in_range(Position.avg_cost, rb.MAX_ABS_PRICE),
               rb.amount_ok(Position.realized_pnl), rb.amount_ok(Position.fees))


def exposure_by_sector(positions: pd.DataFrame) -> pd.DataFrame:
    if positions.empty:
        return pd.DataFrame(columns=["sector", "net", "gross"])
    live = positions[positions["quantity"] != 0].assign(gross=lambda f: f["market_value"].abs())
    grouped = live.groupby(live["sector"].replace("", "Unclassified"))
    return grouped.agg(net=("market_value", "sum"), gross=("gross", "sum")).reset_index()


def notional_by_venue(hours: int = 24) -> pd.DataFrame:
    since, until = rb.window().clip(utcnow() - timedelta(hours=hours), None)
    # Bounded rows only: a product of absurd floats overflows in PostgreSQL and fails the query.
    rows = db.session.execute(
        sa.select(Venue.code, sa.func.sum(Fill.quantity * Fill.price * Instrument.multiplier), sa.func.count())
        .join(Venue, Venue.id == Fill.venue_id).join(Instrument, Instrument.id == Fill.instrument_id)
        .where(Fill.filled_at.between(since, until), rb.qty_ok(Fill.quantity), rb.price_ok(Fill.price),
               rb.in_range(Instrument.multiplier, rb.MAX_QTY))
        .group_by(Venue.code).order_by(Venue.code)).all()
    return pd.DataFrame(rows, columns=["venue", "notional", "fills"])


def order_throughput(minutes: int = 60) -> pd.DataFrame:
    """Orders created per minute over the last `minutes`."""
    span = rb.window()
    since, until = span.clip(utcnow() - timedelta(minutes=minutes), None)
    since = rb.bucket_start(since, until, "1min")
    stamps = db.session.execute(sa.select(Order.created_at).where(Order.created_at.between(since, until))
                                ).scalars().all()
    if not stamps:
        return pd.DataFrame(columns=["minute", "orders"])
    series = pd.Series(1, index=pd.to_datetime(stamps, utc=True)).resample("1min").sum()
    return pd.DataFrame({"minute": series.index, "orders": series.to_numpy()})


def recent_blocks(limit: int = 10) -> list[dict]:
    rows = db.session.execute(
        sa.select(RiskDecision.ts, RiskDecision.decision, RiskDecision.rule, RiskDecision.reason,
                  Instrument.symbol, Strategy.code, RiskDecision.requested_qty, RiskDecision.allowed_qty)
        .join(Instrument, Instrument.id == RiskDecision.instrument_id)
        .join(Strategy, Strategy.id == RiskDecision.strategy_id)
        .where(RiskDecision.decision != "allow", rb.in_time(RiskDecision.ts, rb.window()))
        .order_by(RiskDecision.ts.desc()).limit(limit)).all()
    return [{"ts": r[0].isoformat(), "decision": r[1], "rule": r[2], "reason": r[3], "instrument": r[4],
             "strategy": r[5], "requested": r[6], "allowed": r[7]} for r in rows]


def recent_signals(limit: int = 50) -> list[dict]:
    rows = db.session.execute(
        sa.select(Signal.ts, Strategy.code, Instrument.symbol, Signal.direction, Signal.confidence)
        .join(Strategy, Strategy.id == Signal.strategy_id).join(Instrument, Instrument.id == Signal.instrument_id)
        .where(rb.in_time(Signal.ts, rb.window())).order_by(Signal.ts.desc()).limit(limit)).all()
    return [{"ts": r[0].isoformat(), "strategy": r[1], "instrument": r[2],
             "direction": {1: "long", -1: "short", 0: "flat"}[r[3]], "confidence": r[4]} for r in rows]


def strategy_allocation() -> list[dict]:
    rows = db.session.execute(sa.select(Strategy.code, Strategy.kind, Strategy.allocation, Strategy.active)
                              .order_by(Strategy.code)).all()
    return [{"strategy": r[0], "kind": r[1], "allocation": r[2], "active": r[3]} for r in rows]


def risk_state() -> tuple[str, list[str]]:
    """OK / WARNING / CRITICAL with the reasons and notes: the one definition in services.risk.state,
    which the Risk War Room shows too."""
    from dashapp.services.risk import state

    current = state.current()
    return current.level, current.reasons + current.notes
