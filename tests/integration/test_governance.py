"""Governance end to end through the web edge (both databases): MFA step-up on privileged actions, a
replayed code, four-eyes refused to the requester on every path (service, REST, crafted Dash POST) and
executed for another person, login events, a revoked session logged out, the review queue."""
from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from dashapp.extensions import db
from dashapp.services import approvals, controls, mfa, privileged_review, sessions, users
from dashapp.services.approvals import Actor
from dashapp.services.errors import PermissionDenied
from models import ApprovalRequest, LoginEvent, utcnow
from tests.support.web import PASSWORD, call_callback, csrf_header, login

POLICY = "security-policy-message.children"
PROMPT = ("..mfa-prompt-modal.is_open...mfa-prompt-text.children...mfa-prompt-code.value..."
          "mfa-prompt-message.children...mfa-prompt-verified.data..")
DECIDE = "..approvals-message.children...approvals-changed.data.."


def _enrol(app, username: str) -> str:
    """Enrol through the service (as the Account page does) with a code from the previous step, so
    the current step is still free for the test. Returns the secret."""
    with app.app_context():
        user = users.find_by_username(username)
        secret = mfa.begin_enrolment(user).secret
        mfa.confirm_enrolment(user, pyotp.TOTP(secret).at(utcnow() - timedelta(seconds=30)),
                              at=utcnow() - timedelta(seconds=30))
    return secret


def _save_policy(client):
    return call_callback(client, POLICY, [{"id": "security-policy-save", "property": "n_clicks", "value": 1}],
                         [{"id": "security-policy-roles", "property": "value", "value": ["admin"]},
                          {"id": "security-policy-minutes", "property": "value", "value": 5}])


def _prompt(client, code: str):
    return call_callback(client, PROMPT, [
        [],  # no "Enter code" button on the page (pattern-matching ALL with no match)
        {"id": "mfa-prompt-cancel", "property": "n_clicks", "value": None},
        {"id": "mfa-prompt-verify", "property": "n_clicks", "value": 1},
        {"id": "mfa-prompt-code", "property": "n_submit", "value": None}],
        [{"id": "mfa-prompt-code", "property": "value", "value": code}],
        triggered=["mfa-prompt-verify.n_clicks"])


def test_privileged_action_needs_a_fresh_code_and_a_code_works_once(dash_app, client_as):
    admin = client_as("admin", "ada")
    secret = _enrol(dash_app.server, "ada")
    refused = _save_policy(admin)
    assert refused.status_code == 200 and "needs a fresh two-factor code" in refused.get_data(as_text=True)
    assert "mfa-step-up" in refused.get_data(as_text=True)  # the refusal carries the button that asks for it
    code = pyotp.TOTP(secret).now()
    verified = _prompt(admin, code)
    assert verified.status_code == 200 and '"verified":true' in verified.get_data(as_text=True).replace(" ", "")
    saved = _save_policy(admin)
    assert "Saved: required for admin" in saved.get_data(as_text=True)
    replay = _prompt(admin, code)
    assert "already used" in replay.get_data(as_text=True)
    wrong = _prompt(admin, "000000" if code != "000000" else "111111")
    assert "not valid" in wrong.get_data(as_text=True) or "already used" in wrong.get_data(as_text=True)
    with dash_app.server.app_context():
        assert mfa.required_roles() == ["admin"]
        # the window is server side: an older verification no longer counts
        from models import UserSession
        db.session.query(UserSession).update({"mfa_verified_at": utcnow() - timedelta(minutes=6)})
        db.session.commit()
    assert "needs a fresh two-factor code" in _save_policy(admin).get_data(as_text=True)


def test_a_role_that_requires_mfa_cannot_act_until_enrolled(dash_app, client_as):
    admin = client_as("admin", "ada")
    with dash_app.server.app_context():
        mfa.set_required_roles("test", ["admin"])
    refused = _save_policy(admin)
    assert "set up an authenticator on" in refused.get_data(as_text=True)


