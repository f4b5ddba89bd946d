"""The Reports page in a real browser: a risk user creates a schedule and sees it listed with its
next run (checked against the database); bad input names the field; a viewer sees the schedules
and the archive but no form, and a crafted callback that would create a schedule is refused 403."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.ids import Reports
from tests.browser.conftest import click, grid_rows, login_as, wait_for_grid_value
from tests.support.web import call_callback, login

pytestmark = pytest.mark.browser


def fill(dash_duo, element_id: str, text: str) -> None:
    element = dash_duo.find_element(f"#{element_id}")
    dash_duo.clear_input(element)
    element.send_keys(text)


def schedule_count(cockpit) -> int:
    from models import ReportSchedule

    with cockpit.db() as session:
        return session.execute(sa.select(sa.func.count(ReportSchedule.id))).scalar_one()


def test_risk_user_creates_a_schedule_and_sees_its_next_run(started, cockpit):
    from dashapp.services import audit, schedules

    login_as(started, cockpit.usernames["risk"], path="/reports")
    started.wait_for_element(f"#{Reports.FORM}")
    started.wait_for_contains_text(f"#{Reports.SMTP_STATUS}", "E-mail delivery is not configured")

    # Bad input first: the message names the field and nothing is written.
    fill(started, Reports.NAME, "Friday risk")
    click(started, f"#{Reports.CREATE}")
    started.wait_for_contains_text("#rp-error", "recipients: add at least one e-mail address")
    fill(started, Reports.RECIPIENTS, "risk@example.com, not-an-address")
    click(started, f"#{Reports.CREATE}")
    started.wait_for_contains_text("#rp-error", "recipients: not an e-mail address: not-an-address")
    assert schedule_count(cockpit) == 0

    fill(started, Reports.RECIPIENTS, "risk@example.com, cro@example.com")
    Select(started.find_element(f"#{Reports.CADENCE}")).select_by_value("weekly")
    until(lambda: started.find_element(f"#{Reports.WEEKDAY}").is_displayed(), 10)
    assert not started.find_element(f"#{Reports.CRON}").is_displayed()
    Select(started.find_element(f"#{Reports.WEEKDAY}")).select_by_value("4")  # Friday
    fill(started, Reports.TIME, "17:30")
    fill(started, Reports.TIMEZONE, "America/New_York")
    started.find_element(f"#{Reports.FORMATS} input[value='xlsx']").click()
    click(started, f"#{Reports.CREATE}")

    started.wait_for_contains_text("#rp-ok", "Schedule 'Friday risk' created; next run")
    wait_for_grid_value(started, Reports.SCHEDULES_GRID, "name", "Friday risk")
    with cockpit.db():
        [schedule] = schedules.list_schedules()
        expected = schedules.local_time(schedule.next_run_at, "America/New_York")
        assert (schedule.cadence, schedule.weekday, schedule.time_of_day) == ("weekly", 4, "17:30")
        assert schedule.formats == "pdf,xlsx" and schedule.created_by == "risk1"
        assert [r.actor for r in audit.query(action="report_schedule.create")] == ["risk1"]
    [row] = grid_rows(started, Reports.SCHEDULES_GRID)
    assert row["next_run"] == expected and expected.endswith("17:30 EST")
    assert row["when"] == "weekly on Friday at 17:30" and row["timezone"] == "America/New_York"
    assert row["state"] == "active"
    assert started.get_logs() == []


def test_viewer_sees_no_form_and_a_crafted_create_is_refused(started, cockpit):
    login_as(started, cockpit.usernames["viewer"], path="/reports")
    started.wait_for_element(f"#{Reports.SCHEDULES_GRID}")
    started.wait_for_element(f"#{Reports.ARCHIVE_GRID}")
    started.wait_for_contains_text(f"#{Reports.SCHEDULES_EMPTY}", "No report schedules yet")
    assert started.driver.find_elements("css selector", f"#{Reports.FORM}") == []
    assert started.driver.find_elements("css selector", f"#{Reports.CREATE}") == []
    assert started.driver.find_elements("css selector", f"#{Reports.RESEND}") == []
    assert started.get_logs() == []

    # The same request the form's button would send, posted by the viewer's session.
    client = cockpit.app.server.test_client()
    assert login(client, "viewer1").status_code == 302
    client.get("/")
    states = [{"id": i, "property": p, "value": v} for i, p, v in (
        (Reports.NAME, "value", "Sneaky"), (Reports.REPORT_TYPE, "value", "risk_daily"),
        (Reports.CADENCE, "value", "daily"), (Reports.TIME, "value", "07:00"), (Reports.WEEKDAY, "value", "0"),
        (Reports.DAY_OF_MONTH, "value", 1), (Reports.CRON, "value", ""), (Reports.TIMEZONE, "value", "UTC"),
        (Reports.RECIPIENTS, "value", "x@example.com"), (Reports.FORMATS, "value", ["pdf"]),
        (Reports.SCHEDULES_GRID, "selectedRows", None), (Reports.TOKEN, "data", "t"))]
    inputs = [{"id": Reports.CREATE, "property": "n_clicks", "value": 1}] + [
        {"id": i, "property": p, "value": None} for i, p in ((Reports.UPDATE, "n_clicks"), (Reports.PAUSE, "n_clicks"),
                                                              (Reports.RESUME, "n_clicks"),
                                                              (Reports.DELETE_CONFIRM, "submit_n_clicks"),
                                                              (Reports.RUN_NOW, "n_clicks"))]
    response = call_callback(client, f"..{Reports.MESSAGE}.children...{Reports.CHANGED}.data..", inputs, states,
                             triggered=[f"{Reports.CREATE}.n_clicks"])
    assert response.status_code == 403, response.get_data(as_text=True)[:300]
    assert response.json["error"] == "Forbidden"
    assert "REPORTS_MANAGE" in response.json["message"].upper().replace(":", "_")
    assert schedule_count(cockpit) == 0

    # A risk user's identical request is accepted (the refusal above is the role, not the request).
    risk = cockpit.app.server.test_client()
    assert login(risk, "risk1").status_code == 302
    risk.get("/")
    accepted = call_callback(risk, f"..{Reports.MESSAGE}.children...{Reports.CHANGED}.data..", inputs, states,
                             triggered=[f"{Reports.CREATE}.n_clicks"])
    assert accepted.status_code == 200 and "Schedule 'Sneaky' created" in accepted.get_data(as_text=True)
    assert schedule_count(cockpit) == 1
