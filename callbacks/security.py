"""Security page callbacks (COMPLIANCE_VIEW to read; SESSIONS_MANAGE to revoke another user's session;
USERS_MANAGE for the MFA policy). Thin: services/sessions.py, privileged_review.py and mfa.py do the work."""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import Input, Output, State, no_update
from flask import session
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import mfa, privileged_review, sessions
from dashapp.services.approvals import Actor
from dashapp.services.errors import ServiceError
from layouts.ids_governance import Security
from layouts.mfa_prompt import refusal


def _ok(text: str, element_id: str) -> dbc.Alert:
    return dbc.Alert(text, color="success", className="py-1 mb-0", id=element_id)


def register() -> None:
    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(Security.LOGINS_GRID, "rowData"),
                      Output(Security.SESSIONS_GRID, "rowData"), Input(Security.INTERVAL, "n_intervals"),
                      Input(Security.FAILED_ONLY, "value"), Input(Security.CHANGED, "data"))
    def load(_n, failed_only, _changed):
        events = sessions.login_events(outcome="failed" if failed_only else None, limit=500)
        live = sessions.active(current_sid=session.get(mfa.SESSION_KEY))
        return [sessions.event_row(e) for e in events], [s.row() for s in live]

    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(Security.REVIEW_GRID, "rowData"),
                      Input(Security.INTERVAL, "n_intervals"), Input(Security.SHOW_REVIEWED, "value"),
                      Input(Security.CHANGED, "data"))
    def load_queue(_n, show_reviewed, _changed):
        return [privileged_review.row(r, v) for r, v in privileged_review.queue(include_reviewed=bool(show_reviewed))]

    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(Security.REVIEW_MESSAGE, "children"),
                      Output(Security.CHANGED, "data"), Input(Security.MARK_REVIEWED, "n_clicks"),
                      State(Security.REVIEW_GRID, "selectedRows"), State(Security.REVIEW_NOTE, "value"),
                      prevent_initial_call=True)
    def sign_off(_n, selected, note):
        try:
            ids = [int(r["id"]) for r in selected or []]
            count = privileged_review.mark_reviewed(current_user.username, ids, note or "")
        except ServiceError as err:
            return refusal(err, "security-review-error"), no_update
        return _ok(f"Signed off {count} record(s).", "security-review-ok"), time.time()

    @guarded_callback(Perm.SESSIONS_MANAGE, Output(Security.SESSIONS_MESSAGE, "children"),
                      Output(Security.CHANGED, "data", allow_duplicate=True), Input(Security.REVOKE, "n_clicks"),
                      State(Security.SESSIONS_GRID, "selectedRows"), prevent_initial_call=True)
    def revoke(_n, selected):
        if not selected:
            return dbc.Alert("no session selected: click a row first", color="danger", className="py-1 mb-0"), no_update
        try:
            sessions.revoke(Actor(current_user.username, current_user.role_name), str(selected[0].get("id", "")),
                            may_revoke_others=True)
        except ServiceError as err:
            return refusal(err), no_update
        return _ok("That session is signed out.", "security-session-revoked"), time.time()

    @guarded_callback(Perm.USERS_MANAGE, Output(Security.POLICY_ROLES, "value"), Output(Security.POLICY_MINUTES, "value"),
                      Input(Security.CHANGED, "data"))
    def load_policy(_changed):
        return mfa.required_roles(), mfa.fresh_minutes()

    @guarded_callback(Perm.USERS_MANAGE, Output(Security.POLICY_MESSAGE, "children"),
                      Input(Security.POLICY_SAVE, "n_clicks"), State(Security.POLICY_ROLES, "value"),
                      State(Security.POLICY_MINUTES, "value"), prevent_initial_call=True)
    def save_policy(_n, roles, minutes):
        try:
            mfa.require_fresh(current_user, "changing the two-factor policy")
            chosen = mfa.set_required_roles(current_user.username, roles or [])
            mfa.set_fresh_minutes(current_user.username, minutes)
        except ServiceError as err:
            return refusal(err, "security-policy-error")
        return _ok(f"Saved: required for {', '.join(chosen) or 'no role'}; window {minutes} min.", "security-policy-ok")
