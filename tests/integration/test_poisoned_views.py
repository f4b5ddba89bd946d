"""Views that cannot be poisoned: after extreme rows are inserted by direct SQL (past every check on
the write side), every page's service, figure and export still works, the outliers are dropped or
clipped, and the rest of the data is intact. The data-quality check finds each of those rows.

Runs on SQLite and PostgreSQL (on PostgreSQL an absurd product overflows and fails the statement,
so the guards must act in SQL, before the arithmetic)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from dashapp.exports import service as export_service
from dashapp.exports.params import ExportParams
from dashapp.extensions import db
from dashapp.services import blotter, data_quality, desk, execution
from dashapp.services.risk import book as risk_book
from dashapp.services.risk import dashboard
from layouts import figures
from models import (Bar, EngineEvent, Fill, Instrument, Order, PnlSnapshot, Position, Quote, RiskDecision, Signal,
                    Strategy, Venue, utcnow)
from tests.support.trading import fill, order

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=timezone.utc)
ANCIENT = datetime(1970, 1, 1, tzinfo=timezone.utc)
HUGE = 1e300


@pytest.fixture
def now():
    return utcnow().replace(microsecond=0)


@pytest.fixture
def book(api, now):
    """A small sane book near now: AAPL and XOM with 60 daily bars, quotes, orders, fills, P&L."""
    rng = np.random.default_rng(3)
    bars = []
    for symbol in ("AAPL", "XOM"):
        price = 100.0
        for d in range(60, 0, -1):
            new = price * (1 + rng.normal(0, 0.01))
            bars.append({"instrument": symbol, "interval": "1d", "ts": (now - timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
    assert api("bars", bars).status_code == 200
    at = (now - timedelta(minutes=30)).isoformat()
    assert api("quotes", [{"instrument": "AAPL", "ts": at, "bid": 99.9, "ask": 100.1},
                          {"instrument": "XOM", "ts": at, "bid": 49.9, "ask": 50.1}]).status_code == 200
    ago = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    orders = [order(f"o{i}", qty=10, status="filled", filled_quantity=10, venue="XNAS" if i % 2 else "LP1",
                    avg_fill_price=100.05, arrival_mid=100.0, created_at=ago(50 - i), filled_at=ago(49 - i),
                    acknowledged_at=ago(50 - i)) for i in range(6)]
    assert api("orders", orders).status_code == 200
    fills = [fill(f"f{i}", f"o{i}", 10, 100.05, filled_at=ago(49 - i), mid_at_arrival=100.0, mid_at_fill=100.05,
                  venue="XNAS" if i % 2 else "LP1") for i in range(6)]
    assert api("fills", fills).status_code == 200
    assert api("pnl_snapshots", [{"strategy": "MOM", "ts": ago(m), "equity": e}
                                 for m, e in [(40, 1_000_000.0), (30, 1_001_000.0), (20, 999_000.0)]]).status_code == 200
    assert api("signals", [{"signal_id": "s1", "strategy": "MOM", "instrument": "AAPL", "ts": ago(25),
                            "direction": 1, "confidence": 0.7}]).status_code == 200
    return api


def _ids() -> dict:
    one = lambda stmt: db.session.execute(stmt).scalar_one()  # noqa: E731
    return {"aapl": one(sa.select(Instrument.id).where(Instrument.symbol == "AAPL")),
            "xom": one(sa.select(Instrument.id).where(Instrument.symbol == "XOM")),
            "mom": one(sa.select(Strategy.id).where(Strategy.code == "MOM")),
            "mr": one(sa.select(Strategy.id).where(Strategy.code == "MR")),
            "account": one(sa.select(Strategy.account_id).where(Strategy.code == "MOM")),
            "xnas": one(sa.select(Venue.id).where(Venue.code == "XNAS")),
            "o1": one(sa.select(Order.id).where(Order.client_order_id == "o1"))}


def _poison(now) -> dict:
    """Extreme rows straight into the tables (the write side's checks never see them)."""
    ids = _ids()
    recent = now - timedelta(minutes=10)
    inf = float("inf")
    run = lambda table, **values: db.session.execute(sa.insert(table).values(**values))  # noqa: E731
    run(Quote.__table__, instrument_id=ids["aapl"], ts=FAR_FUTURE, bid=HUGE, ask=HUGE)
    run(Quote.__table__, instrument_id=ids["aapl"], ts=ANCIENT, bid=5e-324, ask=5e-324)
    run(Quote.__table__, instrument_id=ids["xom"], ts=recent, bid=inf, ask=inf)
    run(Bar.__table__, instrument_id=ids["aapl"], interval="1d", ts=FAR_FUTURE, open=HUGE, high=HUGE, low=HUGE,
        close=HUGE, volume=0.0)
    common = dict(engine_id="paper-1", strategy_id=ids["mom"], account_id=ids["account"], instrument_id=ids["aapl"],
                  venue_id=ids["xnas"], side="buy", order_type="market", updated_at=now)
    future_order = db.session.execute(sa.insert(Order.__table__).values(
        client_order_id="future\x07bell", quantity=1e18, filled_quantity=1e18, avg_fill_price=HUGE, arrival_mid=HUGE,
        status="filled", created_at=FAR_FUTURE, acknowledged_at=FAR_FUTURE, **common).returning(Order.id)).scalar_one()
    run(Order.__table__, client_order_id="ancient", quantity=5.0, status="new", created_at=ANCIENT, **common)
    run(Order.__table__, client_order_id="late-ack", quantity=5.0, status="acknowledged", created_at=recent,
        acknowledged_at=FAR_FUTURE, arrival_mid=100.0, **common)
    fill_common = dict(engine_id="paper-1", instrument_id=ids["aapl"], venue_id=ids["xnas"], strategy_id=ids["mom"],
                       side="buy", fee=0.0, liquidity="taker")
    run(Fill.__table__, exec_id="huge", order_id=future_order, quantity=1e18, price=HUGE, mid_at_arrival=HUGE,
        mid_at_fill=HUGE, filled_at=recent, **fill_common)
    run(Fill.__table__, exec_id="future", order_id=future_order, quantity=1.0, price=100.0, filled_at=FAR_FUTURE,
        **fill_common)
    run(Fill.__table__, exec_id="overfill", order_id=ids["o1"], quantity=1_000.0, price=100.0, mid_at_arrival=100.0,
        filled_at=recent, **fill_common)
    run(Position.__table__, account_id=ids["account"], strategy_id=ids["mr"], instrument_id=ids["xom"],
        quantity=1e18, avg_cost=HUGE, realized_pnl=inf, fees=0.0, updated_at=now)
    run(PnlSnapshot.__table__, engine_id="paper-1", strategy_id=ids["mom"], ts=FAR_FUTURE, equity=HUGE)
    run(PnlSnapshot.__table__, engine_id="paper-1", strategy_id=ids["mom"], ts=now - timedelta(minutes=15),
        equity=inf)
    run(Signal.__table__, engine_id="paper-1", signal_id="future", strategy_id=ids["mom"], instrument_id=ids["aapl"],
        ts=FAR_FUTURE, direction=1, confidence=0.5)
    run(RiskDecision.__table__, engine_id="paper-1", decision_id="future", ts=FAR_FUTURE, strategy_id=ids["mom"],
        instrument_id=ids["aapl"], decision="block", rule="x", reason="x", requested_qty=1e18, allowed_qty=0.0)
    run(EngineEvent.__table__, engine_id="paper-1", event_id="bell", ts=FAR_FUTURE, level="info", kind="note",
        message="ring\x07\x1b[2J", data={})
    db.session.commit()
    risk_book._RETURNS_CACHE.clear()
    return {**ids, "future_order": future_order}


def test_command_center_and_trading_read_around_the_outliers(book, now):
    ids = _poison(now)
    curve = desk.equity_curve()
    assert list(curve["equity"]) == [1_000_000.0, 1_001_000.0, 999_000.0]  # future and inf snapshots left out
    assert figures.equity(curve).data and figures.drawdown(curve).data
    figures.daily_pnl(desk.daily_pnl(curve))
    prices = desk.last_prices()
    assert prices[ids["aapl"]] == pytest.approx(100.0) and prices[ids["xom"]] == pytest.approx(50.0)
    positions = desk.open_positions()
    assert (positions["quantity"].abs() < 1e12).all() and np.isfinite(positions["market_value"]).all()
    assert "MR" not in set(positions["strategy"])  # the absurd position is the one left out
    sectors = desk.exposure_by_sector(positions)
    figures.bars(sectors, "sector", ["net", "gross"], "Exposure by sector", "none")
    venues = desk.notional_by_venue()
    xnas = venues.set_index("venue").loc["XNAS"]
    assert xnas["notional"] == pytest.approx(3 * 10 * 100.05 + 1_000 * 100.0)  # the huge fill is not summed
    throughput = desk.order_throughput()
    assert throughput["orders"].sum() == 7 and len(throughput) <= 61  # six orders + late-ack; no year 9999
    assert all(b["ts"] < "9999" for b in desk.recent_blocks())
    assert [s["ts"] for s in desk.recent_signals()] == [(now - timedelta(minutes=25)).isoformat()]
    desk.risk_state()
    page = blotter.query_orders(0, 100)
    assert {"future\x07bell", "ancient"}.isdisjoint({r["client_order_id"] for r in page.rows})
    assert page.rows[0]["client_order_id"] == "late-ack" and len(page.rows) == 7
    detail = blotter.order_detail(ids["future_order"])  # still reachable by id, and its slippage is empty
    assert detail["order"]["slippage_bps"] is None and len(detail["fills"]) == 2


def test_risk_and_execution_read_around_the_outliers(book, now):
    _poison(now)
    view = dashboard.risk_view(apply_actions=False)
    assert not view.var_table.empty  # the year-9999 bar did not push the history past every real bar
    assert np.isfinite(view.gross) and abs(view.gross) < 1e15 and view.equity == pytest.approx(999_000.0)
    for frame in (view.exposure_history, view.var_table.select_dtypes("number")):
        assert np.isfinite(frame.to_numpy(dtype=float)).all()
    figures.heatmap(view.exposure_history.T, "Exposure", "none")
    cards = execution.scorecards(since=now - timedelta(hours=2), by="venue")
    assert set(cards["venue"]) == {"XNAS", "LP1"}
    assert np.isfinite(cards["avg_slippage_bps"]).all() and (cards["latency_p99_ms"].dropna() < 3_600_000).all()
    fills, orders = execution.distributions(since=now - timedelta(hours=2))
    assert len(fills) == 7 and fills["price"].max() < 1e9  # six fills and the overfill; not the huge one
    figures.distribution(fills, "venue", "slippage_bps", "Slippage", "none")
    figures.distribution(orders.dropna(subset=["latency_ms"]), "venue", "latency_ms", "Latency", "none", log_y=True)


@pytest.mark.parametrize("dataset", ["orders", "fills", "positions", "risk", "tca"])
def test_every_export_still_writes(book, now, tmp_path, dataset):
    _poison(now)
    for fmt in ("csv", "xlsx", "json", "pdf"):
        params = ExportParams(dataset=dataset, format=fmt)
        result = export_service.write_export(params, tmp_path, f"{dataset}-{fmt}", "test")
        assert result["size"] > 0 and result["rows"] >= 1


def test_figures_drop_a_non_finite_point_and_say_so():
    import pandas as pd

    curve = pd.DataFrame({"ts": pd.date_range("2026-01-01", periods=4, tz="UTC"),
                          "equity": [1.0, float("inf"), 1e300, 2.0], "drawdown": [0.0, 0.0, 0.0, 0.0]})
    figure = figures.equity(curve)
    assert list(figure.data[0].y) == [1.0, 2.0]
    assert [a.text for a in figure.layout.annotations] == ["2 outlier points not shown"]
    assert not figures.equity(curve.iloc[[0, 3]]).layout.annotations


def test_data_quality_check_finds_each_poisoned_row(book, now):
    ids = _poison(now)
    before = data_quality.check()
    found = {(f.kind, f.rule): f for f in before.findings}
    expect = {
        ("quotes", "ts in the future"), ("quotes", "ts before the data epoch"),
        ("quotes", "bid not a price in (0, MAX_ABS_PRICE]"), ("bars", "ts in the future"),
        ("orders", "created_at in the future"), ("orders", "created_at before the data epoch"),
        ("orders", "quantity not a quantity in (0, MAX_QTY]"), ("orders", "client_order_id has control characters"),
        ("orders", "fills add up to more than the order's quantity"), ("fills", "filled_at in the future"), ("fills", "price not a price in (0, MAX_ABS_PRICE]"),
        ("positions", "quantity absurd or not finite"), ("positions", "realized_pnl absurd or not finite"),
        ("P&L snapshots", "ts in the future"), ("P&L snapshots", "equity absurd or not finite"),
        ("signals", "ts in the future"), ("risk decisions", "ts in the future"),
        ("engine events", "message has control characters"),
    }
    assert expect <= set(found), expect - set(found)
    assert found[("orders", "fills add up to more than the order's quantity")].sample_ids == [ids["o1"]]
    assert found[("orders", "created_at in the future")].sample_ids == [ids["future_order"]]
    assert found[("quotes", "ts in the future")].count == 1 and not before.clean
    # read only: running it changes nothing
    assert db.session.execute(sa.select(sa.func.count()).select_from(Order)).scalar() == 9
    assert {(f.kind, f.rule) for f in data_quality.check().findings} == set(found)


def test_data_quality_check_of_a_clean_book_is_clean(book):
    report = data_quality.check()
    assert report.clean, report.rows()
    assert report.rules_checked == len(data_quality.RULES)


def test_data_quality_command_lists_the_findings_and_exits_1(book, now, server):
    from dashapp.cli import data_quality_check

    clean = server.test_cli_runner().invoke(data_quality_check)
    assert clean.exit_code == 0 and "0 findings" in clean.output
    ids = _poison(now)
    result = server.test_cli_runner().invoke(data_quality_check)
    assert result.exit_code == 1
    assert f"orders: created_at in the future: 1 rows (e.g. ids {ids['future_order']})" in result.output
