"""Indicators that say what is true, read from the page as a person sees it (issue 10): the
trading-mode badge follows the store without a reload, the push badge never reads as live trading,
Worker/Beat tiles say UP once a heartbeat lands, a risk-gate block does not make the Command Center
disagree with the Risk page, Daily P&L shows intraday values on the first day, the limit picker shows
the saved value, and a stress run's results appear when it finishes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from dash.testing.wait import until

from dashapp.services import approvals, controls, health
from dashapp.services.ingest import ingest_batch
from tests.browser.conftest import click, grid_column, login_as, url
from tests.support.trading import REFERENCE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _text(dash_duo, element_id: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText.trim() : null;", element_id)


def _wait_text(dash_duo, element_id: str, text: str, timeout: float = 40) -> None:
    until(lambda: _text(dash_duo, element_id) == text, timeout,
          msg=f"#{element_id} never read {text!r} (it reads {_text(dash_duo, element_id)!r})")


def _figure_title(dash_duo, graph_id: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const t = document.querySelector(`#${arguments[0]} .gtitle`); return t ? t.textContent : null;", graph_id)


@pytest.fixture
def reference(cockpit):
    with cockpit.db():
        for kind, items in REFERENCE.items():
            ingest_batch(kind, "paper-1", items)
    return cockpit


def test_trading_mode_badge_follows_the_store_without_a_reload(started, cockpit):
    login_as(started, "viewer1")
    _wait_text(started, "shell-mode-badge", "PAPER")
    # The push badge says how updates arrive, never "LIVE" (that read as live trading).
    until(lambda: (_text(started, "shell-live-badge") or "").startswith(("⇅ Push", "↻ Push", "… Push")), 30)
    assert _text(started, "shell-live-badge") != "LIVE"
    marker = started.driver.execute_script("window.__noReload = 1; return window.__noReload;")
    with cockpit.db():  # LIVE is four-eyes (services/approvals.py): one admin asks, another approves
        controls.set_trading_mode("admin1", "admin", "live", "browser test: live")
        request = approvals.pending(approvals.Actor("admin2", "admin"), controls.LIVE)[0]
        approvals.approve(request.id, approvals.Actor("admin2", "admin"))
    _wait_text(started, "shell-mode-badge", "LIVE TRADING")
    with cockpit.db():
        controls.set_trading_mode("admin1", "admin", "paper", "browser test: back to paper")
    _wait_text(started, "shell-mode-badge", "PAPER")
    assert started.driver.execute_script("return window.__noReload;") == marker  # the same page, never reloaded
    assert started.get_logs() == []


def test_worker_and_beat_tiles_say_up_after_a_heartbeat(started, cockpit):
    login_as(started, "viewer1")
    _wait_text(started, "tile-worker", "UNKNOWN")
    _wait_text(started, "tile-beat", "UNKNOWN")
    sent = datetime.now(timezone.utc) - timedelta(seconds=2)
    with cockpit.db():
        # What beat's risk tick does on a worker (workers.tasks.monitor_risk).
        health.record_worker_heartbeat(sent.isoformat(), "celery@test-worker")
    _wait_text(started, "tile-worker", "UP")
    _wait_text(started, "tile-beat", "UP")
    assert "celery@test-worker" in _text(started, "cc-tiles")
    assert started.get_logs() == []


def test_risk_gate_blocks_do_not_make_the_command_center_disagree_with_the_risk_page(started, reference):
    now = datetime.now(timezone.utc)
    with reference.db():
        ingest_batch("risk_decisions", "paper-1", [
            {"decision_id": f"d-{i}", "ts": (now - timedelta(seconds=30 + i)).isoformat(), "strategy": "MOM",
             "instrument": "AAPL", "decision": "block", "rule": "order_rate", "reason": "too many orders per minute",
             "requested_qty": 10, "allowed_qty": 0} for i in range(5)])
    login_as(started, "risk1")
    until(lambda: _text(started, "cc-risk-level") in ("OK", "WARNING", "CRITICAL"), 40, msg="no risk level")
    until(lambda: "pre-trade gate" in (_text(started, "cc-risk") or ""), 40, msg="the gate's blocks are not noted")
    command_center = _text(started, "cc-risk-level")
    assert command_center == "OK", _text(started, "cc-risk")  # blocks alone are the gate working, not a risk level
    started.driver.get(url(started, "/risk"))
    until(lambda: _text(started, "rk-level") is not None, 60, msg="no risk level on the Risk page")
    assert _text(started, "rk-level") == command_center
    assert started.get_logs() == []


def test_daily_pnl_shows_intraday_values_on_the_first_day(started, reference):
    now = datetime.now(timezone.utc)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    stamps = [start + (now - start) * k / 4 for k in (1, 2, 3, 4)]  # all today, none in the future
    with reference.db():
        ingest_batch("pnl_snapshots", "paper-1", [
            {"strategy": "MOM", "ts": ts.isoformat(), "equity": equity}
            for ts, equity in zip(stamps, (1_000_000.0, 1_000_500.0, 1_001_200.0, 1_001_500.0))])
    login_as(started, "viewer1")
    until(lambda: (_figure_title(started, "cc-daily-pnl") or "").startswith("Today's P&L +1,500"), 60,
          msg=f"Daily P&L reads {_figure_title(started, 'cc-daily-pnl')!r}")
    assert "first snapshot today" in _figure_title(started, "cc-daily-pnl")
    points = started.driver.execute_script(
        "return document.querySelector('#cc-daily-pnl .js-plotly-plot')._fullData[0].y.length;")
    assert points == 4
    assert started.get_logs() == []


def _selected_option(dash_duo, select_id: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const s = document.getElementById(arguments[0]); const o = s && s.options[s.selectedIndex];"
        "return o ? o.text : null;", select_id)


def test_limit_picker_shows_the_new_value_after_an_edit(started, reference):
    login_as(started, "risk1", path="/risk")
    started.driver.get(url(started, "/risk"))
    until(lambda: started.driver.execute_script(
        "const s = document.getElementById('rk-limit-pick'); return s && s.options.length > 1;"), 60,
        msg="no limits in the picker")
    label = started.driver.execute_script("""
        const s = document.getElementById('rk-limit-pick');
        const o = [...s.options].find(o => o.text.startsWith('gross_exposure'));
        s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return o.text;""")
    until(lambda: started.find_element("#rk-limit-kind").get_attribute("value") == "gross_exposure", 20)
    until(lambda: started.find_element("#rk-limit-value").get_attribute("value") not in ("", None), 20)
    box = started.find_element("#rk-limit-value")
    box.clear()
    box.send_keys("4321000")
    click(started, "#rk-limit-save")
    started.wait_for_contains_text("#rk-limit-saved", "saved")
    until(lambda: "= 4.321e+06" in (_selected_option(started, "rk-limit-pick") or ""), 20,
          msg=f"the picker still reads {_selected_option(started, 'rk-limit-pick')!r} (was {label!r})")
    assert started.get_logs() == []


def test_stress_pick_shows_the_launched_run_once_it_succeeded():
    """The stress section's choice of run (callbacks.risk_stress.stress_pick), without a browser."""
    from dash import no_update

    from callbacks.risk_stress import stress_pick

    options = [{"label": "b", "value": "job-b"}, {"label": "a", "value": "job-a"}]
    assert stress_pick(options, None, "job-b", {"job-b": "succeeded"}) == ("job-b", None)
    assert stress_pick(options, "job-a", "job-c", {"job-c": "running"}) == (no_update, no_update)  # still waiting
    assert stress_pick(options, "job-a", "job-c", {"job-c": "failed"}) == (no_update, None)  # stop waiting
    assert stress_pick(options, None, None, {}) == ("job-b", no_update)  # nothing on show: the newest
    assert stress_pick(options, "job-a", None, {}) == (no_update, no_update)  # the user's pick stays
