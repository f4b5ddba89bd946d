"""The Alerts page in a real browser. A trader acknowledges, snoozes, assigns, silences until resolved and
resolves (with a note) and sees each change in the inbox grid and the navbar badge; a risk user opens an
incident from an alert and reads its timeline; a viewer sees the inbox but no action, rule or silence
editor, and a crafted action callback from the viewer's session is refused 403."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.alerts_ids import AlertsBadge
from layouts.alerts_ids import AlertsPage as A
from tests.browser.conftest import click, click_grid_row, grid_rows, login_as, wait_for_grid_value
from tests.support.web import call_callback, login

pytestmark = pytest.mark.browser


def seed(cockpit) -> dict[str, int]:
    from tests.support.alerts import make_alert, make_rule

    with cockpit.db():
        exposure = make_alert(make_rule("net_exposure_high", "critical", {"team": "risk"}), value=1.04)
        slippage = make_alert(make_rule("slippage_high", "warning", {"team": "execution"}), labels={"venue": "XNAS"},
                              value=12.5)
        return {"exposure": exposure.id, "slippage": slippage.id}


def row_of(dash_duo, rule: str) -> dict:
    rows = [r for r in grid_rows(dash_duo, A.GRID) if r.get("rule") == rule]
    return rows[0] if rows else {}


def wait_cell(dash_duo, rule: str, column: str, predicate, what: str) -> None:
    until(lambda: predicate(row_of(dash_duo, rule).get(column, "")), 20,
          msg=f"{column} of {rule} never became {what} (row: {row_of(dash_duo, rule)})")


def open_tab(dash_duo, label: str) -> None:
    links = [a for a in dash_duo.find_elements(f"#{A.TABS} .nav-link") if a.text.strip() == label]
    assert links, f"no tab {label!r}"
    click(dash_duo, links[0])


def fill(dash_duo, element_id: str, text: str) -> None:
    element = dash_duo.find_element(f"#{element_id}")
    dash_duo.clear_input(element)
    element.send_keys(text)


def test_trader_acks_snoozes_assigns_silences_and_resolves(started, cockpit):
    from models import AlertEvent

    ids = seed(cockpit)
    login_as(started, cockpit.usernames["trader"], path="/alerts")
    wait_for_grid_value(started, A.GRID, "rule", "net_exposure_high")
    assert [r["rule"] for r in grid_rows(started, A.GRID)] == ["net_exposure_high", "slippage_high"]  # critical first
    started.wait_for_text_to_equal(f"#{AlertsBadge.BADGE}", "2/2")

    click_grid_row(started, A.GRID, "rule", "slippage_high")
    Select(started.find_element(f"#{A.ACK_FOR}")).select_by_value("60")
    click(started, f"#{A.ACK}")
    started.wait_for_contains_text("#al-ok", "1 alert(s) acknowledged")
    wait_cell(started, "slippage_high", "ack", lambda t: t.startswith("trader1 until"), "acknowledged")
    started.wait_for_text_to_equal(f"#{AlertsBadge.BADGE}", "1/2")

    click(started, f"#{A.SNOOZE}")
    started.wait_for_contains_text("#al-ok", "1 alert(s) snoozed")
    Select(started.find_element(f"#{A.ASSIGNEE}")).select_by_value("viewer1")
    click(started, f"#{A.ASSIGN}")
    wait_cell(started, "slippage_high", "owner", lambda t: t == "viewer1", "viewer1")
    click(started, f"#{A.SILENCE}")
    started.wait_for_contains_text("#al-ok", "silenced until resolved")

    click(started, f"#{A.RESOLVE}")  # no note: refused, named
    started.wait_for_contains_text("#al-error", "note: say what was done")
    fill(started, A.NOTE, "venue XNAS back to normal")
    click(started, f"#{A.RESOLVE}")
    started.wait_for_contains_text("#al-ok", "1 alert(s) resolved")
    until(lambda: [r["rule"] for r in grid_rows(started, A.GRID)] == ["net_exposure_high"], 20,
          msg="the resolved alert stayed in the open inbox")
    started.wait_for_text_to_equal(f"#{AlertsBadge.BADGE}", "1/1")
    assert "1 of 1 firing alerts not acknowledged (critical 1/1)" in started.find_element(
        f"#{AlertsBadge.BADGE}").get_attribute("title")
    # The state change, seen in the grid: show resolved alerts too.
    click(started, f"#{A.STATES} input[value='normal']")
    wait_cell(started, "slippage_high", "state", lambda t: t == "normal", "normal")
    with cockpit.db() as session:
        kinds = list(session.execute(sa.select(AlertEvent.kind).where(AlertEvent.instance_id == ids["slippage"])
                                     .order_by(AlertEvent.id)).scalars())
    assert kinds == ["pending", "firing", "ack", "snooze", "assign", "silence", "resolve"]
    assert started.get_logs() == []


def test_risk_opens_an_incident_from_an_alert_and_reads_its_timeline(started, cockpit):
    seed(cockpit)
    login_as(started, cockpit.usernames["risk"], path="/alerts")
    click_grid_row(started, A.GRID, "rule", "net_exposure_high")
    fill(started, A.INCIDENT_TITLE, "Net exposure over limit")
    click(started, f"#{A.CREATE_INCIDENT}")
    started.wait_for_contains_text("#al-ok", "with 1 alert(s)")

    open_tab(started, "Incidents")
    click_grid_row(started, A.I_GRID, "title", "Net exposure over limit")
    started.wait_for_contains_text(f"#{A.I_TITLE}", "Net exposure over limit · open")
    wait_for_grid_value(started, A.I_TIMELINE, "text", "incident opened: Net exposure over limit")
    texts = [r["text"] for r in grid_rows(started, A.I_TIMELINE)]
    assert any("net_exposure_high: pending -> firing" in t for t in texts), texts
    assert any(t.startswith("net_exposure_high") and "linked" in t for t in texts), texts
    started.wait_for_contains_text(f"#{A.I_ALERTS}", "net_exposure_high · critical · firing")
    href = started.find_element(f"#{A.I_DOWNLOAD_PDF}").get_attribute("href")
    assert href.endswith("/postmortem?format=pdf")

    open_tab(started, "Inbox")
    click_grid_row(started, A.GRID, "rule", "slippage_high")
    until(lambda: len(Select(started.find_element(f"#{A.LINK_INCIDENT}")).options) > 0, 20)
    Select(started.find_element(f"#{A.LINK_INCIDENT}")).select_by_visible_text("#1 Net exposure over limit")
    click(started, f"#{A.LINK}")
    started.wait_for_contains_text("#al-ok", "1 alert(s) added to incident 1")
    open_tab(started, "Incidents")
    click_grid_row(started, A.I_GRID, "title", "Net exposure over limit")
    started.wait_for_contains_text(f"#{A.I_ALERTS}", "slippage_high · warning · firing")

    fill(started, A.I_NOTE, "follow-up: lower the warn level")
    click(started, f"#{A.I_ADD_NOTE}")
    wait_for_grid_value(started, A.I_TIMELINE, "text", "follow-up: lower the warn level")
    click(started, f"#{A.I_MITIGATE}")
    started.wait_for_contains_text(f"#{A.I_TITLE}", "· mitigated")
    assert started.get_logs() == []


def test_viewer_reads_the_inbox_but_has_no_actions_and_a_crafted_ack_is_refused(started, cockpit):
    from models import AlertEvent

    ids = seed(cockpit)
    login_as(started, cockpit.usernames["viewer"], path="/alerts")
    wait_for_grid_value(started, A.GRID, "rule", "slippage_high")
    started.wait_for_contains_text("#al-read-only", "acting on alerts needs the trader, risk or admin role")
    for absent in (A.ACTIONS, A.ACK, A.RESOLVE, A.R_FORM, A.N_SIL_FORM, A.N_EDIT_FORM, A.I_ACTIONS, A.I_CREATE):
        assert started.driver.find_elements("css selector", f"#{absent}") == [], absent
    open_tab(started, "Rules")
    started.wait_for_contains_text("#al-rules-read-only", "writing them needs the risk or admin role")
    open_tab(started, "Notifications")
    started.wait_for_contains_text("#al-notify-read-only", "needs the risk or admin role")
    assert started.get_logs() == []

    client = cockpit.app.server.test_client()
    assert login(client, "viewer1").status_code == 302
    client.get("/")
    inputs = [{"id": A.ACK, "property": "n_clicks", "value": 1}] + [
        {"id": i, "property": "n_clicks", "value": None}
        for i in (A.UNACK, A.ASSIGN, A.SNOOZE, A.SILENCE, A.RESOLVE, A.ADD_NOTE, A.CREATE_INCIDENT, A.LINK)]
    states = [{"id": A.GRID, "property": "selectedRows", "value": [{"id": ids["exposure"]}]}] + [
        {"id": i, "property": "value", "value": v} for i, v in (
            (A.ACK_FOR, ""), (A.ASSIGNEE, None), (A.SNOOZE_FOR, "60"), (A.NOTE, ""), (A.INCIDENT_TITLE, ""),
            (A.LINK_INCIDENT, None))]
    output = f"..{A.MESSAGE}.children...{A.CHANGED}.data.."
    refused = call_callback(client, output, inputs, states, triggered=[f"{A.ACK}.n_clicks"])
    assert refused.status_code == 403 and "alerts:act" in refused.json["message"]
    silence = call_callback(client, f"..{A.N_MESSAGE}.children...{A.N_CHANGED}.data..", [
        {"id": A.N_SIL_CREATE, "property": "n_clicks", "value": 1},
        {"id": A.N_SIL_EXPIRE, "property": "n_clicks", "value": None}], [
        {"id": A.N_SIL_MATCHERS, "property": "value", "value": "team=risk"},
        {"id": A.N_SIL_HOURS, "property": "value", "value": 2},
        {"id": A.N_SIL_COMMENT, "property": "value", "value": ""},
        {"id": A.N_SIL_GRID, "property": "selectedRows", "value": None}], triggered=[f"{A.N_SIL_CREATE}.n_clicks"])
    assert silence.status_code == 403
    with cockpit.db() as session:
        assert session.execute(sa.select(sa.func.count()).where(AlertEvent.kind == "ack")).scalar() == 0

    # The trader's identical request is accepted: the refusal is the role, not the request.
    trader = cockpit.app.server.test_client()
    assert login(trader, "trader1").status_code == 302
    trader.get("/")
    accepted = call_callback(trader, output, inputs, states, triggered=[f"{A.ACK}.n_clicks"])
    assert accepted.status_code == 200 and "1 alert(s) acknowledged" in accepted.get_data(as_text=True)