def test_rest_with_a_session_needs_a_fresh_code_and_tokens_are_refused(dash_app, client_as):
    from dashapp.services import tokens

    rick = client_as("risk", "rick")
    with dash_app.server.app_context():
        controls.activate_kill_switch("tina", "trader", "runaway algo", "a1")
        controls.request_kill_switch_reset("rita", "risk", "algo fixed now", "r1")
        rick_user = users.find_by_username("rick")
        _, secret_token = tokens.create_token("test", rick_user.id, "rick's script")
    secret = _enrol(dash_app.server, "rick")
    body = {"idempotency_key": "approve-1"}
    refused = rick.post("/api/v1/kill-switch/approve-reset", json=body, headers=csrf_header(rick))
    assert refused.status_code == 403 and refused.json["mfa"] == "stale"
    by_token = dash_app.server.test_client().post("/api/v1/kill-switch/approve-reset", json={"idempotency_key": "t-1"},
                                                  headers={"Authorization": f"Bearer {secret_token}"})
    assert by_token.status_code == 403 and by_token.json["mfa"] == "token"
    _prompt(rick, pyotp.TOTP(secret).now())
    ok = rick.post("/api/v1/kill-switch/approve-reset", json=body, headers=csrf_header(rick))
    assert ok.status_code == 200 and "approved by rick" in ok.json["outcome"]
    with dash_app.server.app_context():
        assert not controls.kill_switch().active


def test_four_eyes_is_refused_to_the_requester_on_every_path_and_runs_for_another(dash_app, client_as):
    rita = client_as("risk", "rita")
    rob = client_as("risk", "rob")
    assert rita.post("/api/v1/kill-switch/activate", json={"reason": "runaway algo", "idempotency_key": "k1"},
                     headers=csrf_header(rita)).status_code == 200
    asked = rita.post("/api/v1/kill-switch/request-reset", json={"reason": "algo is fixed", "idempotency_key": "k2"},
                      headers=csrf_header(rita))
    assert asked.status_code == 200 and "request #" in asked.json["outcome"]
    with dash_app.server.app_context():
        (request,) = approvals.pending(Actor("rob", "risk"))
        request_id = request.id
        with pytest.raises(PermissionDenied, match="four-eyes"):  # the service
            approvals.approve(request_id, Actor("rita", "risk"))
    rest = rita.post("/api/v1/kill-switch/approve-reset", json={"idempotency_key": "k3"}, headers=csrf_header(rita))
    assert rest.status_code == 403 and "four-eyes" in rest.json["message"]  # REST
    decide = [{"id": "approvals-approve", "property": "n_clicks", "value": 1},
              {"id": "approvals-reject", "property": "n_clicks", "value": None},
              {"id": "approvals-cancel", "property": "n_clicks", "value": None}]
    state = [{"id": "approvals-pending-grid", "property": "selectedRows", "value": [{"id": request_id}]},
             {"id": "approvals-reject-reason", "property": "value", "value": None}]
    crafted = call_callback(rita, DECIDE, decide, state, triggered=["approvals-approve.n_clicks"])  # Dash POST
    assert crafted.status_code == 200 and "four-eyes" in crafted.get_data(as_text=True)
    cc_key = [k for k in dash_app.callback_map if k.startswith("..cc-message.children...cc-modal.")][0]
    confirm = call_callback(rita, cc_key,
                            [{"id": "cc-confirm", "property": "n_clicks", "value": 1}],
                            [{"id": "cc-pending", "property": "data", "value": {"action": "approve_reset", "key": "c1"}},
                             {"id": "cc-reason", "property": "value", "value": ""}])
    assert "four-eyes" in confirm.get_data(as_text=True)  # the Command Center's own button
    viewer = client_as("viewer", "val")
    assert call_callback(viewer, DECIDE, decide, state).status_code == 200  # page open to all roles...
    with dash_app.server.app_context():
        assert controls.kill_switch().active and db.session.get(ApprovalRequest, request_id).state == "pending"
    done = call_callback(rob, DECIDE, decide, state, triggered=["approvals-approve.n_clicks"])
    assert "approved by rob" in done.get_data(as_text=True)
    with dash_app.server.app_context():
        assert not controls.kill_switch().active
        row = db.session.get(ApprovalRequest, request_id)
        assert (row.state, row.requested_by, row.decided_by) == ("executed", "rita", "rob")


