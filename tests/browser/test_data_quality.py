"""Poisoned rows in a real browser: with extreme rows inserted by direct SQL, the Command Center,
Trading and Risk pages still render their main content (and no callback fails: the browser log is
clean); an admin sees the rows in the data-quality section, a viewer can neither open it nor run it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa
from dash.testing.wait import until

from dashapp.services.ingest import ingest_batch
from models import Fill, Instrument, Order, PnlSnapshot, Quote, Strategy, Venue
from tests.browser.conftest import click, grid_column, login_as, url
from tests.support.trading import REFERENCE, fill, order

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=timezone.utc)


@pytest.fixture
def poisoned(cockpit):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ago = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    with cockpit.db() as session:
        for kind, items in REFERENCE.items():
            ingest_batch(kind, "paper-1", items)
        ingest_batch("orders", "paper-1", [order(f"o-{i}", qty=10, created_at=ago(30 - i)) for i in range(5)])
        ingest_batch("fills", "paper-1", [fill("a-1", "o-3", 10, 100.0, filled_at=ago(20))])
        ingest_batch("quotes", "paper-1", [{"instrument": "AAPL", "ts": ago(5), "bid": 99.9, "ask": 100.1}])
        ingest_batch("pnl_snapshots", "paper-1", [{"strategy": "MOM", "ts": ago(m), "equity": 1e6 + m}
                                                  for m in (30, 20, 10)])
        rng = np.random.default_rng(5)
        bars, price = [], 100.0
        for d in range(80, 0, -1):
            new = price * (1 + rng.normal(0, 0.01))
            bars.append({"instrument": "AAPL", "interval": "1d", "ts": (now - timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
        ingest_batch("bars", "paper-1", bars)
        one = lambda stmt: session.execute(stmt).scalar_one()  # noqa: E731
        aapl, mom = one(sa.select(Instrument.id).where(Instrument.symbol == "AAPL")), \
            one(sa.select(Strategy.id).where(Strategy.code == "MOM"))
        account, xnas = one(sa.select(Strategy.account_id).where(Strategy.id == mom)), \
            one(sa.select(Venue.id).where(Venue.code == "XNAS"))
        # Past every check on the write side: straight into the tables.
        session.execute(sa.insert(Quote.__table__).values(instrument_id=aapl, ts=FAR_FUTURE, bid=1e300, ask=1e300))
        session.execute(sa.insert(PnlSnapshot.__table__).values(engine_id="paper-1", strategy_id=mom, ts=FAR_FUTURE,
                                                                equity=1e300))
        future = session.execute(sa.insert(Order.__table__).values(
            engine_id="paper-1", client_order_id="future-order", strategy_id=mom, account_id=account,
            instrument_id=aapl, venue_id=xnas, side="buy", order_type="market", quantity=1e18, filled_quantity=0.0,
            status="new", created_at=FAR_FUTURE, updated_at=now).returning(Order.id)).scalar_one()
        session.execute(sa.insert(Fill.__table__).values(
            engine_id="paper-1", exec_id="huge", order_id=future, instrument_id=aapl, venue_id=xnas, strategy_id=mom,
            side="buy", quantity=1e18, price=1e300, fee=0.0, liquidity="taker", filled_at=now - timedelta(minutes=1)))
        session.commit()
    return cockpit


def _graph_text(dash_duo, element_id: str) -> str:
    return dash_duo.driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : '';", element_id)


def test_pages_render_their_main_content_with_extreme_rows_stored(started, poisoned):
    login_as(started, "trader1")
    until(lambda: "AAPL" in grid_column(started, "cc-positions", "instrument"), 30, msg="no positions on the CC")
    until(lambda: "Equity" in _graph_text(started, "cc-equity"), 20, msg="the equity chart never drew")
    assert "No P&L snapshots" not in _graph_text(started, "cc-equity")  # the real points are drawn
    until(lambda: "Filled notional" in _graph_text(started, "cc-venue"), 20)
    started.driver.get(url(started, "/trading"))
    until(lambda: "o-4" in grid_column(started, "tr-blotter", "client_order_id"), 30, msg="blotter never filled")
    assert "future-order" not in grid_column(started, "tr-blotter", "client_order_id")
    started.driver.get(url(started, "/risk"))
    started.wait_for_element("#rk-level")
    until(lambda: "VaR 99%" in started.find_element("#rk-summary").text, 30)
    assert "n/a (no history)" not in started.find_element("#rk-summary").text  # the year-9999 bar did not hide it
    # No callback failed on any of the three pages (other console noise is not this test's business).
    failed = [e["message"] for e in started.get_logs()
              if "_dash-update-component" in e["message"] or "status of 5" in e["message"]]
    assert failed == []


def test_admin_sees_the_findings_and_a_viewer_cannot(started, poisoned):
    login_as(started, "admin1", path="/admin")
    started.driver.get(url(started, "/admin"))
    click(started, started.wait_for_element("#admin-dq-run"))
    started.wait_for_element("#admin-dq-findings")
    until(lambda: {"quotes", "orders", "fills", "P&L snapshots"} <= set(grid_column(started, "admin-dq-grid", "kind")),
          20, msg="the data-quality grid misses a poisoned kind")
    assert "ts in the future" in grid_column(started, "admin-dq-grid", "rule")
    login_as(started, "viewer1", path="/admin")
    started.driver.get(url(started, "/admin"))
    started.wait_for_element("#page-forbidden")
    assert not started.driver.find_elements("css selector", "#admin-dq-run")
    # The request the Run check button sends, made by hand with the viewer's session.
    status = started.driver.execute_script("""
        const csrf = document.cookie.split('; ').find(c => c.startsWith('_csrf_token=')).split('=')[1];
        const body = {output: '..admin-dq-summary.children...admin-dq-grid.rowData..',
                      outputs: [{id: 'admin-dq-summary', property: 'children'},
                                {id: 'admin-dq-grid', property: 'rowData'}],
                      inputs: [{id: 'admin-dq-run', property: 'n_clicks', value: 1}],
                      changedPropIds: ['admin-dq-run.n_clicks']};
        const xhr = new XMLHttpRequest();
        xhr.open('POST', '/_dash-update-component', false);
        xhr.setRequestHeader('Content-Type', 'application/json');
        xhr.setRequestHeader('X-CSRFToken', decodeURIComponent(csrf));
        xhr.send(JSON.stringify(body));
        return xhr.status;
    """)
    assert status == 403
