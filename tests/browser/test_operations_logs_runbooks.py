"""Operations -> Logs and Runbooks in a real browser: the log search finds a request by its id (typed
in the form, and through a link); a viewer reads the runbooks but gets no action controls; a trader's
request runs only after a risk user approves it, and the run's output shows."""
from __future__ import annotations

import uuid

import pytest
import requests
from dash.testing.wait import until

from layouts.operations_tools_ids import OpsLogs
from layouts.operations_tools_ids import OpsRunbooks as R
from tests.browser.conftest import click, grid_rows, login_as, url

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_log_search_finds_a_request_by_its_id(started, cockpit):
    from dashapp.observability import configure_logging

    # The fixture migrated its database in this process, and Alembic's env.py (fileConfig) replaced the
    # root logger's handlers; a web process never migrates in-process, so put the app's logging back.
    settings = cockpit.app.server.config["COCKPIT_SETTINGS"]
    configure_logging(settings.log_level, settings.instance_dir)
    request_id = f"browser-{uuid.uuid4().hex[:10]}"
    answer = requests.get(url(started, "/login"), headers={"X-Request-ID": request_id}, timeout=10)
    assert answer.headers["X-Request-ID"] == request_id

    login_as(started, "viewer1", path="/operations/logs")
    started.driver.get(url(started, "/operations/logs"))
    box = started.wait_for_element(f"#{OpsLogs.REQUEST_ID}")
    box.send_keys(request_id)
    click(started, f"#{OpsLogs.SEARCH}")
    until(lambda: [r.get("request_id") for r in grid_rows(started, OpsLogs.GRID)] == [request_id], 20,
          msg="the request never showed in the log search")
    row = grid_rows(started, OpsLogs.GRID)[0]
    assert row["message"] == "GET /login 200" and row["level"] == "INFO"
    started.wait_for_contains_text(f"#{OpsLogs.STATUS}", "1 line(s)")

    # A link names the request: the page opens with it filled in and searched.
    started.driver.get(url(started, f"/operations/logs?request_id={request_id}"))
    until(lambda: [r.get("request_id") for r in grid_rows(started, OpsLogs.GRID)] == [request_id], 20,
          msg="the link's request id did not search")
    assert started.find_element("#ops-nav-logs").get_attribute("class").count("active") == 1
    assert started.get_logs() == []


def _pending_ids(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('#opr-pending input')].map(i => i.value);")


def test_viewer_reads_runbooks_without_actions_and_an_approved_request_runs(started, cockpit):
    from dashapp.services import controls

    login_as(started, "viewer1", path="/operations/runbooks")
    started.driver.get(url(started, "/operations/runbooks?slug=queue-backlog"))
    started.wait_for_contains_text(f"#{R.TEXT}", "Queue backlog")
    started.wait_for_element("#opr-read-only")
    for control in (R.DRY_RUN, R.REQUEST, R.APPROVE, R.REJECT, R.START):
        assert not started.driver.find_elements("css selector", f"#{control}"), f"a viewer sees #{control}"
    click(started, "#opr-page-job-failed")  # the catalogue's links open another page
    started.wait_for_contains_text(f"#{R.TEXT}", "Job failed")

    with cockpit.db():
        generation = controls.engine_view("paper-1").generation
    login_as(started, "trader1", path="/operations/runbooks")
    started.driver.get(url(started, "/operations/runbooks?slug=engine-fault"))
    started.wait_for_element(f"#{R.ACTION}")
    assert started.find_element(f"#{R.ACTION}").get_attribute("value") == "restart_engine"  # this page's action
    assert not started.find_element(f"#{R.REQUEST}").is_enabled()  # a dry run comes first
    click(started, f"#{R.DRY_RUN}")
    started.wait_for_contains_text("#opr-dry-text", "Would set engine paper-1")
    until(lambda: started.find_element(f"#{R.REQUEST}").is_enabled(), 10, msg="Request stayed disabled")
    started.find_element(f"#{R.REASON}").send_keys("engine stopped quoting")
    click(started, f"#{R.REQUEST}")
    started.wait_for_contains_text("#opr-run-notice", "waits for a second person")
    until(lambda: "requested" in [r.get("state") for r in grid_rows(started, R.HISTORY)], 15,
          msg="the request never showed under Runs")
    assert started.driver.find_elements("css selector", f"#{R.APPROVE}") == []  # a trader cannot approve

    login_as(started, "risk1", path="/operations/runbooks")
    started.driver.get(url(started, "/operations/runbooks"))
    until(lambda: len(_pending_ids(started)) == 1, 15, msg="the pending request never showed")
    click(started, "#opr-pending label")
    click(started, f"#{R.APPROVE}")
    started.wait_for_contains_text("#opr-run-notice", "succeeded")
    until(lambda: "succeeded" in [r.get("state") for r in grid_rows(started, R.HISTORY)], 15,
          msg="the run never showed as succeeded")
    with cockpit.db():
        assert controls.engine_view("paper-1").generation == generation + 1
    assert started.get_logs() == []