def test_admin_grant_and_limit_relaxation_are_four_eyes(server):
    from dashapp.services.risk import limits

    target = users.create_user("test", "vera", PASSWORD, "viewer")
    with pytest.raises(PermissionDenied, match="runs only through an approved request"):
        users.set_role("ada", target.id, "admin")
    said = users.request_role(Actor("ada", "admin"), target.id, "admin", "vera covers the night desk")
    assert "another admin must approve" in said and users.get_user(target.id).role_name == "viewer"
    (request,) = approvals.pending(Actor("alan", "admin"), users.GRANT_ADMIN)
    with pytest.raises(PermissionDenied):
        approvals.approve(request.id, Actor("ada", "admin"))
    approvals.approve(request.id, Actor("alan", "admin"))
    assert users.get_user(target.id).role_name == "admin"

    limits.ensure_defaults()
    said, row = limits.request_change(Actor("rita", "risk"), "tighten gross", "gross_exposure", "*", 1e6)
    assert row is not None and row.limit_value == 1e6  # tightening: at once
    with pytest.raises(PermissionDenied, match="four-eyes"):
        limits.save_limit("rita", "risk", "gross_exposure", "*", 5e6)
    said, row = limits.request_change(Actor("rita", "risk"), "loosen gross", "gross_exposure", "*", 5e6)
    assert row is None and "needs a second person" in said
    said, row = limits.request_change(Actor("rita", "risk"), "loosen action", "var_99", "*", 400_000, 0.8, "alert")
    assert row is None  # block_new_orders -> alert is a relaxation too
    pending = approvals.pending(Actor("rob", "risk"), limits.RELAX)
    assert len(pending) == 2
    for item in pending:
        approvals.approve(item.id, Actor("rob", "risk"))
    by_kind = {l.kind: l for l in limits.list_limits()}
    assert by_kind["gross_exposure"].limit_value == 5e6 and by_kind["var_99"].breach_action == "alert"


def test_login_events_and_a_revoked_session_is_logged_out(dash_app, client_as):
    first = client_as("trader", "tess")
    second = dash_app.server.test_client()
    assert login(second, "tess").status_code == 302
    assert login(dash_app.server.test_client(), "tess", "wrong-password-1").status_code == 401
    with dash_app.server.app_context():
        events = sessions.login_events(username="tess")
        assert [e.outcome for e in events] == ["failure", "success", "success"]
        assert events[0].reason == "bad password" and events[0].address
        assert [e.outcome for e in sessions.login_events(outcome="failed")] == ["failure"]
        tess = users.find_by_username("tess")
        live = sessions.active(tess.id)
        assert len(live) == 2
    second_sid = second.get_cookie("session")  # signed cookie; find its row by the latest creation
    assert second_sid is not None
    newest = max(live, key=lambda s: s.created_at)
    # tess signs out the other browser from her Account page (its own callback)
    revoke = call_callback(first, "account-sessions-message.children",
                           [{"id": "account-session-revoke", "property": "n_clicks", "value": 1}],
                           [{"id": "account-sessions-grid", "property": "selectedRows", "value": [{"id": newest.id}]}])
    assert "signed out" in revoke.get_data(as_text=True)
    assert second.get("/trading").status_code == 302  # back to the login page
    assert first.get("/trading").status_code == 200
    with dash_app.server.app_context():
        assert len(sessions.active(tess.id)) == 1
        other = users.create_user("test", "otto", PASSWORD, "trader")
        otto_sid = sessions.start(other)
        with pytest.raises(PermissionDenied):
            sessions.revoke(Actor("tess", "trader"), otto_sid, may_revoke_others=False)
        assert db.session.query(LoginEvent).count() >= 3


