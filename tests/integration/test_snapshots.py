"""Shared views through the real Dash callbacks, on SQLite and PostgreSQL, with the snapshot kept in
process memory and in Redis: every session gets exactly what the direct computation shows, many
sessions at once cost one build, a control action shows at once, and a Redis outage only costs
the sharing across processes."""
from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from plotly.io.json import to_json_plotly

from dashapp.services import snapshots
from layouts.ids import CommandCenter as cc_ids
from layouts.ids import Risk as risk_ids
from layouts.ids import Shell
from layouts.ids import Trading as trading_ids
from tests.conftest import make_settings
from tests.support.services import redis_url
from tests.support.web import call_callback

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _ago(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


@pytest.fixture(params=["memory", "redis"])
def settings(request, tmp_path, database_url):
    """The app's settings, with the snapshot store in this process (embedded) or in Redis under a
    key prefix of this test's own (the machine's Redis is shared with other runs)."""
    if request.param == "memory":
        yield make_settings(tmp_path, database_url)
        return
    import redis

    url, prefix = redis_url(), f"cockpit-test-{uuid.uuid4().hex[:8]}:"
    yield make_settings(tmp_path, database_url, redis_url=url, extra={"redis_key_prefix": prefix})
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


@pytest.fixture
def desk_data(api):
    """A few live orders, fills, quotes and P&L snapshots inside every view's time window."""
    orders = [{"client_order_id": f"o-{i}", "strategy": "MOM" if i % 2 else "MR", "instrument": "AAPL" if i % 3 else "XOM",
               "venue": "XNAS", "side": "buy" if i % 2 else "sell", "quantity": 10 + i, "status": "filled",
               "created_at": _ago(30 - i), "filled_at": _ago(29.9 - i), "filled_quantity": 10 + i,
               "avg_fill_price": 190.0 + i, "arrival_mid": 190.0} for i in range(6)]
    assert api("orders", orders).status_code == 200
    fills = [{"exec_id": f"f-{i}", "client_order_id": f"o-{i}", "venue": "XNAS", "quantity": 10 + i,
              "price": 190.0 + i, "fee": 1.0, "filled_at": _ago(29.9 - i), "mid_at_arrival": 190.0,
              "mid_at_fill": 190.0 + i} for i in range(6)]
    assert api("fills", fills).status_code == 200
    quotes = [{"instrument": s, "ts": _ago(m), "bid": b, "ask": b + 0.2} for s, b in (("AAPL", 194.9), ("XOM", 101.0))
              for m in (5, 1)]
    assert api("quotes", quotes).status_code == 200
    points = [{"strategy": s, "ts": _ago(60 * 24 * d + m), "equity": 1e6 + 1000 * d - 37 * m}
              for s in ("MOM", "MR") for d in (3, 2, 1, 0) for m in (50, 20, 1)]
    assert api("pnl_snapshots", points).status_code == 200
    return api


BOOK = "..{}..".format("...".join(f"{i}.{p}" for i, p in [
    (cc_ids.EQUITY, "figure"), (cc_ids.DRAWDOWN, "figure"), (cc_ids.DAILY_PNL, "figure"), (cc_ids.VENUE, "figure"),
    (cc_ids.SECTOR, "figure"), (cc_ids.THROUGHPUT, "figure"), (cc_ids.POSITIONS, "rowData"),
    (cc_ids.BLOCKS, "rowData")]))
STATUS = f"..{cc_ids.ENGINE}.children...{cc_ids.KILL}.children...{cc_ids.RISK}.children.."
TILES = f"{cc_ids.TILES}.children"
PANELS = f"..{trading_ids.POSITIONS}.rowData...{trading_ids.SIGNALS}.rowData...{trading_ids.ALLOCATION}.figure.."
RISK = "..{}..".format("...".join(f"{i}.{p}" for i, p in [
    (risk_ids.SUMMARY, "children"), (risk_ids.VAR_GRID, "rowData"), (risk_ids.LIMITS, "children"),
    (risk_ids.DRAWDOWN, "figure"), (risk_ids.SECTORS, "figure"), (risk_ids.CONCENTRATION, "children"),
    (risk_ids.CORRELATION, "figure"), (risk_ids.EXPOSURE_HEATMAP, "figure"), (risk_ids.GREEKS_GRID, "rowData"),
    (risk_ids.GREEKS_HEATMAP, "figure")]))
TICK = [{"id": cc_ids.INTERVAL, "property": "n_intervals", "value": 1}]
VIEWS = {
    "book": (BOOK, TICK + [{"id": Shell.TIME_RANGE, "property": "value", "value": "30d"}]),
    "status": (STATUS, TICK + [{"id": Shell.LIVE_EVENTS, "property": "data", "value": None}]),
    "tiles": (TILES, TICK),
    "panels": (PANELS, [{"id": trading_ids.INTERVAL, "property": "n_intervals", "value": 1}]),
    "risk": (RISK, [{"id": risk_ids.INTERVAL, "property": "n_intervals", "value": 1},
                    {"id": risk_ids.LIMIT_MESSAGE, "property": "children", "value": None}]),
}


def _outputs(client, view: str) -> list:
    output, inputs = VIEWS[view]
    response = call_callback(client, output, inputs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = json.loads(response.get_data(as_text=True))["response"]
    keys = [part for part in output.strip(".").split("...")]
    return [body[k.rsplit(".", 1)[0]][k.rsplit(".", 1)[1]] for k in keys]


def _direct(dash_app, view: str) -> list:
    """What the per-session computation (the callback body before snapshots) shows, as Dash sends it."""
    from callbacks import command_center, risk, trading

    build = {"book": lambda: command_center.build_book("30d"), "status": command_center.build_status,
             "tiles": command_center.build_tiles, "panels": trading.build_panels, "risk": risk.build_risk}[view]
    with dash_app.server.test_request_context():
        result = build()
    result = json.loads(to_json_plotly(result))
    return result if isinstance(result, list) else [result]


def _steady(value):
    """Drop what honestly differs between two computations a moment apart (the evaluation's own duration)."""
    return json.loads(re.sub(r"evaluated in [\d,]+ ms", "evaluated in N ms", json.dumps(value)))


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_session_gets_exactly_the_direct_computation(dash_app, client_as, desk_data, monkeypatch, view):
    monkeypatch.setattr(snapshots, "clock", lambda: 1_000_000.0)  # one tick for the whole test
    snapshots.reset_stats()
    viewer, trader = client_as("viewer"), client_as("trader")
    first = _outputs(viewer, view)
    assert _steady(first) == _steady(_direct(dash_app, view))
    assert _outputs(trader, view) == first  # another session, same tick: the same snapshot, not a rebuild
    assert snapshots.stats()["builds"] == 1 and snapshots.stats()["hits"] >= 1


def test_the_book_shows_the_ingested_data(dash_app, client_as, desk_data):
    equity, _drawdown, _daily, venue, sector, throughput, positions, _blocks = _outputs(client_as("viewer"), "book")
    assert len(equity["data"][0]["x"]) == 12  # 4 days x 3 stamps, both strategies summed per stamp
    assert venue["data"][0]["x"] == ["XNAS"]
    assert {p["instrument"] for p in positions} == {"AAPL", "XOM"}
    assert sum(_values(throughput["data"][0]["y"])) == 6


def _values(column) -> list:
    """A figure's data column as Dash sends it: a list, or plotly's typed array (base64 + dtype)."""
    if isinstance(column, dict):
        return np.frombuffer(base64.b64decode(column["bdata"]), dtype=column["dtype"]).tolist()
    return list(column)


def test_many_sessions_at_once_cost_one_build(dash_app, client_as, desk_data, monkeypatch):
    from callbacks import command_center

    monkeypatch.setattr(snapshots, "clock", lambda: 2_000_000.0)
    builds, real_build = [], command_center.build_book
    monkeypatch.setattr(command_center, "build_book", lambda *a: builds.append(1) or real_build(*a))
    clients = [client_as("viewer", f"viewer-{i}") for i in range(8)]
    start, results, errors = threading.Barrier(len(clients)), [None] * len(clients), []

    def session(i):
        try:
            start.wait(timeout=30)
            results[i] = _outputs(clients[i], "book")
        except Exception as exc:  # reported below, with the thread's index
            errors.append((i, exc))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and all(r is not None for r in results), errors
    assert len(builds) == 1
    assert all(r == results[0] for r in results)


def test_a_control_action_shows_in_every_session_within_the_same_tick(dash_app, client_as, desk_data, monkeypatch):
    monkeypatch.setattr(snapshots, "clock", lambda: 3_000_000.0)  # the tick never changes by itself
    trader, viewer = client_as("trader"), client_as("viewer")
    assert "OFF" in json.dumps(_outputs(viewer, "status")[1])
    # The Confirm button's callback, by its registered name (its second output carries allow_duplicate's suffix).
    output = [k for k in dash_app.callback_map if k.startswith(f"..{cc_ids.MESSAGE}.children...{cc_ids.MODAL}.")][0]
    confirm = call_callback(trader, output,
                            [{"id": cc_ids.CONFIRM, "property": "n_clicks", "value": 1}],
                            [{"id": cc_ids.PENDING, "property": "data", "value": {"action": "kill", "key": "snap-k1"}},
                             {"id": cc_ids.REASON, "property": "value", "value": "snapshot test"}])
    assert confirm.status_code == 200 and "cc-control-ok" in confirm.get_data(as_text=True)
    kill_card = json.dumps(_outputs(viewer, "status")[1])
    assert '"ON"' in kill_card and "snapshot test" in kill_card


def test_redis_outage_falls_back_to_process_memory(tmp_path, database_url):
    """Redis configured but unreachable (a closed port): pages still answer, from this process."""
    import socket

    import dash

    from dashapp import create_app
    from tests.conftest import upgrade_database
    from tests.support.web import PASSWORD, login

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"  # nothing listens once the probe closes
    app = create_app(make_settings(tmp_path, database_url, redis_url=dead))
    upgrade_database(app.server)
    try:
        from dashapp.services import users

        with app.server.app_context():
            users.create_user("test", "viewer-x", PASSWORD, "viewer")
        client = app.server.test_client()
        assert login(client, "viewer-x").status_code == 302
        client.get("/")
        snapshots.reset_stats()
        first, second = _outputs(client, "panels"), _outputs(client, "panels")
        assert first == second
        assert snapshots.stats()["redis_errors"] >= 1
    finally:
        from dashapp.extensions import db

        with app.server.app_context():
            db.session.remove()
            db.engine.dispose()
        dash.page_registry.clear()
