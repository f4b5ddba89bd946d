"""Issue 10's new views in a real browser, each opened by a role that may see it and read back:
Prices (candles, indicators, our fills), Routing (Sankey, venue quote age and spread), Risk gate
(decision shares by rule, emergency stops, effectiveness), Options (Greeks at several expiries,
strike x expiry map, P&L) and the Command Center's regime bands."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from dash.testing.wait import until

from dashapp.services import controls
from dashapp.services.ingest import ingest_batch
from tests.browser.conftest import grid_rows, login_as, url
from tests.support.trading import REFERENCE

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
EXPIRIES = [(NOW + timedelta(days=d)).date().isoformat() for d in (20, 60)]
OPTIONS = [{"symbol": f"AAPL {e} C{k}", "asset_class": "option", "sector": "Technology", "multiplier": 100,
            "underlying": "AAPL", "strike": k, "expiry": e, "option_right": "C"} for e in EXPIRIES for k in (180, 200)]


def _stamp(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


@pytest.fixture
def desk(cockpit):
    """Three hours of minute quotes (AAPL trending, SPX calm then wild), a year of daily bars,
    routed orders with every outcome, fills, gate decisions, a kill switch, option positions."""
    global NOW  # stamps are relative to when the data is stored, not to when the module was imported:
    NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)  # a long suite reaches this late
    rng = np.random.default_rng(11)
    reference = {**REFERENCE, "instruments": REFERENCE["instruments"] + OPTIONS
                 + [{"symbol": "SPX", "asset_class": "index", "sector": "Index"}]}
    with cockpit.db():
        for kind, items in reference.items():
            ingest_batch(kind, "paper-1", items)
        quotes, aapl, spx = [], 190.0, 5000.0
        for m in range(180, 0, -1):
            aapl *= 1 + rng.normal(0.0002, 0.001)
            spx *= 1 + rng.normal(0, 0.0005 if m > 90 else 0.01)
            quotes += [{"instrument": "AAPL", "ts": _stamp(m), "bid": aapl - 0.02, "ask": aapl + 0.02},
                       {"instrument": "SPX", "ts": _stamp(m), "bid": spx - 0.5, "ask": spx + 0.5}]
            quotes += [{"instrument": o["symbol"], "ts": _stamp(m), "bid": 5.0 + m / 100, "ask": 5.1 + m / 100}
                       for o in OPTIONS]
        ingest_batch("quotes", "paper-1", quotes)
        price, bars = 150.0, []
        for d in range(300, 0, -1):
            new = price * (1 + rng.normal(0.0003, 0.015))
            bars.append({"instrument": "AAPL", "interval": "1d", "ts": (NOW - timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
        ingest_batch("bars", "paper-1", bars)
        orders, fills, decisions = [], [], []
        outcomes = ["filled", "filled", "rejected", "canceled"]
        for i in range(24):
            status, venue = outcomes[i % 4], ("XNAS", "LP1")[i % 2]
            cid = f"o-{i}"
            orders.append({"client_order_id": cid, "strategy": ("MOM", "MR")[i % 2], "instrument": "AAPL",
                           "venue": venue, "side": ("buy", "sell")[i % 3 == 0], "quantity": 10, "status": status,
                           "created_at": _stamp(100 - i), f"{status}_at": _stamp(99.9 - i), "arrival_mid": 190.0})
            decisions.append({"decision_id": f"d-{i}", "ts": _stamp(30 - i), "strategy": "MOM", "instrument": "AAPL",
                              "client_order_id": cid, "decision": "allow", "requested_qty": 10, "allowed_qty": 10})
            if status == "filled":
                fills.append({"exec_id": f"f-{i}", "client_order_id": cid, "venue": venue, "quantity": 10,
                              "price": 190.0 + (0.05 if i % 3 else -0.05), "filled_at": _stamp(99.8 - i),
                              "mid_at_fill": 190.0})
        decisions += [{"decision_id": f"b-{i}", "ts": _stamp(2), "strategy": "MOM", "instrument": "AAPL",
                       "decision": "block", "rule": "order_rate", "reason": "61 orders in the last minute",
                       "requested_qty": 10, "allowed_qty": 0} for i in range(3)]
        for i, option in enumerate(OPTIONS):
            orders.append({"client_order_id": f"opt-{i}", "strategy": "MR", "instrument": option["symbol"],
                           "venue": "XNAS", "side": "buy", "quantity": 2 + i, "status": "filled",
                           "created_at": _stamp(60), "filled_at": _stamp(59)})
            fills.append({"exec_id": f"of-{i}", "client_order_id": f"opt-{i}", "venue": "XNAS", "quantity": 2 + i,
                          "price": 5.5, "filled_at": _stamp(59), "mid_at_fill": 5.5})
        ingest_batch("orders", "paper-1", orders)
        ingest_batch("fills", "paper-1", fills)
        ingest_batch("risk_decisions", "paper-1", decisions)
        ingest_batch("pnl_snapshots", "paper-1", [{"strategy": "MOM", "ts": _stamp(m), "equity": 1e6 + 50 * m}
                                                   for m in range(120, 0, -1)])
        controls.activate_kill_switch("trader1", "trader", "fat finger drill", "drill-1")
    return cockpit


def _graph(dash_duo, graph_id: str) -> dict:
    """The figure Plotly drew: trace types and names, node labels, shapes and the title."""
    return dash_duo.driver.execute_script("""
        const el = document.querySelector(`#${arguments[0]} .js-plotly-plot`);
        if (!el || !el.data) { return null; }
        const layout = el.layout || {};
        return {types: el.data.map(t => t.type), names: el.data.map(t => t.name || ""),
                labels: el.data.length && el.data[0].node ? el.data[0].node.label : [],
                x: el.data.map(t => (t.x || []).length), shapes: (layout.shapes || []).length,
                title: (layout.title && layout.title.text) || "",
                height: el.getBoundingClientRect().height};
    """, graph_id)


def _wait_graph(dash_duo, graph_id: str, ready, timeout: float = 45) -> dict:
    until(lambda: (lambda g: g is not None and ready(g))(_graph(dash_duo, graph_id)), timeout,
          msg=f"#{graph_id} never showed what was expected: {_graph(dash_duo, graph_id)}")
    return _graph(dash_duo, graph_id)


def test_prices_show_candles_indicators_and_our_fills(started, desk):
    login_as(started, "viewer1", path="/prices")
    started.driver.get(url(started, "/prices"))
    started.wait_for_contains_text("#px-note", "bars", timeout=45)
    started.driver.execute_script("[...document.querySelectorAll('#px-interval label')]"
                                  ".find(l => l.innerText.trim() === '1 min').click()")
    graph = _wait_graph(started, "px-chart", lambda g: "1m bars" in g["title"])
    assert "candlestick" in graph["types"]
    for name in ("SMA 20", "EMA 50", "Bollinger 20, 2σ", "RSI 14", "our buys", "our sells", "Volume"):
        assert name in graph["names"], name
    assert graph["height"] > 400  # a chart of zero height is a defect
    assert "AAPL" in started.find_element("#px-instrument").text


def test_routing_sankey_and_venue_quality(started, desk):
    login_as(started, "trader1", path="/routing")
    started.driver.get(url(started, "/routing"))
    graph = _wait_graph(started, "rt-sankey", lambda g: "sankey" in g["types"])
    assert {"MOM", "MR", "XNAS", "LP1", "filled", "rejected", "canceled"} <= set(graph["labels"])
    until(lambda: {r.get("venue") for r in grid_rows(started, "rt-venues")} == {"XNAS", "LP1"}, 30)
    rows = {r["venue"]: r for r in grid_rows(started, "rt-venues")}
    assert rows["LP1"]["fills"] == "6" and rows["XNAS"]["fills"] == "10"  # 6 equity + 4 option fills
    assert rows["LP1"]["no_quote_fills"] == "0" and rows["LP1"]["staleness_p50_ms"] != ""
    spread = _wait_graph(started, "rt-spread", lambda g: "box" in g["types"])
    assert len(spread["types"]) == 2


def test_risk_gate_statistics_stops_and_effectiveness(started, desk):
    login_as(started, "viewer1", path="/risk-gate")
    started.driver.get(url(started, "/risk-gate"))
    until(lambda: any(r.get("rule") == "order_rate" for r in grid_rows(started, "gate-stats")), 45,
          msg="no order_rate row in the decision statistics")
    rows = grid_rows(started, "gate-stats")
    blocks = [r for r in rows if r["rule"] == "order_rate" and r["window"] == "5 min"]
    assert blocks and blocks[0]["block"] == "3" and blocks[0]["block_share"] == "100.00%"
    passed = [r for r in rows if r["rule"] == "(passed every rule)" and r["window"] == "1 h"]
    assert passed[0]["allow"] == "24" and passed[0]["allow_share"] == "100.00%"
    shares = _wait_graph(started, "gate-shares", lambda g: "bar" in g["types"])
    assert shares["names"] == ["allow", "scale", "block"]
    until(lambda: any(r.get("actor") == "trader1" for r in grid_rows(started, "gate-stops")), 20)
    stop = grid_rows(started, "gate-stops")[0]
    assert stop["event"] == "activate" and stop["reason"] == "fat finger drill"
    effect = grid_rows(started, "gate-effectiveness")
    assert any(r["scope"] == "strategy" and r["name"] == "MOM" and r["source"] == "live" for r in effect)
    rule = [r for r in effect if r["scope"] == "gate rule"]
    assert rule and rule[0]["name"] == "(passed every rule)" and rule[0]["periods"] == "12"  # the 12 filled equity orders it passed


def test_options_greeks_heatmap_and_pnl_with_filters(started, desk):
    login_as(started, "risk1", path="/options")
    started.driver.get(url(started, "/options"))
    until(lambda: len(grid_rows(started, "opt-positions")) == 4, 45, msg="four option positions never showed")
    assert {r["expiry"] for r in grid_rows(started, "opt-positions")} == set(EXPIRIES)
    totals = grid_rows(started, "opt-totals")
    assert [r["underlying"] for r in totals] == ["AAPL", "All"] and totals[0]["delta"] == totals[1]["delta"]
    heat = _wait_graph(started, "opt-heatmap", lambda g: "heatmap" in g["types"])
    assert "days to expiry" in started.driver.execute_script(
        "return document.querySelector('#opt-heatmap .js-plotly-plot').layout.xaxis.title.text")
    assert started.driver.execute_script(
        "return document.querySelector('#opt-heatmap .js-plotly-plot').data[0].x.length") == 2  # two expiries
    _wait_graph(started, "opt-pnl", lambda g: "scatter" in g["types"])
    started.find_element("#opt-expiry").click()
    pick = """const o = [...document.querySelectorAll('[role=option]')].find(e => e.innerText.trim() === arguments[0]);
              if (o) { o.click(); } return !!o;"""
    until(lambda: started.driver.execute_script(pick, EXPIRIES[1]), 20, msg="the expiry choices never opened")
    until(lambda: {r.get("expiry") for r in grid_rows(started, "opt-positions")} == {EXPIRIES[1]}, 30,
          msg="the expiry filter did not narrow the positions")
    assert len(grid_rows(started, "opt-positions")) == 2


def test_command_center_shades_the_market_regime(started, desk):
    login_as(started, "viewer1")
    graph = _wait_graph(started, "cc-regime-chart", lambda g: g["shapes"] > 0)
    assert "SPX market regime" in graph["title"]
    assert any(name.startswith("SPX volatile") for name in graph["names"])
    assert any(name.startswith("SPX calm") for name in graph["names"])


def test_new_pages_need_a_session(started, desk):
    started.driver.get(url(started, "/risk-gate"))
    started.wait_for_element("#login-form")
    started.driver.get(url(started, "/options"))
    started.wait_for_element("#login-form")
