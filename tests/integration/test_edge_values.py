"""Values, not just types, at the edge (issue 8, item 1): every hostile value is refused with a 4xx
naming the item and field, and nothing of the batch is stored. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import tokens, users
from models import EngineEvent, EngineState, Fill, Order, Position, Quote
from tests.support.trading import fill, iso, order
from tests.support.web import PASSWORD


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def refused(response, status: int, index: int | None, field: str) -> str:
    """Assert a refusal that names the item and field; returns its message."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    if index is None:
        assert body["field"] == field, body
        return body["message"]
    named = {(d["index"], d["field"]): d["message"] for d in body["details"]}
    assert (index, field) in named, body
    return named[(index, field)]


def quote(**extra) -> dict:
    return {"instrument": "AAPL", "ts": iso(), "bid": 1.0, "ask": 1.1, **extra}


def event(**extra) -> dict:
    return {"event_id": "e1", "ts": iso(), "kind": "note", **extra}


@pytest.mark.parametrize(("ts", "why"), [
    ("tomorrow", "between"),  # from the future (made in the test: ids must not depend on the clock, or xdist
                              # workers collect different tests)
    ("1999-12-31T23:59:59+00:00", "between"),  # before the data epoch
    ("0001-01-01T00:30:00+01:00", "between"),  # so early that converting to UTC overflows
    ("9999-12-31T23:00:00-05:00", "between"),
    ("2026-03-02T14:30:00", "timezone"),  # naive
    ("2026-03-02T14:30:00+25:00", ""),  # no such offset
])
def test_timestamps_outside_the_window_are_refused(api, ts, why):
    if ts == "tomorrow":
        ts = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    response = api("quotes", [quote(ts=iso(1)), quote(ts=ts)])
    assert why in refused(response, 422, 1, "ts")
    assert count(Quote) == 0


@pytest.mark.parametrize(("value", "field"), [
    ("10", "quantity"), (True, "quantity"), (None, "quantity"), ([100], "quantity"),
    (float("inf"), "quantity"), (float("nan"), "quantity"), (1e300, "quantity"), (5e-324, "quantity"),
    (-1.0, "quantity"),
])
def test_quantities_must_be_finite_bounded_json_numbers(api, value, field):
    response = api("orders", [order("o-1"), order("o-2", qty=value)])
    refused(response, 422, 1, field)
    assert count(Order) == 0


@pytest.mark.parametrize(("kind", "item", "field"), [
    ("fills", fill("x-1", "o-1", 10, 190.0, fee=5e-324), "fee"),  # subnormal where 0 is allowed
    ("pnl_snapshots", {"strategy": "MOM", "ts": iso(), "equity": -1e-310}, "equity"),
    ("pnl_snapshots", {"strategy": "MOM", "ts": iso(), "equity": 1e16}, "equity"),
    ("quotes", quote(bid=2e9, ask=2.1e9), "bid"),
    ("engine_state", {"status": "running", "heartbeat_at": iso(), "pid": 2**40}, "pid"),
    ("engine_state", {"status": "running", "heartbeat_at": iso(), "pid": 12.0}, "pid"),
    ("signals", {"signal_id": "s1", "strategy": "MOM", "instrument": "AAPL", "ts": iso(), "direction": 1,
                 "confidence": "0.5"}, "confidence"),
])
def test_numbers_out_of_their_domain_are_refused(api, kind, item, field):
    api("orders", [order("o-1")])
    before = count(Fill), count(EngineState)
    refused(api(kind, [item]), 422, 0, field)
    assert (count(Fill), count(EngineState)) == before


