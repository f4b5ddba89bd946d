"""The Backtests page in a real browser with a real Celery worker (the test's settings: the same
SQLite file and embedded filesystem broker): launch a momentum backtest from the form, watch its
progress bar go from queued (0%) to done (100%), then open the result from the runs list."""
from __future__ import annotations

import time

import pytest
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.ids import Backtests as ids
from tests.browser.conftest import click, click_grid_row, grid_rows, login_as, url, wait_for_grid_value
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.timeout(480)]


def _progress(dash_duo) -> tuple[str, float | None]:
    """(state badge text, progress bar value) of the selected run, read without implicit waits."""
    return dash_duo.driver.execute_script("""
        const state = document.getElementById("bt-state");
        const bar = document.querySelector("#bt-progress .progress-bar") || document.getElementById("bt-progress");
        const value = bar ? Number(bar.getAttribute("aria-valuenow")) : null;
        return [state ? state.innerText.trim() : "", value];
    """)


def _fill(dash_duo, element_id: str, text: str) -> None:
    element = dash_duo.find_element(f"#{element_id}")
    dash_duo.clear_input(element)
    element.send_keys(text)


def _warm_caches() -> None:
    """Compile (or load) the numba kernels here first, so the worker's pool process loads them from
    the on-disk cache instead of compiling them itself (minutes on a busy machine after any kernel
    source changed)."""
    from dashapp.backtest.warmup import warm_up as warm_backtests
    from dashapp.kernels import warm_up

    warm_up()
    warm_backtests()


def test_launch_watch_progress_and_open_the_result(started, cockpit):
    from dashapp.services import jobs

    _warm_caches()
    login_as(started, cockpit.usernames["trader"], path="/backtests")
    started.wait_for_element(f"#{ids.LAUNCH}")
    Select(started.find_element(f"#{ids.STRATEGY}")).select_by_value("momentum")
    started.wait_for_text_to_equal(f"#{ids.FIRST_LABEL}", "Lookback (bars)")
    _fill(started, ids.FIRST, "30")
    _fill(started, ids.COMMISSION_BPS, "1")
    click(started, f"#{ids.LAUNCH}")
    started.wait_for_contains_text(f"#{ids.MESSAGE}", "Backtest queued as job")

    # No worker yet: the run waits in the queue at 0%, and the list shows it.
    until(lambda: _progress(started) == ["queued", 0], 20, msg=f"never showed queued at 0%: {_progress(started)}")
    wait_for_grid_value(started, ids.RUNS, "state", "queued")

    seen = []
    with celery_worker(cockpit.app.server.config["COCKPIT_SETTINGS"], concurrency=1) as worker:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            state, value = _progress(started)
            if not seen or seen[-1] != (state, value):
                seen.append((state, value))
            if state in ("succeeded", "failed", "timed_out", "canceled"):
                break
            time.sleep(0.05)
        log = worker.log_tail(60)
    with cockpit.db():
        stored = jobs.list_jobs(job_type_name="backtest")
        stored = [(j.state, j.progress, j.message) for j in stored]
    values = [v for _, v in seen]
    assert seen[-1] == ("succeeded", 100), f"{seen}; stored {stored}; worker log:\n{log}"
    assert values[0] == 0 and values == sorted(values), seen  # the bar only ever moves forward

    # The result opens below the run: metrics, trades, monthly returns, and the live comparison
    # saying plainly that the engine has not run yet.
    started.wait_for_element(f"#{ids.RESULT}")
    until(lambda: started.find_element(f"#{ids.RESULT}").is_displayed(), 20)
    started.wait_for_contains_text("#bt-summary-text", "Momentum (lookback=30, threshold=0.002) on AAPL")
    assert started.find_element("#bt-metric-sharpe").text not in ("", "—")
    assert grid_rows(started, ids.TRADES) and "trades" in started.find_element("#bt-trades-count").text
    until(lambda: "2022" in [r.get("year") for r in grid_rows(started, ids.MONTHLY)], 20)
    started.wait_for_contains_text("#bt-live-none", "No live data yet for Momentum: the paper engine has not "
                                                    "registered a momentum strategy yet")

    with cockpit.db():
        (job,) = jobs.list_jobs(job_type_name="backtest")
        assert job.state == "succeeded" and job.created_by == cockpit.usernames["trader"]
        assert job.params["strategy"] == {"kind": "momentum", "lookback": 30, "threshold": 0.002}
        assert job.params["costs"]["commission_bps"] == 1.0
        trades = job.result["metrics"]["trades"]

    # A fresh page has nothing selected; clicking the run in the list opens the same result.
    started.driver.get(url(started, "/backtests"))
    started.wait_for_contains_text("#page-backtests", "No run selected")
    click_grid_row(started, ids.RUNS, "state", "succeeded")
    started.wait_for_contains_text("#bt-summary-text", "Momentum (lookback=30")
    assert started.find_element("#bt-metric-trades").text == f"{trades:,}"
    _charts_are_drawn_above_the_cards(started)
    assert started.get_logs() == []


def _charts_are_drawn_above_the_cards(dash_duo) -> None:
    """The Equity and Drawdown graphs have real height (they once had none) and end above the Trades
    and Monthly returns cards (they once hid behind them): read from the element rectangles."""
    def rects() -> dict:
        return dash_duo.driver.execute_script("""
            const r = id => { const el = document.getElementById(id); if (!el) { return null; }
                const b = el.getBoundingClientRect(); return {top: b.top, bottom: b.bottom, height: b.height}; };
            const svg = id => { const el = document.querySelector(`#${id} .main-svg`);
                return el ? el.getBoundingClientRect().height : 0; };
            return {equity: r(arguments[0]), drawdown: r(arguments[1]), trades: r(arguments[2]),
                    monthly: r(arguments[3]), equitySvg: svg(arguments[0]), drawdownSvg: svg(arguments[1])};
        """, ids.EQUITY, ids.DRAWDOWN, ids.TRADES, ids.MONTHLY)

    until(lambda: rects()["equitySvg"] > 150 and rects()["drawdownSvg"] > 100, 20, msg=lambda: f"{rects()}")
    shown = rects()
    assert shown["equity"]["height"] > 150 and shown["drawdown"]["height"] > 100, shown
    below = min(shown["trades"]["top"], shown["monthly"]["top"])
    assert shown["equity"]["bottom"] <= below + 0.5 and shown["drawdown"]["bottom"] <= below + 0.5, shown
