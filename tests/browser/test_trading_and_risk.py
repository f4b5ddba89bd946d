"""Trading blotter (filter, drill-down) and the Risk War Room (limit edit, breach blocks the
engine's gate, viewer read-only) in a real browser."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from dash.testing.wait import until

from dashapp.engine.risk_gate import GateLimits, check
from dashapp.services import controls
from dashapp.services.ingest import ingest_batch
from tests.browser.conftest import click, grid_column, login_as, url
from tests.support.trading import REFERENCE, fill, iso, order


@pytest.fixture
def book(cockpit):
    """Orders (one parent split into children), fills, quotes and a year of daily bars."""
    with cockpit.db():
        for kind, items in REFERENCE.items():
            ingest_batch(kind, "paper-1", items)
        ingest_batch("orders", "paper-1", [order(f"o-{i}", qty=10 + i, minutes=i) for i in range(12)]
                     + [order("xom-1", instrument="XOM", qty=77, minutes=20, venue=None)])
        ingest_batch("orders", "paper-1", [order("xom-1-a", instrument="XOM", qty=40, minutes=20.1, venue="LP1",
                                                 parent_client_order_id="xom-1", status="filled", filled_quantity=40),
                                           order("xom-1-b", instrument="XOM", qty=37, minutes=20.1,
                                                 parent_client_order_id="xom-1")])
        ingest_batch("fills", "paper-1", [fill("x-1", "xom-1-a", 40, 50.5, minutes=20.2, venue="LP1"),
                                          fill("a-1", "o-3", 13, 190.0, minutes=3.5)])
        now = datetime.now(timezone.utc)
        ingest_batch("quotes", "paper-1", [{"instrument": s, "ts": now.isoformat(), "bid": p - 0.05, "ask": p + 0.05}
                                           for s, p in (("AAPL", 190.0), ("XOM", 50.0))])
        rng = np.random.default_rng(1)
        bars, start = [], now - timedelta(days=400)
        for symbol, price in (("AAPL", 150.0), ("XOM", 40.0)):
            for d in range(300):
                new = price * (1 + rng.normal(0.0003, 0.015))
                bars.append({"instrument": symbol, "interval": "1d", "ts": (start + timedelta(days=d)).isoformat(),
                             "open": price, "high": max(price, new), "low": min(price, new), "close": new})
                price = new
        ingest_batch("bars", "paper-1", bars)
    return cockpit


def test_blotter_filters_and_drills_down(started, book):
    login_as(started, "trader1", path="/trading")
    started.driver.get(url(started, "/trading"))
    until(lambda: "o-11" in grid_column(started, "tr-blotter", "client_order_id"), 30, msg="blotter never filled")
    search = started.wait_for_element("#tr-search")
    search.send_keys("XOM\n")
    until(lambda: set(grid_column(started, "tr-blotter", "instrument")) == {"XOM"}, 20,
          msg="quick search did not narrow the blotter to XOM")
    cells = [c for c in started.find_elements("#tr-blotter .ag-center-cols-container [col-id='client_order_id']")
             if c.text == "xom-1"]
    click(started, cells[0])
    started.wait_for_contains_text("#tr-detail-title", "xom-1")
    until(lambda: sorted(grid_column(started, "tr-detail-children", "client_order_id")) == ["xom-1-a", "xom-1-b"], 20)
    until(lambda: grid_column(started, "tr-detail-fills", "exec_id") == ["x-1"], 20, msg="the child's fill is missing")
    assert started.get_logs() == []


def _utilisation_label(dash_duo, kind: str) -> str | None:
    return dash_duo.driver.execute_script("""
        for (const row of document.querySelectorAll('#rk-limit-bars .limit-row')) {
            if (row.innerText.startsWith(arguments[0])) { return row.querySelector('.progress-bar').innerText; }
        }
        return null;""", kind)


def _save_limit(dash_duo, kind: str, value: str, action: str) -> None:
    dash_duo.driver.execute_script(
        "const s = document.getElementById('rk-limit-kind'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));", kind)
    box = dash_duo.find_element("#rk-limit-value")
    box.clear()
    box.send_keys(value)
    dash_duo.driver.execute_script(
        "const s = document.getElementById('rk-limit-action'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));", action)
    click(dash_duo, "#rk-limit-save")
    dash_duo.wait_for_contains_text("#rk-limit-saved", "saved")


def _engine_token(cockpit) -> str:
    from dashapp.services import tokens, users

    with cockpit.db():
        engine = users.create_user("admin1", "paper-engine", "Engine-Pass-9931!", "trader")
        return tokens.create_token("admin1", engine.id, "browser test", ["paper-1"])[1]


def test_new_orders_and_fills_appear_live_without_reload(started, book):
    """Orders and fills POSTed by an engine reach the open blotter through the push stream (the
    blotter has no polling of its own: only a pushed order or fill event makes it fetch again)."""
    import requests

    secret = _engine_token(book)
    login_as(started, "trader1", path="/trading")
    started.driver.get(url(started, "/trading"))
    until(lambda: "o-11" in grid_column(started, "tr-blotter", "client_order_id"), 30, msg="blotter never filled")
    started.wait_for_text_to_equal("#shell-live-badge", "⇅ Push: connected", timeout=30)

    def post(kind: str, items: list[dict]) -> None:
        response = requests.post(url(started, f"/api/v1/ingest/{kind}"), json={"engine_id": "paper-1", "items": items},
                                 headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert response.status_code == 200, response.text

    for n in range(4):  # one at a time: each must show up on its own push
        post("orders", [order(f"live-{n}", qty=5 + n, minutes=100 + n)])
        until(lambda n=n: f"live-{n}" in grid_column(started, "tr-blotter", "client_order_id"), 20,
              msg=f"live-{n} never appeared in the open blotter")
    ids = grid_column(started, "tr-blotter", "client_order_id")
    assert ids[:4] == ["live-3", "live-2", "live-1", "live-0"], f"newest first, each once: {ids[:8]}"
    assert len(ids) == len(set(ids)), f"a row is shown twice: {ids}"

    def filled(order_id: str):
        # Read from the grid's rows: the blotter is wider than the window and AG Grid draws only
        # the columns in view, so the Filled cell may not be in the DOM.
        return started.driver.execute_script("""
            let value = null;
            dash_ag_grid.getApi('tr-blotter').forEachNode((node) => {
                if (node.data && node.data.client_order_id === arguments[0]) { value = node.data.filled_quantity; }
            });
            return value;""", order_id)

    # What the engine sends on a partial fill: the fill, then the order's new state.
    post("fills", [fill("live-x", "live-3", 5, 191.0, minutes=103.5)])
    post("orders", [order("live-3", qty=8, minutes=103, status="partially_filled", filled_quantity=5)])
    until(lambda: filled("live-3") == 5, 20, msg=f"live-3's fill never showed (filled: {filled('live-3')!r})")


def test_risk_user_edits_a_limit_and_a_block_breach_blocks_the_gate(started, book):
    login_as(started, "risk1", path="/risk")
    started.driver.get(url(started, "/risk"))
    until(lambda: _utilisation_label(started, "gross_exposure") is not None, 60, msg="no limit bars")
    before = _utilisation_label(started, "gross_exposure")
    _save_limit(started, "gross_exposure", "1000", "block_new_orders")
    until(lambda: _utilisation_label(started, "gross_exposure") != before, 30,
          msg=f"utilisation stayed at {before}")
    started.wait_for_element("#rk-block-reason")
    with book.db():
        reason = controls.engine_view().block_new_orders_reason
    assert "gross_exposure" in reason
    # What the engine's risk gate does with the control endpoint's answer (the engine reads it every tick).
    decision = check(10, 100.0, 0, 0, 0.0, GateLimits(), kill_switch=False, blocked_reason=reason)
    assert decision.decision == "block" and decision.rule == "cockpit_block"
    assert started.get_logs() == []


def test_viewer_reads_risk_but_cannot_edit_limits(started, book):
    login_as(started, "viewer1", path="/risk")
    started.driver.get(url(started, "/risk"))
    started.wait_for_element("#rk-read-only")
    until(lambda: started.driver.execute_script("return document.getElementById('rk-limit-bars') !== null"), 60)
    assert started.driver.execute_script("return document.getElementById('rk-limit-save')") is None
