"""Command Center in a real browser, with the real paper engine running beside the web server
(threads of this process) under the real engine supervisor: stop and start it, the kill switch
and its four-eyes reset, and the viewer's missing controls."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from dash.testing.wait import until

from dashapp.engine.runner import EngineConfig
from dashapp.services import controls, tokens, users
from models import Order
from tests.browser.conftest import click, login_as, url
from tests.support.engine import SupervisedEngine
from tests.support.web import PASSWORD


@pytest.fixture
def engine(started, cockpit):
    with cockpit.db():
        owner = users.create_user("test", "paper-engine", PASSWORD, "trader")
        _, secret = tokens.create_token("test", owner.id, "engine", ["paper-1"])
    config = EngineConfig(base_url=url(started), token=secret, tick_seconds=0.5, send_history=False,
                          instruments_per_tick=6)
    with SupervisedEngine(cockpit.app.server, config) as supervised:
        yield supervised


def _text(dash_duo, element_id: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText.trim() : null;", element_id)


def _wait_text(dash_duo, element_id: str, text: str, timeout: float = 30) -> None:
    """Wait for an element that is re-rendered every refresh (so never hold on to the element)."""
    until(lambda: _text(dash_duo, element_id) == text, timeout,
          msg=f"#{element_id} never read {text!r} (it reads {_text(dash_duo, element_id)!r})")


def _control(dash_duo, action: str, reason: str = "browser test") -> None:
    """Click a control button (pattern-matching id), give the reason, confirm."""
    button_id = json.dumps({"action": action, "type": "cc-action"}, separators=(",", ":"), sort_keys=True)
    until(lambda: dash_duo.driver.execute_script("return document.getElementById(arguments[0])", button_id), 20,
          msg=f"no {action} button")
    click(dash_duo, dash_duo.driver.execute_script("return document.getElementById(arguments[0])", button_id))
    reason_box = dash_duo.wait_for_element("#cc-reason")
    until(lambda: reason_box.is_displayed() and reason_box.get_attribute("value") == "", 10)
    reason_box.send_keys(reason)
    click(dash_duo, "#cc-confirm")
    until(lambda: not dash_duo.driver.find_elements("css selector", ".modal.show"), 10, msg="modal stayed open")


def test_trader_stops_and_starts_the_engine(started, cockpit, engine):
    login_as(started, "trader1")
    _wait_text(started, "cc-engine-actual", "RUNNING", 40)
    _control(started, "stop", "end of session")
    started.wait_for_contains_text("#cc-control-ok", "stop requested")
    _wait_text(started, "cc-engine-actual", "STOPPED", 30)
    assert "desired stopped" in started.find_element("#cc-engine-desired").text
    _control(started, "start", "new session")
    started.wait_for_contains_text("#cc-control-ok", "start requested")
    _wait_text(started, "cc-engine-actual", "RUNNING", 40)
    assert engine.processes.starts == 2  # the supervisor really started it again
    assert started.get_logs() == []


def test_viewer_has_no_controls_and_a_crafted_request_is_refused(started, cockpit):
    login_as(started, "viewer1")
    started.wait_for_element("#cc-no-controls")
    assert started.driver.execute_script("return document.getElementById('cc-controls')") is None
    # The same POST the trader's Confirm button sends, made by hand with the viewer's session.
    status = started.driver.execute_script("""
        const csrf = document.cookie.split('; ').find(c => c.startsWith('_csrf_token=')).split('=')[1];
        const body = {output: '..cc-message.children...cc-modal.is_open@' + arguments[0] + '..',
                      outputs: [{id: 'cc-message', property: 'children'}, {id: 'cc-modal', property: 'is_open'}],
                      inputs: [{id: 'cc-confirm', property: 'n_clicks', value: 1}],
                      state: [{id: 'cc-pending', property: 'data', value: {action: 'stop', key: 'crafted-1'}},
                              {id: 'cc-reason', property: 'value', value: 'crafted by a viewer'}],
                      changedPropIds: ['cc-confirm.n_clicks']};
        const xhr = new XMLHttpRequest();
        xhr.open('POST', '/_dash-update-component', false);
        xhr.setRequestHeader('Content-Type', 'application/json');
        xhr.setRequestHeader('X-CSRFToken', decodeURIComponent(csrf));
        xhr.send(JSON.stringify(body));
        return xhr.status;
    """, _duplicate_suffix(cockpit))
    assert status == 403
    with cockpit.db():
        assert controls.engine_view().desired == "running"  # nothing changed


def _duplicate_suffix(cockpit) -> str:
    key = [k for k in cockpit.app.callback_map if k.startswith("..cc-message.children...cc-modal.is_open@")][0]
    return key.split("@", 1)[1].rstrip(".")


def test_kill_switch_blocks_new_orders_within_a_second_and_needs_another_person_to_reset(started, cockpit, engine):
    login_as(started, "trader1")
    _wait_text(started, "cc-engine-actual", "RUNNING", 40)
    with cockpit.db() as session:
        until(lambda: session.execute(sa.select(sa.func.count()).select_from(Order)).scalar() > 0, 40)
    _control(started, "kill", "runaway strategy")
    activated = datetime.now(timezone.utc)
    _wait_text(started, "cc-kill-state", "ON", 10)
    time.sleep(3)  # let the engine run a few more ticks under the kill switch
    with cockpit.db() as session:
        late = session.execute(sa.select(sa.func.count()).select_from(Order).where(
            Order.parent_id.is_(None), Order.created_at > activated.replace(microsecond=0) + _one_second())).scalar()
        blocks = session.execute(sa.text("SELECT count(*) FROM risk_decisions WHERE rule = 'kill_switch'")).scalar()
    assert late == 0, f"{late} new parent orders more than a second after the kill switch"
    assert blocks > 0, "the engine's risk gate should record its kill-switch blocks"
    # The reset: the risk user asks, and may not approve their own request.
    login_as(started, "risk1")
    _control(started, "request_reset", "strategy fixed")
    started.wait_for_contains_text("#cc-control-ok", "reset requested by risk1")
    _control(started, "approve_reset", "approving my own")
    started.wait_for_contains_text("#cc-control-error", "four-eyes")
    with cockpit.db():
        assert controls.kill_switch().active
    login_as(started, "admin1")
    _control(started, "approve_reset", "second pair of eyes")
    started.wait_for_contains_text("#cc-control-ok", "approved by admin1")
    _wait_text(started, "cc-kill-state", "OFF", 10)


def _one_second():
    from datetime import timedelta

    return timedelta(seconds=1)
