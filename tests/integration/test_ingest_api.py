"""/api/v1/ingest: authenticated, validated at the edge, atomic per batch, idempotent."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import tokens, users
from models import Fill, Instrument, Order, Position, Quote
from tests.support.trading import T0, fill, iso, order
from tests.support.web import PASSWORD


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def test_reference_data_and_options_are_stored(api):
    option = db.session.execute(sa.select(Instrument).where(Instrument.asset_class == "option")).scalar_one()
    underlying = db.session.get(Instrument, option.underlying_id)
    assert underlying.symbol == "AAPL" and option.strike == 200 and option.option_right == "C"
    assert option.multiplier == 100


def test_bad_batch_is_refused_whole_and_names_each_item_and_field(api):
    good = order("o-1")
    bad_qty = order("o-2", qty=-5)
    bad_side = order("o-3", side="hold")
    response = api("orders", [good, bad_qty, bad_side])
    assert response.status_code == 422
    body = response.json
    assert "nothing was stored" in body["message"]
    named = {(d["index"], d["field"]) for d in body["details"]}
    assert (1, "quantity") in named and (2, "side") in named
    assert count(Order) == 0, "the good item of a refused batch must not be stored"


def test_unknown_reference_refuses_the_batch(api):
    response = api("orders", [order("o-1"), order("o-2", instrument="NOPE")])
    assert response.status_code == 422
    assert response.json["details"] == [{"index": 1, "field": "instrument", "message": "unknown instrument 'NOPE'"}]
    assert count(Order) == 0


def test_naive_timestamps_and_crossed_quotes_are_refused(api):
    response = api("quotes", [{"instrument": "AAPL", "ts": "2026-03-02T14:30:00", "bid": 1, "ask": 1.1},
                              {"instrument": "AAPL", "ts": iso(), "bid": 2, "ask": 1.9}])
    assert response.status_code == 422
    messages = " ".join(d["message"] for d in response.json["details"])
    assert "timezone" in messages and "crossed" in messages
    assert count(Quote) == 0


def test_repeated_batch_is_stored_once(api):
    batch = [order("o-1"), order("o-2", side="sell", qty=50, minutes=1)]
    first = api("orders", batch).json
    second = api("orders", batch).json
    assert (first["stored"], second["stored"], second["duplicates"] + second["updated"]) == (2, 0, 2)
    fills = [fill("x-1", "o-1", 60, 190.1), fill("x-2", "o-1", 40, 190.2)]
    assert api("fills", fills).json["stored"] == 2
    again = api("fills", fills).json
    assert again["stored"] == 0 and again["duplicates"] == 2
    assert count(Fill) == 2
    position = db.session.execute(sa.select(Position)).scalar_one()
    assert position.quantity == pytest.approx(100)  # not 200: the repeat did not move the position


def test_order_lifecycle_updates_in_place_and_keeps_timestamps(api):
    api("orders", [order("o-1")])
    api("orders", [order("o-1", status="acknowledged", minutes=0)])
    api("orders", [order("o-1", status="filled", minutes=1, filled_quantity=100, avg_fill_price=190.5)])
    # A late, older update must not roll the order back.
    api("orders", [order("o-1", status="acknowledged", minutes=0)])
    row = db.session.execute(sa.select(Order)).scalar_one()
    db.session.refresh(row)
    assert row.status == "filled" and row.filled_quantity == 100
    assert row.acknowledged_at is not None and row.filled_at is not None


def test_child_orders_link_to_parent(api):
    api("orders", [order("parent-1", qty=300, venue=None),
                   order("child-1", parent_client_order_id="parent-1", venue="LP1"),
                   order("child-2", parent_client_order_id="parent-1")])
    parent = db.session.execute(sa.select(Order).where(Order.client_order_id == "parent-1")).scalar_one()
    children = db.session.execute(sa.select(Order).where(Order.parent_id == parent.id)).scalars().all()
    assert sorted(c.client_order_id for c in children) == ["child-1", "child-2"]
    response = api("orders", [order("child-3", parent_client_order_id="ghost")])
    assert response.status_code == 422 and response.json["details"][0]["field"] == "parent_client_order_id"


def test_positions_realise_pnl_when_reducing(api):
    api("orders", [order("b1"), order("s1", side="sell", qty=150, minutes=1)])
    api("fills", [fill("f1", "b1", 100, 100.0, fee=1.0), fill("f2", "s1", 150, 110.0, minutes=2, fee=1.5)])
    position = db.session.execute(sa.select(Position)).scalar_one()
    assert position.quantity == pytest.approx(-50)
    assert position.realized_pnl == pytest.approx(1000.0)  # 100 x (110 - 100)
    assert position.avg_cost == pytest.approx(110.0)  # flipped short at the fill price
    assert position.fees == pytest.approx(2.5)


def test_ingest_needs_a_token_with_ingest_permission(api, server):
    viewer = users.create_user("test", "looker", PASSWORD, "viewer")
    _, viewer_secret = tokens.create_token("test", viewer.id, "read only")
    assert api("quotes", [{"instrument": "AAPL", "ts": iso(), "bid": 1, "ask": 1.1}], token=viewer_secret).status_code == 403
    assert api("quotes", [{"instrument": "AAPL", "ts": iso(), "bid": 1, "ask": 1.1}], token="tdc_bad").status_code == 401
    assert count(Quote) == 0


def test_bad_envelope_names_the_problem(api):
    assert api("quotes", []).json["field"] == "items"
    assert api("nonsense", [{"a": 1}]).json["field"] == "kind"
    assert api("quotes", [{"instrument": "AAPL", "ts": iso(), "bid": 1, "ask": 1.1}], engine_id="bad id!").json["field"] == "engine_id"


def test_engine_state_keeps_newest_heartbeat(api):
    from models import EngineState

    api("engine_state", [{"status": "running", "stage": "signals", "heartbeat_at": iso(5)}])
    api("engine_state", [{"status": "stopped", "stage": "", "heartbeat_at": iso(1)}])  # older, ignored
    state = db.session.get(EngineState, "paper-1")
    db.session.refresh(state)
    assert state.status == "running" and state.stage == "signals"


def test_every_stream_kind_stores_what_was_sent(api):
    from models import Bar, EngineEvent, PnlSnapshot, RiskDecision, Signal

    batches = {
        "quotes": [{"instrument": " AAPL ", "ts": iso(), "bid": 190.0, "ask": 190.1, "bid_size": 300},
                   {"instrument": "XOM", "ts": "2026-03-02T16:30:00+02:00", "bid": 110, "ask": 110.5}],
        "bars": [{"instrument": "AAPL", "interval": "1m", "ts": iso(), "open": 1, "high": 2, "low": 0.5, "close": 1.5}],
        "signals": [{"signal_id": "s1", "strategy": "MOM", "instrument": "AAPL", "ts": iso(), "direction": -1,
                     "confidence": 0.25}],
        "risk_decisions": [{"decision_id": "d1", "ts": iso(), "strategy": "MR", "instrument": "XOM",
                            "decision": "scale", "requested_qty": 100, "allowed_qty": 50, "rule": "gross"}],
        "events": [{"event_id": "e1", "ts": iso(), "kind": "order.routed", "order_client_id": "o-1",
                    "data": {"venue": "XNAS", "legs": [1, 2]}}],
        "pnl_snapshots": [{"strategy": "MOM", "ts": iso(), "equity": 1e6, "net_exposure": -5.0}],
    }
    for kind, items in batches.items():
        response = api(kind, items)
        assert response.status_code == 200 and response.json["stored"] == len(items), (kind, response.json)
    aapl = db.session.execute(sa.select(Instrument).where(Instrument.symbol == "AAPL")).scalar_one()
    # Found by the ORM's own timestamp comparison: ingest stores times exactly as the ORM does.
    quote = db.session.execute(sa.select(Quote).where(Quote.ts == T0, Quote.instrument_id == aapl.id)).scalar_one()
    assert (quote.instrument_id, quote.bid, quote.bid_size, quote.ask_size) == (aapl.id, 190.0, 300, None)
    assert db.session.execute(sa.select(Quote.ts).where(Quote.bid == 110)).scalar_one() == T0  # +02:00 -> UTC
    assert db.session.execute(sa.select(Bar.interval, Bar.volume)).one() == ("1m", 0.0)
    assert db.session.execute(sa.select(Signal.direction, Signal.confidence, Signal.engine_id)).one() == (-1, 0.25,
                                                                                                        "paper-1")
    decision = db.session.execute(sa.select(RiskDecision)).scalar_one()
    assert (decision.decision, decision.allowed_qty, decision.rule, decision.client_order_id) == ("scale", 50, "gross",
                                                                                                  None)
    event = db.session.execute(sa.select(EngineEvent)).scalar_one()
    assert event.data == {"venue": "XNAS", "legs": [1, 2]} and event.level == "info" and event.ts == T0
    snapshot = db.session.execute(sa.select(PnlSnapshot)).scalar_one()
    assert (snapshot.equity, snapshot.net_exposure, snapshot.realized_pnl) == (1e6, -5.0, 0.0)


def test_partly_resent_batch_stores_only_the_new_items(api):
    def quote(minutes):
        return {"instrument": "AAPL", "ts": iso(minutes), "bid": 1, "ask": 1.1}

    assert api("quotes", [quote(0), quote(1)]).json["stored"] == 2
    # One item already stored: the batch still goes in (atomically), the stored one is skipped.
    again = api("quotes", [quote(1), quote(2), quote(3), quote(3)]).json
    assert (again["stored"], again["duplicates"]) == (2, 2)
    assert count(Quote) == 4
    assert api("quotes", [quote(6), quote(6)]).json["stored"] == 1  # repeated within one batch
    # A refused batch that overlaps what is stored changes nothing either.
    assert api("quotes", [quote(4), {**quote(5), "instrument": "NOPE"}]).status_code == 422
    assert count(Quote) == 5


def test_an_order_reported_twice_in_one_batch_ends_at_its_newest_state(api):
    first = api("orders", [order("o-1"), order("o-1", status="filled", minutes=1, filled_quantity=100,
                                                     avg_fill_price=190.5)]).json
    assert (first["stored"], first["updated"]) == (1, 1)
    row = db.session.execute(sa.select(Order)).scalar_one()
    assert row.status == "filled" and row.created_at == T0 and row.filled_at is not None
    # Newest first, then a stale one: the stale report changes nothing and is counted as a duplicate.
    second = api("orders", [order("o-2", status="acknowledged", minutes=2), order("o-2")]).json
    assert (second["stored"], second["updated"], second["duplicates"]) == (1, 0, 1)
    stale = api("orders", [order("o-1", status="acknowledged", minutes=0)]).json
    assert (stale["updated"], stale["duplicates"]) == (0, 1)
    statuses = dict(db.session.execute(sa.select(Order.client_order_id, Order.status)).all())
    assert statuses == {"o-1": "filled", "o-2": "acknowledged"}


def test_body_must_be_a_json_object(api, server):
    engine = users.find_by_username("paper-engine")
    _, secret = tokens.create_token("test", engine.id, "raw")
    client = server.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for data, content_type in (("[1, 2]", "application/json"), ("{not json", "application/json"),
                               ('{"engine_id": "e", "items": []}', "text/plain")):
        response = client.post("/api/v1/ingest/quotes", data=data, content_type=content_type, headers=headers)
        assert response.status_code == 422 and response.json["field"] == "body", data


@pytest.mark.parametrize("db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_quote_ingest_holds_its_instruments_until_it_commits(api, server, db_backend):
    """Quotes have no foreign key (DECISIONS D21): while a batch's transaction is open, the
    instruments it resolved cannot be re-keyed or deleted by anyone else."""
    from dashapp.services.ingest import resolve

    assert api("quotes", [{"instrument": "XOM", "ts": iso(1), "bid": 1.0, "ask": 1.1}]).status_code == 200
    held = resolve.instruments_held(["XOM"])  # this session's transaction now holds the row
    other = sa.create_engine(db.engine.url)
    try:
        with other.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '300ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                conn.execute(sa.text("UPDATE instruments SET id = id + 100000 WHERE id = :id"), {"id": held["XOM"]})
        db.session.rollback()  # released: the same change now goes through
        with other.begin() as conn:
            conn.execute(sa.text("SET lock_timeout = '5s'"))
            changed = conn.execute(sa.text("UPDATE instruments SET id = id + 100000 WHERE id = :id"),
                                   {"id": held["XOM"]})
            assert changed.rowcount == 1
    finally:
        other.dispose()