@pytest.mark.parametrize(("item", "field"), [
    (event(message="ok\x00then"), "message"),
    (event(message="bell\x07"), "message"),
    (event(kind="no\u0085te"), "kind"),  # C1 control (at an end it would be stripped as whitespace)
    (event(event_id="e\x7f1"), "event_id"),
    (event(message="x" * 501), "message"),
    (event(order_client_id="o" * 65), "order_client_id"),
])
def test_text_with_control_characters_or_too_long_is_refused(api, item, field):
    message = refused(api("events", [event(event_id="e0"), item]), 422, 1, field)
    assert "control" in message or "at most" in message
    assert count(EngineEvent) == 0


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize(("data", "words"), [
    (_nested(9), "deeper"),
    ({"blob": "x" * 20_000}, "larger"),
    ({"list": list(range(5000))}, "larger"),
    ({"x": float("nan")}, "NaN"),
    ({"big": 2**70}, "64-bit"),
    ({"k\x00": 1}, "control"),
])
def test_nested_json_is_bounded(api, data, words):
    assert api("events", [event(data=_nested(8))]).status_code == 200  # eight levels are fine
    assert words in refused(api("events", [event(event_id="e2", data=data)]), 422, 0, "data")
    assert count(EngineEvent) == 1


def test_a_nesting_bomb_body_is_a_4xx_not_a_crash(api, server):
    secret = _token("bomber", ["paper-1"])
    client = server.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    bomb = '{"engine_id": "paper-1", "items": ' + "[" * 200_000 + "]" * 200_000 + "}"
    response = client.post("/api/v1/ingest/quotes", data=bomb, headers=headers)
    assert response.status_code == 422 and response.json["field"] == "body"
    control = client.post("/api/v1/kill-switch/activate", data="[" * 200_000, headers=headers)
    assert control.status_code == 422 and control.json["field"] == "body"
    assert count(Quote) == 0


def test_a_fill_cannot_exceed_its_order(api):
    api("orders", [order("o-1", qty=100)])
    # Within one batch: 60 + 50 > 100, the second fill is named.
    response = api("fills", [fill("x-1", "o-1", 60, 190.0), fill("x-2", "o-1", 50, 190.0)])
    assert "remaining 40" in refused(response, 422, 1, "quantity")
    assert (count(Fill), count(Position)) == (0, 0)
    # Across batches: the stored 60 counts.
    assert api("fills", [fill("x-1", "o-1", 60, 190.0)]).status_code == 200
    refused(api("fills", [fill("x-3", "o-1", 41, 190.0)]), 422, 0, "quantity")
    # A resent fill is a duplicate, not more quantity; the exact remainder fits.
    again = api("fills", [fill("x-1", "o-1", 60, 190.0), fill("x-4", "o-1", 40, 190.0),
                          fill("x-4", "o-1", 40, 190.0)])
    assert again.status_code == 200 and again.json["stored"] == 1
    assert db.session.execute(sa.select(sa.func.sum(Fill.quantity))).scalar() == pytest.approx(100)


def test_a_child_order_fits_its_parent(api):
    response = api("orders", [order("parent-1", qty=100), order("child-1", qty=150,
                                                                 parent_client_order_id="parent-1")])
    assert "exceeds its parent" in refused(response, 422, 1, "quantity")
    assert count(Order) == 0
    assert api("orders", [order("parent-1", qty=100), order("child-1", qty=100,
                                                            parent_client_order_id="parent-1")]).status_code == 200


def _token(username: str, engines) -> str:
    user = users.create_user("test", username, PASSWORD, "trader")
    return tokens.create_token("test", user.id, f"{username} token", engines)[1]


def test_a_token_reports_only_for_its_engines(api, server):
    assert refused(api("quotes", [quote()], engine_id="paper-2"), 403, None, "engine_id")
    unbound = _token("scripted", [])
    assert "no engine" in refused(api("quotes", [quote()], token=unbound), 403, None, "engine_id")
    assert count(Quote) == 0
    client = server.test_client()
    bound = _token("engine-2", ["paper-2", "paper-3"])
    read = lambda engine_id, secret: client.get(f"/api/v1/engines/{engine_id}/control",  # noqa: E731
                                                headers={"Authorization": f"Bearer {secret}"})
    assert read("paper-3", bound).status_code == 200
    refused(read("paper-1", bound), 403, None, "engine_id")
    refused(read("x" * 40, bound), 422, None, "engine_id")
    assert api("quotes", [quote()], engine_id="paper-3", token=bound).status_code == 200
    assert count(Quote) == 1


