"""A small fixed book for the governance tests: reference rows, then orders and fills written directly
(the tests' figures are computed by hand from exactly these rows)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dashapp.extensions import db
from models import Account, EngineEvent, Fill, Instrument, Order, Quote, Strategy, Venue

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)  # a fixed clock: runs take `now=NOW`


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def reference() -> dict:
    """Two accounts, one strategy, an equity and an FX instrument, two venues; returns their ids."""
    acc1, acc2 = Account(code="ACC1", name="Desk one"), Account(code="ACC2", name="Desk two")
    db.session.add_all([acc1, acc2])
    db.session.flush()
    strat = Strategy(code="S1", name="Strategy one", account_id=acc1.id)
    eq = Instrument(symbol="AAPL", asset_class="equity")
    fx = Instrument(symbol="EURUSD", asset_class="fx")
    xnas = Venue(code="XNAS", name="Nasdaq", kind="exchange")
    lp1 = Venue(code="LP1", name="Liquidity provider one", kind="lp")
    db.session.add_all([strat, eq, fx, xnas, lp1])
    db.session.commit()
    return {"acc1": acc1.id, "acc2": acc2.id, "strategy": strat.id, "eq": eq.id, "fx": fx.id,
            "xnas": xnas.id, "lp1": lp1.id}


_seq = {"n": 0}


def add_order(ref: dict, when: datetime, *, account: str = "acc1", instrument: str = "eq", venue: str = "xnas",
              side: str = "buy", qty: float = 100, order_type: str = "market", limit_price: float | None = None,
              status: str = "filled", filled: float | None = None, arrival_mid: float | None = 100.0,
              ack_ms: float | None = 10.0) -> Order:
    _seq["n"] += 1
    filled = qty if filled is None and status == "filled" else (filled or 0.0)
    order = Order(engine_id="e1", client_order_id=f"o{_seq['n']}", strategy_id=ref["strategy"],
                  account_id=ref[account], instrument_id=ref[instrument], venue_id=ref[venue], side=side,
                  order_type=order_type, quantity=qty, limit_price=limit_price, filled_quantity=filled,
                  status=status, arrival_mid=arrival_mid, created_at=when, updated_at=when,
                  acknowledged_at=when + timedelta(milliseconds=ack_ms) if ack_ms is not None else None)
    db.session.add(order)
    db.session.flush()
    return order


def add_fill(ref: dict, order: Order, when: datetime, qty: float, price: float, *, liquidity: str = "taker",
             venue: str | None = None, mid_at_arrival: float | None = 100.0, fee: float = 0.0) -> Fill:
    _seq["n"] += 1
    fill = Fill(engine_id="e1", exec_id=f"x{_seq['n']}", order_id=order.id, instrument_id=order.instrument_id,
                venue_id=ref[venue] if venue else order.venue_id, strategy_id=order.strategy_id, side=order.side,
                quantity=qty, price=price, fee=fee, liquidity=liquidity, mid_at_arrival=mid_at_arrival,
                mid_at_fill=mid_at_arrival, filled_at=when)
    db.session.add(fill)
    db.session.flush()
    return fill


def add_quote(ref: dict, when: datetime, instrument: str = "eq") -> Quote:
    quote = Quote(instrument_id=ref[instrument], ts=when, bid=99.0, ask=101.0)
    db.session.add(quote)
    db.session.flush()
    return quote


def add_event(when: datetime, message: str = "tick") -> EngineEvent:
    _seq["n"] += 1
    event = EngineEvent(engine_id="e1", event_id=f"ev{_seq['n']}", ts=when, level="info", kind="test",
                        message=message, data={})
    db.session.add(event)
    db.session.flush()
    return event


def seed_screenshot_compliance() -> None:
    """The Compliance page's grids have something to show: two report runs with files, a legal hold, a
    retention run over old quotes (the screenshot script calls this after seeding its book)."""
    import uuid

    from dashapp.services.governance import compliance_runs, holds, retention
    from models import Job, utcnow

    now = utcnow()
    ref = {"eq": db.session.execute(db.select(Instrument.id).order_by(Instrument.id)).scalar()}
    for i in range(6):
        add_quote(ref, now - timedelta(days=45 + i))
    db.session.commit()
    holds.create_hold("risk-officer", "Inquiry 2026-14", "regulator request on AAPL routing",
                      [{"kind": "orders", "instrument_id": ref["eq"]}, {"kind": "quotes", "time_to": (
                          now - timedelta(days=50)).isoformat()}])
    retention.run("quotes", "scheduler")
    quarter = f"{now.year}Q{(now.month - 1) // 3 + 1}"
    for report, params in (("rule606", {"quarter": quarter}),
                           ("rts28", {"start": (now - timedelta(days=90)).date(), "end": now.date()})):
        job = Job(id=str(uuid.uuid4()), job_type=compliance_runs.JOB_TYPE, state="succeeded", queue="reports",
                  params={"report": report, **{k: str(v) for k, v in params.items()}}, created_by="risk-officer",
                  created_at=utcnow(), progress=100.0, message="done")
        db.session.add(job)
        db.session.commit()
        job.result = compliance_runs.produce(job.id, report, **params)
        db.session.commit()
