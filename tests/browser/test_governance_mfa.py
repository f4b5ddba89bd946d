"""Governance in the browser: TOTP enrolment on the Account page (the secret read from the page, codes
computed with pyotp), a privileged action refused without a fresh code and allowed after the step-up
prompt, a replayed code refused; a four-eyes request refused to its requester and executed when another
person approves it on the Approvals page."""
from __future__ import annotations

import json
from datetime import timedelta

import pyotp
from dash.testing.wait import until

from dashapp.services import controls
from models import UserSession, utcnow
from tests.browser.conftest import click, click_grid_row, login_as, url, wait_for_grid_value


def _go(dash_duo, path: str, marker: str) -> None:
    dash_duo.driver.get(url(dash_duo, path))
    dash_duo.wait_for_element(marker)


def _type(dash_duo, selector: str, text: str) -> None:
    box = dash_duo.wait_for_element(selector)
    box.clear()
    box.send_keys(text)


def _age_verification(cockpit) -> None:
    """The fresh window passes (server side): the session's last code is now older than 5 minutes."""
    with cockpit.db() as session:
        session.query(UserSession).update({"mfa_verified_at": utcnow() - timedelta(minutes=10)})
        session.commit()


def test_enrol_then_step_up_for_a_privileged_action_and_a_replayed_code_is_refused(started, cockpit):
    login_as(started, "admin1", path="/account")
    _go(started, "/account", "#account-mfa-start")
    started.wait_for_contains_text("#account-mfa-status", "Not set up")
    click(started, "#account-mfa-start")
    until(lambda: len(started.find_element("#account-mfa-secret").text) >= 32, 10, msg="no secret shown")
    secret = started.find_element("#account-mfa-secret").text
    qr = started.find_element("#account-mfa-qr").get_attribute("src")
    assert qr.startswith("data:image/svg+xml;base64,")
    totp = pyotp.TOTP(secret)
    _type(started, "#account-mfa-confirm-code", totp.now())
    click(started, "#account-mfa-confirm")
    started.wait_for_element("#account-recovery-codes")
    assert len(started.find_element("#account-recovery-codes").text.split()) == 10
    started.wait_for_contains_text("#account-mfa-status", "10 recovery codes left")

    # A privileged action (the admin's MFA policy) once the window has passed: refused, the prompt opens.
    _age_verification(cockpit)
    _go(started, "/security", "#security-policy-save")
    click(started, "#security-policy-save")
    started.wait_for_contains_text("#security-policy-error", "needs a fresh two-factor code")
    started.wait_for_element("#mfa-prompt-modal .modal-body")
    next_code = totp.at(utcnow() + timedelta(seconds=30))  # the enrolment used the current step
    _type(started, "#mfa-prompt-code", next_code)
    click(started, "#mfa-prompt-verify")
    until(lambda: not started.driver.find_elements("css selector", ".modal.show"), 10, msg="prompt stayed open")
    click(started, "#security-policy-save")
    started.wait_for_contains_text("#security-policy-ok", "Saved")

    # The same code again: refused, and the action stays refused.
    _age_verification(cockpit)
    click(started, "#security-policy-save")
    started.wait_for_contains_text("#security-policy-error", "needs a fresh two-factor code")
    started.wait_for_element("#mfa-prompt-modal .modal-body")
    _type(started, "#mfa-prompt-code", next_code)
    click(started, "#mfa-prompt-verify")
    started.wait_for_contains_text("#mfa-prompt-error", "already used")
    assert started.get_logs() == []


def _control(dash_duo, action: str, reason: str) -> None:
    button_id = json.dumps({"action": action, "type": "cc-action"}, separators=(",", ":"), sort_keys=True)
    until(lambda: dash_duo.driver.execute_script("return document.getElementById(arguments[0])", button_id), 20)
    click(dash_duo, dash_duo.driver.execute_script("return document.getElementById(arguments[0])", button_id))
    reason_box = dash_duo.wait_for_element("#cc-reason")
    until(lambda: reason_box.is_displayed() and reason_box.get_attribute("value") == "", 10)
    reason_box.send_keys(reason)
    click(dash_duo, "#cc-confirm")
    until(lambda: not dash_duo.driver.find_elements("css selector", ".modal.show"), 10)


def test_four_eyes_request_is_refused_to_its_requester_and_runs_for_another(started, cockpit):
    with cockpit.db():
        controls.activate_kill_switch("trader1", "trader", "runaway strategy", "bt-1")
    login_as(started, "risk1")
    _control(started, "request_reset", "strategy fixed now")
    started.wait_for_contains_text("#cc-control-ok", "reset requested by risk1")
    _go(started, "/approvals", "#approvals-approve")
    wait_for_grid_value(started, "approvals-pending-grid", "yours", "your request")
    click_grid_row(started, "approvals-pending-grid", "requested_by", "risk1")
    click(started, "#approvals-approve")
    started.wait_for_contains_text("#approvals-error", "four-eyes")
    with cockpit.db():
        assert controls.kill_switch().active

    login_as(started, "admin1", path="/approvals")
    _go(started, "/approvals", "#approvals-approve")
    wait_for_grid_value(started, "approvals-pending-grid", "yours", "yes")
    click_grid_row(started, "approvals-pending-grid", "requested_by", "risk1")
    click(started, "#approvals-approve")
    started.wait_for_contains_text("#approvals-ok", "requested by risk1, approved by admin1")
    wait_for_grid_value(started, "approvals-history-grid", "state", "executed")
    with cockpit.db():
        assert not controls.kill_switch().active
    assert started.get_logs() == []