def test_token_engines_are_checked_and_audited(server):
    from dashapp.services.errors import ValidationError
    from models import AuditRecord

    user = users.create_user("test", "eng", PASSWORD, "trader")
    with pytest.raises(ValidationError) as caught:
        tokens.create_token("test", user.id, "bad", ["ok-1", "not ok!"])
    assert caught.value.field == "engines"
    token, _ = tokens.create_token("test", user.id, "good", "paper-1, paper-2 paper-1")
    assert token.engine_ids == {"paper-1", "paper-2"}
    tokens.bind_engines("test", token.id, ["paper-9"])
    assert db.session.get(type(token), token.id).engine_ids == {"paper-9"}
    actions = db.session.execute(sa.select(AuditRecord.action, AuditRecord.details)).all()
    assert any(a == "token.bind" and "paper-9" in d for a, d in actions)


@pytest.mark.parametrize("body", [
    {"reason": 12345, "idempotency_key": "k1"},
    {"reason": "maintenance\x00", "idempotency_key": "k1"},
    {"reason": "maintenance", "idempotency_key": ["k1"]},
    {"reason": "maintenance", "idempotency_key": "k" * 129},
    {"reason": "r" * 301, "idempotency_key": "k1"},
])
def test_control_bodies_are_bounded(server, body):
    from models import ControlAction

    client = server.test_client()
    secret = _token("tess", ["paper-1"])
    response = client.post("/api/v1/engines/paper-1/stop", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422 and response.json["field"] in ("reason", "idempotency_key"), response.json
    assert count(ControlAction) == 0


def test_request_bodies_are_limited_everywhere(api, server):
    server.config["MAX_CONTENT_LENGTH"] = 4096
    big = [quote(ts=iso(n)) for n in range(100)]
    response = api("quotes", big)
    assert response.status_code == 413 and "COCKPIT_MAX_BODY_BYTES" in response.json["message"]
    plain = server.test_client().post("/login", data={"username": "x" * 10_000, "password": "y"})
    assert plain.status_code == 413 and plain.mimetype == "text/plain"
    assert "4096 bytes" in plain.get_data(as_text=True)
    # Chunked, with no declared length (as Gunicorn passes it on): the limited stream stops it.
    chunked = server.test_client().post(
        "/api/v1/ingest/quotes", input_stream=io.BytesIO(json.dumps({"engine_id": "paper-1", "items": big}).encode()),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {_token('chunky', ['paper-1'])}"},
        environ_overrides={"wsgi.input_terminated": True})
    assert chunked.status_code == 413, chunked.get_data(as_text=True)
    assert count(Quote) == 0
    server.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    assert api("quotes", big).status_code == 200



def test_the_demo_binds_a_kept_engine_token_issued_before_bindings(server, settings):
    from dashapp.services import demo

    user = users.create_user("test", demo.ENGINE_USER, PASSWORD, "trader")
    token, secret = tokens.create_token("test", user.id, "from an older release")
    (settings.instance_dir / demo.ENGINE_TOKEN_FILE).write_text(secret + "\n")
    assert demo.ensure_engine_token(settings.instance_dir) == "kept"
    assert tokens.engines_for_token(secret) == {demo.PAPER_ENGINE_ID}


def test_concurrent_fills_cannot_both_take_the_remaining_quantity(api, server):
    """Two engines' batches race for the last 60 of an order of 100: one is stored, the other is
    refused naming the fill (on PostgreSQL the order row is locked; on SQLite the write lock)."""
    import threading

    api("orders", [order("o-1", qty=100)])
    secret = _token("racer", ["paper-1"])
    start, answers = threading.Barrier(2), []

    def send(exec_id):
        with server.app_context():
            client = server.test_client()
            start.wait(timeout=10)
            answers.append(client.post("/api/v1/ingest/fills", json={
                "engine_id": "paper-1", "items": [fill(exec_id, "o-1", 60, 190.0)]},
                headers={"Authorization": f"Bearer {secret}"}).status_code)
            db.session.remove()

    threads = [threading.Thread(target=send, args=(f"x-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [200, 422]
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.sum(Fill.quantity))).scalar() == pytest.approx(60)
    position = db.session.execute(sa.select(Position)).scalar_one()
    assert position.quantity == pytest.approx(60)