def test_review_queue_signs_off_privileged_records_but_not_your_own(server):
    controls.activate_kill_switch("tina", "trader", "runaway algo", "a1")
    controls.set_trading_mode("ada", "admin", "paper", "stay on paper")
    queue = privileged_review.queue()
    assert {r.action for r, _ in queue} >= {"kill_switch.activate", "trading_mode.set"}
    own = [r.id for r, _ in queue if r.actor == "ada"]
    with pytest.raises(Exception, match="your own actions"):
        privileged_review.mark_reviewed("ada", own)
    assert privileged_review.mark_reviewed("rita", [r.id for r, _ in queue], "checked") == len(queue)
    assert privileged_review.queue() == [] and privileged_review.unreviewed_count() == 0
    assert all(v is not None and v.reviewed_by == "rita" for _, v in privileged_review.queue(include_reviewed=True))


def test_wrong_roles_get_403_on_governance_callbacks(dash_app, client_as):
    viewer = client_as("viewer", "val")
    assert _save_policy(viewer).status_code == 403  # USERS_MANAGE
    queue = call_callback(viewer, "security-review-grid.rowData", [
        {"id": "security-interval", "property": "n_intervals", "value": 1},
        {"id": "security-show-reviewed", "property": "value", "value": False},
        {"id": "security-changed", "property": "data", "value": None}])
    assert queue.status_code == 403  # COMPLIANCE_VIEW
    risk = client_as("risk", "rita")
    revoke = call_callback(risk, "..security-sessions-message.children...security-changed.data..",
                           [{"id": "security-session-revoke", "property": "n_clicks", "value": 1}],
                           [{"id": "security-sessions-grid", "property": "selectedRows", "value": [{"id": "x"}]}])
    assert revoke.status_code == 403  # SESSIONS_MANAGE is admin only
    page = viewer.get("/security")
    assert page.status_code == 200  # the shell; its layout callback answers "not allowed" (pages.py)


def test_approvals_over_rest_refuse_the_requester_and_tokens_and_run_for_another(dash_app, client_as):
    from dashapp.services import tokens

    ada, alan = client_as("admin", "ada"), client_as("admin", "alan")
    with dash_app.server.app_context():
        said = controls.set_trading_mode("ada", "admin", "live", "go-live rehearsal")
        _, token = tokens.create_token("test", users.find_by_username("alan").id, "alan's script")
        mfa.set_required_roles("test", ["admin"])  # a token cannot give the code the admin role now needs
    assert "another admin must approve" in said
    listed = ada.get("/api/v1/approvals").json["items"]
    assert [(i["action"], i["may_approve"]) for i in listed] == [("trading_mode.live", False)]
    request_id = listed[0]["id"]
    own = ada.post(f"/api/v1/approvals/{request_id}/approve", headers=csrf_header(ada))
    assert own.status_code == 403 and "four-eyes" in own.json["message"]
    machine = dash_app.server.test_client().post(f"/api/v1/approvals/{request_id}/approve",
                                                 headers={"Authorization": f"Bearer {token}"})
    assert machine.status_code == 403 and machine.json["mfa"] == "token"
    assert ada.post("/api/v1/approvals/0/approve", headers=csrf_header(ada)).status_code == 422
    bad = alan.post(f"/api/v1/approvals/{request_id}/reject", json={"reason": "no\x07"}, headers=csrf_header(alan))
    assert bad.status_code == 422 and bad.json["field"] == "reason"
    viewer = client_as("viewer", "val")
    assert viewer.get("/api/v1/approvals").json["items"] == []  # filtered to what the role may see
    refused = viewer.post(f"/api/v1/approvals/{request_id}/approve", headers=csrf_header(viewer))
    assert refused.status_code == 403
    with dash_app.server.app_context():
        mfa.set_required_roles("test", [])
    done = alan.post(f"/api/v1/approvals/{request_id}/approve", headers=csrf_header(alan))
    assert done.status_code == 200 and done.json["state"] == "executed" and done.json["decided_by"] == "alan"
    with dash_app.server.app_context():
        assert controls.engine_view().trading_mode == "live"
