"""What an engine needs from the store to resume after a restart, and the checks that prove a
fault lost nothing.

`recovery_view` is read-only and bounded: the strategies' positions and cash (from `positions`, the
store's book), the first P&L snapshot of the day per strategy (so the daily loss limit survives a
restart), working orders (the orphans a fresh process must reconcile), the last prices and a short
price history per instrument (so the paper market and the strategies continue instead of starting
over), the engine's last report (its simulated date) and the highest id sequence number stored.

`sequence_report` proves "no report lost, no id reused": the paper engine numbers every id it
reports (`<prefix>-<run>-<seq>`, one sequence across signals, decisions, orders, fills and events),
so the stored numbers must be exactly first..last with no gap and no repeat."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from models import (EngineEvent, EngineState, Fill, Instrument, Order, PnlSnapshot, Position, Quote, RiskDecision,
                    Signal, Strategy, Venue, utcnow)

SEQ_ID = re.compile(r"^[A-Z]+-\d{12}-(\d+)$")
RESTART_KIND = "engine.restart"
HISTORY_POINTS = 60  # per instrument: more than the longest strategy window (30 steps)
MAX_WORKING = 5000  # an engine with more resting orders than this is not a paper engine
RECENT_ROWS = 500  # newest rows per table scanned for the highest sequence number
WORKING = ("new", "acknowledged", "partially_filled")
_STAMPS = ("created_at", "acknowledged_at", "partially_filled_at", "filled_at", "canceled_at", "rejected_at",
           "expired_at", "updated_at")
# (model, the column holding the engine's own id) for every kind that carries a sequence number
SEQUENCED = ((Signal, Signal.signal_id), (RiskDecision, RiskDecision.decision_id), (Order, Order.client_order_id),
             (Fill, Fill.exec_id), (EngineEvent, EngineEvent.event_id))


def seq_of(ref: str | None) -> int | None:
    match = SEQ_ID.match(ref or "")
    return int(match.group(1)) if match else None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def recovery_view(engine_id: str) -> dict:
    state = db.session.get(EngineState, engine_id)
    return {
        "engine_id": engine_id,
        "as_of": utcnow().isoformat(),
        "last_seq": last_seq(engine_id),
        "state": None if state is None else {"status": state.status, "pid": state.pid,
                                             "started_at": _iso(state.started_at),
                                             "heartbeat_at": _iso(state.heartbeat_at), "detail": state.detail or {}},
        "strategies": strategy_books(engine_id),
        **prices(),
        "working_orders": working_orders(engine_id),
    }


def last_seq(engine_id: str) -> int:
    """The highest sequence number among the newest stored ids of the engine. Ids are stored in the
    order they were numbered (the engine's outbox delivers in order), so the newest rows hold it."""
    best = 0
    for model, column in SEQUENCED:
        refs = db.session.execute(sa.select(column).where(model.engine_id == engine_id)
                                  .order_by(model.id.desc()).limit(RECENT_ROWS)).scalars()
        best = max([best, *(s for s in map(seq_of, refs) if s is not None)])
    return best


def strategy_books(engine_id: str) -> dict:
    """Per strategy code: allocation, cash, today's first equity and open/closed positions. Cash is
    what the allocation holds after paying for the open positions at cost, with realised P&L in
    and fees out: cash + the positions at cost = allocation + realised - fees."""
    today = datetime.combine(utcnow().date(), time(0), tzinfo=timezone.utc)
    rows = db.session.execute(
        sa.select(Strategy.code, Strategy.allocation, Instrument.symbol, Instrument.multiplier, Position.quantity,
                  Position.avg_cost, Position.realized_pnl, Position.fees)
        .join(Strategy, Strategy.id == Position.strategy_id).join(Instrument, Instrument.id == Position.instrument_id)
        .order_by(Strategy.code, Instrument.symbol)).all()
    books: dict[str, dict] = {}
    for code, allocation, symbol, multiplier, qty, cost, realized, fees in rows:
        book = books.setdefault(code, {"allocation": allocation, "cash": allocation, "positions": {}})
        book["positions"][symbol] = {"quantity": qty, "avg_cost": cost, "realized_pnl": realized, "fees": fees}
        book["cash"] += realized - fees - qty * cost * (multiplier or 1.0)
    for code, book in books.items():
        first = db.session.execute(
            sa.select(PnlSnapshot.equity).join(Strategy, Strategy.id == PnlSnapshot.strategy_id)
            .where(PnlSnapshot.engine_id == engine_id, Strategy.code == code, PnlSnapshot.ts >= today)
            .order_by(PnlSnapshot.ts).limit(1)).scalar()
        book["day_start_equity"] = first
    return books


def prices() -> dict:
    """The last quoted mid and the last HISTORY_POINTS mids (oldest first) per instrument: one
    indexed query per instrument (quotes' unique (instrument_id, ts) index), not a scan."""
    last, history = {}, {}
    for instrument_id, symbol in db.session.execute(sa.select(Instrument.id, Instrument.symbol)).all():
        rows = db.session.execute(sa.select(Quote.ts, Quote.bid, Quote.ask).where(Quote.instrument_id == instrument_id)
                                  .order_by(Quote.ts.desc()).limit(HISTORY_POINTS)).all()
        if not rows:
            continue
        last[symbol] = {"mid": (rows[0].bid + rows[0].ask) / 2, "ts": _iso(rows[0].ts)}
        history[symbol] = [(r.bid + r.ask) / 2 for r in reversed(rows)]
    return {"last_prices": last, "price_history": history}


def working_orders(engine_id: str) -> list[dict]:
    """The engine's orders still working in the store, as ingest items (parents before children)."""
    parent = aliased(Order)
    rows = db.session.execute(
        sa.select(Order, Strategy.code, Instrument.symbol, Venue.code, parent.client_order_id)
        .join(Strategy, Strategy.id == Order.strategy_id).join(Instrument, Instrument.id == Order.instrument_id)
        .outerjoin(Venue, Venue.id == Order.venue_id).outerjoin(parent, parent.id == Order.parent_id)
        .where(Order.engine_id == engine_id, Order.status.in_(WORKING))
        .order_by(Order.parent_id.is_not(None), Order.id).limit(MAX_WORKING)).all()
    out = []
    for order, strategy, symbol, venue, parent_id in rows:
        item = {"client_order_id": order.client_order_id, "parent_client_order_id": parent_id,
                "strategy": strategy, "instrument": symbol, "venue": venue, "side": order.side,
                "order_type": order.order_type, "quantity": order.quantity, "limit_price": order.limit_price,
                "filled_quantity": order.filled_quantity, "avg_fill_price": order.avg_fill_price,
                "status": order.status, "arrival_mid": order.arrival_mid}
        item.update({name: _iso(getattr(order, name)) for name in _STAMPS})
        out.append(item)
    return out


def restart_times(since_days: int = 30, limit: int = 500) -> list[datetime]:
    """When engines restarted (their `engine.restart` events), oldest first: the equity chart marks
    them so a restart never reads as a price move."""
    since = utcnow() - timedelta(days=since_days)
    rows = db.session.execute(sa.select(EngineEvent.ts).where(EngineEvent.kind == RESTART_KIND, EngineEvent.ts >= since,
                                                              EngineEvent.ts <= utcnow() + timedelta(minutes=5))
                              .order_by(EngineEvent.ts.desc()).limit(limit)).scalars().all()
    return sorted(rows)


@dataclass(frozen=True)
class SequenceReport:
    engine_id: str
    first: int
    last: int
    stored: int  # distinct sequence numbers stored
    missing: list[int] = field(default_factory=list)  # numbered by the engine, never stored: lost
    repeated: list[int] = field(default_factory=list)  # one number on two different ids: reused

    @property
    def ok(self) -> bool:
        return not self.missing and not self.repeated


def sequence_report(engine_id: str, since_seq: int = 1, limit: int = 1_000_000) -> SequenceReport:
    """Every sequence number the engine's stored ids carry from `since_seq` on: any gap is a report
    the engine made and the store never got; a number on two ids is a reused number."""
    if since_seq < 1:
        raise ValidationError("since_seq must be at least 1", field="since_seq")
    seen: dict[int, str] = {}
    repeated = set()
    for model, column in SEQUENCED:
        for ref in db.session.execute(sa.select(column).where(model.engine_id == engine_id).limit(limit)).scalars():
            seq = seq_of(ref)
            if seq is None or seq < since_seq:
                continue
            if seq in seen and seen[seq] != ref:
                repeated.add(seq)
            seen.setdefault(seq, ref)
    if not seen:
        return SequenceReport(engine_id, since_seq, since_seq - 1, 0)
    first, last = min(seen), max(seen)
    missing = [n for n in range(first, last + 1) if n not in seen]
    return SequenceReport(engine_id, first, last, len(seen), missing[:1000], sorted(repeated)[:1000])


CASH_TOLERANCE = 0.01  # currency units: float sums in another order may differ in the last digits
QUANTITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class BookCheck:
    engine_id: str
    seq: int  # the engine's sequence number both books are at
    compared: int  # cash and position entries compared
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def book_difference(engine_id: str) -> BookCheck | None:
    """The engine's live book (cash and open positions per strategy, in its last heartbeat's detail)
    against the store's, when both are at the same point: the heartbeat names the sequence number
    its book is at, had nothing left in its outbox, and the store's newest number is that one before
    and after reading the positions (so no batch landed in between, whatever the isolation level).
    None when they are not at the same point yet: the engine has reported since, ask again."""
    before = last_seq(engine_id)
    state = db.session.get(EngineState, engine_id)
    detail = (state.detail or {}) if state is not None else {}
    book, seq = detail.get("book"), detail.get("seq")
    if not isinstance(book, dict) or not isinstance(seq, int) or detail.get("outbox_pending") or before != seq:
        return None
    store = strategy_books(engine_id)
    if last_seq(engine_id) != seq:
        return None
    differences, compared = [], 0
    for code, mine in sorted(book.items()):
        theirs = store.get(code) or {"cash": None, "positions": {}}
        compared += 1
        if theirs["cash"] is None or abs(float(mine.get("cash", 0.0)) - theirs["cash"]) > CASH_TOLERANCE:
            differences.append(f"{code} cash: engine {mine.get('cash')}, store {theirs['cash']}")
        held = {s: p["quantity"] for s, p in theirs["positions"].items() if abs(p["quantity"]) > QUANTITY_TOLERANCE}
        engine_held = {s: float(q) for s, q in (mine.get("positions") or {}).items()}
        for symbol in sorted(set(held) | set(engine_held)):
            compared += 1
            if abs(engine_held.get(symbol, 0.0) - held.get(symbol, 0.0)) > QUANTITY_TOLERANCE:
                differences.append(f"{code} {symbol}: engine {engine_held.get(symbol, 0.0)}, "
                                   f"store {held.get(symbol, 0.0)}")
    return BookCheck(engine_id, seq, compared, differences)
