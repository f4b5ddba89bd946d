"""A stress run launched from the Risk page by a risk user, carried out by a real Celery worker, shows
its scenarios on the page when it finishes, with no reload (the page's poll keeps ticking)."""
from __future__ import annotations

import pytest
from dash.testing.wait import until

from layouts import risk_stress as ids
from tests.browser.conftest import click, grid_rows, login_as
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.timeout(480)]


def _seed_book(cockpit) -> None:
    """A long AAPL and a short XOM position, priced by quotes, with 300 days of history."""
    from datetime import datetime, timedelta, timezone

    import numpy as np

    from dashapp.services.ingest import ingest_batch
    from tests.support.trading import REFERENCE, fill, order

    rng = np.random.default_rng(4)
    start, now = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)
    bars = []
    for symbol in ("AAPL", "XOM"):
        price = 100.0
        for day in range(300):
            new = price * (1 + rng.normal(0, 0.015))
            bars.append({"instrument": symbol, "interval": "1d", "ts": (start + timedelta(days=day)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
    with cockpit.db():
        for kind, items in REFERENCE.items():
            ingest_batch(kind, "paper-1", items)
        ingest_batch("bars", "paper-1", bars)
        ingest_batch("quotes", "paper-1", [{"instrument": "AAPL", "ts": now.isoformat(), "bid": 99.9, "ask": 100.1},
                                           {"instrument": "XOM", "ts": now.isoformat(), "bid": 49.9, "ask": 50.1}])
        ingest_batch("orders", "paper-1", [order("b", qty=10_000), order("s", side="sell", qty=4_000, instrument="XOM")])
        ingest_batch("fills", "paper-1", [fill("f1", "b", 10_000, 100.0), fill("f2", "s", 4_000, 50.0)])


def _launch(started, cockpit) -> None:
    login_as(started, cockpit.usernames["risk"], path="/risk")
    click(started, started.wait_for_element(f"#{ids.RUN}"))
    started.wait_for_element("#rk-stress-queued")
    assert grid_rows(started, ids.SCENARIOS) == []


def test_a_stress_run_launched_on_the_page_shows_its_scenarios_without_a_reload(started, cockpit):
    from dashapp.kernels import warm_up

    warm_up()  # the worker then loads the kernels from numba's cache instead of compiling them
    _seed_book(cockpit)
    _launch(started, cockpit)

    with celery_worker(cockpit.app.server.config["COCKPIT_SETTINGS"], concurrency=1) as worker:
        until(lambda: len(grid_rows(started, ids.SCENARIOS)) > 0, 300,
              msg=lambda: f"the finished run's scenarios never appeared on the page; worker:\n{worker.log_tail(40)}")

    rows = grid_rows(started, ids.SCENARIOS)
    assert all(row.get("name") for row in rows) and {row.get("result") for row in rows} <= {"PASS", "FAIL"}
    # The run list names the finished run and selects it.
    selected = started.driver.execute_script(f"return document.getElementById('{ids.RUNS}').value;")
    assert selected
    assert started.get_logs() == []


def test_a_run_on_an_empty_book_says_there_was_nothing_to_stress(started, cockpit):
    # Before, a finished run on a book with no open positions left an empty grid and no word.
    _launch(started, cockpit)
    with celery_worker(cockpit.app.server.config["COCKPIT_SETTINGS"], concurrency=1):
        started.wait_for_contains_text(f"#{ids.NOTE}", "no open positions", timeout=300)
    assert grid_rows(started, ids.SCENARIOS) == []
    assert started.get_logs() == []
