"""Blotter paging/filtering/drill-down and the desk overview, on data sent through the ingest API."""
from __future__ import annotations

import pytest

from dashapp.services import blotter, desk
from dashapp.services.errors import ValidationError
from tests.support.trading import fill, iso, order


@pytest.fixture
def book(api):
    orders = [order(f"o-{i}", side="buy" if i % 2 else "sell", qty=10 + i, minutes=i,
                    status="filled" if i % 3 == 0 else "acknowledged", filled_quantity=(10 + i) if i % 3 == 0 else 0,
                    avg_fill_price=191.0 if i % 3 == 0 else None, acknowledged_at=iso(i + 0.001))
              for i in range(30)]
    orders[5]["instrument"] = "XOM"
    assert api("orders", orders).status_code == 200
    assert api("orders", [order("child-a", parent_client_order_id="o-3", venue="LP1", qty=5, minutes=3.5)]).status_code == 200
    assert api("fills", [fill("f-1", "o-3", 13, 191.0, minutes=3.2), fill("f-2", "o-6", 16, 191.0, minutes=6.2)]).status_code == 200
    assert api("quotes", [{"instrument": "AAPL", "ts": iso(40), "bid": 194.9, "ask": 195.1}]).status_code == 200
    assert api("pnl_snapshots", [{"strategy": "MOM", "ts": iso(m), "equity": e} for m, e in
                                 [(0, 1000.0), (10, 1100.0), (20, 990.0), (30, 1045.0)]]).status_code == 200
    return api


def test_first_page_is_newest_first_and_paged(book):
    page = blotter.query_orders(0, 10)
    assert len(page.rows) == 10 and page.last_row is None
    stamps = [r["created_at"] for r in page.rows]
    assert stamps == sorted(stamps, reverse=True)
    tail = blotter.query_orders(25, 50)
    assert tail.last_row == 31 and len(tail.rows) == 6


def test_filters_sort_and_search(book):
    filled = blotter.query_orders(0, 100, filter_model={"status": {"filterType": "text", "type": "equals", "filter": "filled"}})
    assert filled.rows and all(r["status"] == "filled" for r in filled.rows)
    big = blotter.query_orders(0, 100, filter_model={"quantity": {"filterType": "number", "type": "greaterThan", "filter": 35}})
    assert sorted(r["quantity"] for r in big.rows) == [36, 37, 38, 39]
    by_qty = blotter.query_orders(0, 3, sort_model=[{"colId": "quantity", "sort": "asc"}])
    assert [r["quantity"] for r in by_qty.rows] == [5, 10, 11]
    xom = blotter.query_orders(0, 100, search="XOM")
    assert [r["client_order_id"] for r in xom.rows] == ["o-5"]


def test_slippage_is_a_cost_for_both_sides(book):
    rows = {r["client_order_id"]: r for r in blotter.query_orders(0, 100).rows}
    buy, sell = rows["o-3"], rows["o-6"]  # both filled at 191 against an arrival mid of 190
    assert buy["side"] == "buy" and buy["slippage_bps"] == pytest.approx(52.63, abs=0.01)
    assert sell["side"] == "sell" and sell["slippage_bps"] == pytest.approx(-52.63, abs=0.01)
    assert buy["latency_ms"] == pytest.approx(60.0 + 0.06, abs=1.0)  # ack 0.001 min after creation


def test_bad_sort_or_filter_is_refused_by_name(book):
    with pytest.raises(ValidationError, match="password"):
        blotter.query_orders(0, 10, sort_model=[{"colId": "password", "sort": "asc"}])
    with pytest.raises(ValidationError, match="needs a number"):
        blotter.query_orders(0, 10, filter_model={"quantity": {"filterType": "number", "type": "equals", "filter": "x"}})


def test_drill_down_to_children_and_fills(book):
    parent = [r for r in blotter.query_orders(0, 100).rows if r["client_order_id"] == "o-3"][0]
    detail = blotter.order_detail(parent["id"])
    assert [c["client_order_id"] for c in detail["children"]] == ["child-a"]
    assert [f["exec_id"] for f in detail["fills"]] == ["f-1"]


def test_desk_overview(book):
    curve = desk.equity_curve(since_days=100000)
    assert list(curve["equity"]) == [1000.0, 1100.0, 990.0, 1045.0]
    assert curve["drawdown"].min() == pytest.approx(990 / 1100 - 1)
    positions = desk.open_positions()
    aapl = positions[positions["instrument"] == "AAPL"].iloc[0]
    assert aapl["quantity"] == pytest.approx(13 - 16) and aapl["last"] == pytest.approx(195.0)
    sectors = desk.exposure_by_sector(positions)
    assert sectors.loc[sectors["sector"] == "Technology", "net"].iloc[0] == pytest.approx(-3 * 195.0)
    level, reasons = desk.risk_state()
    assert level in ("OK", "WARNING", "CRITICAL") and isinstance(reasons, list)
