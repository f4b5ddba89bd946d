"""A catalogue of hostile inputs, by class, each with the answer the cockpit must give.

Run by tests/integration/test_hostile_inputs.py (on SQLite and PostgreSQL: every answer is the
expected 4xx, names what it refuses, and stores nothing) and by benchmarks/hostile_inputs.py, which
writes the table in docs/RELIABILITY.md from the same list, so the table is what the code answers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from tests.support.trading import REFERENCE, fill, iso, order
from tests.support.web import PASSWORD, call_callback, csrf_header, login

ENGINE = "hostile-1"


@dataclass
class Context:
    server: object
    token: str          # bound to ENGINE, role trader
    other_token: str    # bound to another engine
    unbound_token: str  # bound to no engine
    viewer_token: str
    admin: object       # a logged-in admin session (Flask test client)

    def anonymous(self):
        return self.server.test_client()

    def ingest(self, kind: str, items, engine_id: str = ENGINE, token: str | None = None, raw: bytes | None = None):
        headers = {"Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json"}
        body = raw if raw is not None else json.dumps({"engine_id": engine_id, "items": items})
        return self.anonymous().post(f"/api/v1/ingest/{kind}", data=body, headers=headers)

    def control(self, path: str, body: dict, token: str | None = None):
        return self.anonymous().post(f"/api/v1/{path}", json=body,
                                     headers={"Authorization": f"Bearer {token or self.token}"})


@dataclass
class Case:
    klass: str
    what: str
    send: Callable[[Context], object]
    statuses: tuple[int, ...]
    names: str = ""  # text the answer must contain (the field, or what was refused)
    setup: Callable[[Context], object] | None = None  # valid rows the hostile one refers to
    tables: tuple[str, ...] = field(default=("orders", "fills", "quotes", "engine_events", "control_actions"))


def _quote(**changes) -> dict:
    item = {"instrument": "AAPL", "ts": iso(), "bid": 190.0, "ask": 190.1}
    item.update(changes)
    return item


def _event(**changes) -> dict:
    item = {"event_id": "ev-1", "ts": iso(), "kind": "engine.note", "message": "ok", "data": {}}
    item.update(changes)
    return item


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _grid(ctx: Context, request) -> object:
    return call_callback(ctx.admin, "..tr-blotter.getRowsResponse...tr-blotter-message.children..",
                         [{"id": "tr-blotter", "property": "getRowsRequest", "value": request}],
                         state=[{"id": "tr-search", "property": "value", "value": ""},
                                {"id": "tr-parents-only", "property": "value", "value": False}])


def _raw_callback(ctx: Context, body: bytes) -> object:
    return ctx.admin.post("/_dash-update-component", data=body,
                          headers={**csrf_header(ctx.admin), "Content-Type": "application/json"})


def _login_as(ctx: Context, username: str, password: str):
    return login(ctx.anonymous(), username, password)


CASES: list[Case] = [
    # Timestamps
    Case("timestamps", "quote stamped in the year 2100", lambda c: c.ingest("quotes", [_quote(ts="2100-01-01T00:00:00Z")]), (422,), "ts"),
    Case("timestamps", "quote stamped 1970-01-01 (before the data epoch)", lambda c: c.ingest("quotes", [_quote(ts="1970-01-01T00:00:00Z")]), (422,), "ts"),
    Case("timestamps", "naive timestamp (no zone)", lambda c: c.ingest("quotes", [_quote(ts="2026-03-02T14:30:00")]), (422,), "ts"),
    Case("timestamps", "zone offset +25:00", lambda c: c.ingest("quotes", [_quote(ts="2026-03-02T14:30:00+25:00")]), (422,), "ts"),
    Case("timestamps", "timestamp as free text ('yesterday')", lambda c: c.ingest("quotes", [_quote(ts="yesterday")]), (422,), "ts"),
    Case("timestamps", "timestamp as a number (epoch seconds)", lambda c: c.ingest("quotes", [_quote(ts=1772461800)]), (422,), "ts"),
    # Numbers
    Case("numbers", "quantity as a string \"10\"", lambda c: c.ingest("orders", [order("h-1", qty="10")]), (422,), "quantity"),
    Case("numbers", "quantity true", lambda c: c.ingest("orders", [order("h-1", qty=True)]), (422,), "quantity"),
    Case("numbers", "price NaN (JSON extension literal)", lambda c: c.ingest("quotes", None, raw=(
        '{"engine_id": "%s", "items": [{"instrument": "AAPL", "ts": "%s", "bid": NaN, "ask": 1}]}' % (ENGINE, iso())).encode()),
        (400, 422), "bid"),
    Case("numbers", "price Infinity", lambda c: c.ingest("quotes", None, raw=(
        '{"engine_id": "%s", "items": [{"instrument": "AAPL", "ts": "%s", "bid": 1, "ask": Infinity}]}' % (ENGINE, iso())).encode()),
        (400, 422), "ask"),
    Case("numbers", "price 1e300", lambda c: c.ingest("quotes", [_quote(bid=1e300, ask=1e300)]), (422,), "bid"),
    Case("numbers", "price 5e-324 (subnormal)", lambda c: c.ingest("quotes", [_quote(bid=5e-324)]), (422,), "bid"),
    Case("numbers", "negative quantity", lambda c: c.ingest("orders", [order("h-1", qty=-5)]), (422,), "quantity"),
    Case("numbers", "quantity 1e18 (beyond the desk's magnitude)", lambda c: c.ingest("orders", [order("h-1", qty=1e18)]), (422,), "quantity"),
    Case("numbers", "pid 2**70 (beyond its integer column)", lambda c: c.ingest("engine_state", [
        {"status": "running", "heartbeat_at": iso(), "pid": 2**70}]), (422,), "pid"),
    Case("numbers", "signal confidence 1.5 (a fraction)", lambda c: c.ingest("signals", [
        {"signal_id": "s-1", "strategy": "MOM", "instrument": "AAPL", "ts": iso(), "direction": 1, "confidence": 1.5}]),
        (422,), "confidence"),
    # Text
    Case("text", "NUL character in an instrument symbol", lambda c: c.ingest("quotes", [_quote(instrument="AA\x00PL")]), (422,), "instrument"),
    Case("text", "escape character in an event message", lambda c: c.ingest("events", [_event(message="\x1b[31mred")]), (422,), "message"),
    Case("text", "10,000-character reject reason", lambda c: c.ingest("orders", [order("h-1", status="rejected", reject_reason="x" * 10_000)]),
         (422,), "reject_reason"),
    Case("text", "unknown field in an item", lambda c: c.ingest("quotes", [_quote(note="hi")]), (422,), "note"),
    Case("text", "client order id of 500 characters", lambda c: c.ingest("orders", [order("h" * 500)]), (422,), "client_order_id"),
    # Nested JSON and body shape
    Case("json", "event data nested 50 deep", lambda c: c.ingest("events", [_event(data=_nested(50))]), (422,), "data"),
    Case("json", "event data of 100 KB", lambda c: c.ingest("events", [_event(data={"blob": "x" * 100_000})]), (422,), "data"),
    Case("json", "body nested 100,000 deep (a JSON bomb)", lambda c: c.ingest("quotes", None, raw=b"[" * 100_000 + b"]" * 100_000),
         (400, 413, 422), "JSON"),
    Case("json", "body that is not JSON", lambda c: c.ingest("quotes", None, raw=b"{not json"), (400, 422), "JSON"),
    Case("json", "body that is a list, not an object", lambda c: c.ingest("quotes", None, raw=b"[1, 2]"), (400, 422), "object"),
    Case("json", "empty items", lambda c: c.ingest("quotes", []), (422,), "items"),
    Case("json", "20,001 items (over the batch limit)", lambda c: c.ingest("quotes", [_quote()] * 20_001), (413, 422), "items"),
    Case("size", "33 MB body (over COCKPIT_MAX_BODY_BYTES)", lambda c: c.ingest("quotes", None, raw=b" " * (33 * 1024 * 1024)),
         (413,), "too large"),
    # Cross-row sense
    Case("cross-row", "fill larger than its order's remaining quantity", lambda c: c.ingest(
        "fills", [fill("f-1", "x-1", 150, 190.0)]), (422,), "quantity", setup=lambda c: c.ingest("orders", [order("x-1", qty=100)])),
    Case("cross-row", "two fills in one batch adding up past the order", lambda c: c.ingest(
        "fills", [fill("f-2", "x-2", 60, 190.0), fill("f-3", "x-2", 60, 190.0)]), (422,), "quantity",
        setup=lambda c: c.ingest("orders", [order("x-2", qty=100)])),
    Case("cross-row", "child order larger than its parent", lambda c: c.ingest(
        "orders", [order("c-1", qty=500, parent_client_order_id="p-1")]), (422,), "quantity",
        setup=lambda c: c.ingest("orders", [order("p-1", qty=100)])),
    Case("cross-row", "token reports for an engine it is not bound to", lambda c: c.ingest("quotes", [_quote()], token=c.other_token),
         (403,), "engine"),
    Case("cross-row", "token bound to no engine tries to ingest", lambda c: c.ingest("quotes", [_quote()], token=c.unbound_token),
         (403,), "engine"),
    # Authentication and authorisation on the API
    Case("auth", "ingest with no credentials", lambda c: c.anonymous().post(f"/api/v1/ingest/quotes", json={}), (401,), "Bearer"),
    Case("auth", "ingest with a made-up token", lambda c: c.ingest("quotes", [_quote()], token="cockpit_" + "A" * 43), (401,), "token"),
    Case("auth", "viewer's token ingests", lambda c: c.ingest("quotes", [_quote()], token=c.viewer_token), (403,), "ingest"),
    Case("auth", "session cookie POST to a control endpoint without the CSRF token", lambda c: c.admin.post(
        "/api/v1/kill-switch/activate", json={"reason": "test", "idempotency_key": "k-csrf"}), (400, 403), "CSRF"),
    Case("auth", "control action with a 500-character idempotency key", lambda c: c.control(
        f"engines/{ENGINE}/stop", {"reason": "test", "idempotency_key": "k" * 500}), (422,), "idempotency_key"),
    Case("auth", "control action reason with a control character", lambda c: c.control(
        f"engines/{ENGINE}/stop", {"reason": "stop\x07now", "idempotency_key": "k-bell"}), (422,), "reason"),
    Case("auth", "unknown kill-switch action", lambda c: c.control("kill-switch/explode", {"reason": "x", "idempotency_key": "k-x"}),
         (404, 422), "action"),
    # Paths
    Case("paths", "/loginx (looks public)", lambda c: c.anonymous().get("/loginx"), (404,), ""),
    Case("paths", "/api/x (unknown API path)", lambda c: c.anonymous().get("/api/x"), (404,), ""),
    Case("paths", "/api/v1/nope as a signed-in admin", lambda c: c.admin.get("/api/v1/nope"), (404,), ""),
    Case("paths", "missing file under /_dash-component-suites/", lambda c: c.anonymous().get(
        "/_dash-component-suites/dash/missing.v1.js"), (404,), ""),
    Case("paths", "/assets/ path traversal", lambda c: c.anonymous().get("/assets/../dashapp/config.py"), (404,), ""),
    # Dash callbacks
    Case("dash", "callback naming an unknown output", lambda c: call_callback(
        c.admin, "nope.children", [{"id": "x", "property": "value", "value": 1}]), (403,), "unknown callback"),
    Case("dash", "callback body that is not JSON", lambda c: _raw_callback(c, b"{oops"), (400,), ""),
    Case("dash", "grid request with startRow -5", lambda c: _grid(c, {"startRow": -5, "endRow": 100}), (200, 400), "startRow"),
    Case("dash", "grid request for 1,000,000 rows at once", lambda c: _grid(c, {"startRow": 0, "endRow": 1_000_000}), (200, 400), "rows"),
    Case("dash", "grid sort on an unknown column", lambda c: _grid(c, {"startRow": 0, "endRow": 100, "sortModel": [
        {"colId": "password_hash", "sort": "asc"}]}), (200, 400), "password_hash"),
    Case("dash", "grid filter with an unknown operator", lambda c: _grid(c, {"startRow": 0, "endRow": 100, "filterModel": {
        "quantity": {"filterType": "number", "type": "drop table", "filter": 1}}}), (200, 400), "drop table"),
    # Sessions and sign-in
    Case("sessions", "GET /logout (logout is POST only)", lambda c: c.admin.get("/logout"), (405,), "", tables=()),
    Case("sessions", "sign-in as a user that does not exist", lambda c: _login_as(c, "no-such-user", "whatever-Password-1"),
         (401,), "Invalid user name or password", tables=()),
    Case("sessions", "wrong password for a real user (same answer as above)", lambda c: _login_as(c, "hostile-admin", "wrong-Password-1"),
         (401,), "Invalid user name or password", tables=()),
]


def context(server, make_user) -> Context:
    """Reference data, tokens and an admin session for the catalogue. Call it outside an app
    context: requests made inside one would share its `g` (and so its logged-in user)."""
    from dashapp.extensions import db
    from dashapp.services import tokens

    with server.app_context():
        trader = make_user("trader", "hostile-trader")
        viewer = make_user("viewer", "hostile-viewer")
        make_user("admin", "hostile-admin")
        db.session.commit()
        _t, token = tokens.create_token("test", trader.id, "hostile", [ENGINE])
        _o, other = tokens.create_token("test", trader.id, "other", ["someone-else"])
        _u, unbound = tokens.create_token("test", trader.id, "unbound")
        _v, viewer_token = tokens.create_token("test", viewer.id, "viewer")
        db.session.commit()
        db.session.remove()
    admin = server.test_client()
    assert login(admin, "hostile-admin", PASSWORD).status_code == 302
    admin.get("/")  # sets the CSRF cookie
    ctx = Context(server, token, other, unbound, viewer_token, admin)
    for kind, items in REFERENCE.items():
        response = ctx.ingest(kind, items)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return ctx


def answer_text(response) -> str:
    return response.get_data(as_text=True)
