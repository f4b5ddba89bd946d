"""Account page callbacks: own MFA enrolment (QR, confirm, recovery codes shown once, turn off) and
own sessions (list, revoke one). Thin: the work is in services/mfa.py and services/sessions.py."""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from flask import session
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import mfa, sessions
from dashapp.services.approvals import Actor
from dashapp.services.errors import ServiceError
from layouts.ids_governance import Account
from layouts.mfa_prompt import refusal

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


def status_text(user) -> html.Div:
    if mfa.is_enrolled(user):
        left = mfa.remaining_recovery_codes(user)
        until = mfa.fresh_until(session.get(mfa.SESSION_KEY))
        fresh = (f" This session is verified until {until:%H:%M:%S} UTC." if until and until.timestamp() > time.time()
                 else "")
        return html.Div([dbc.Badge("ON", color="success", className="me-2"),
                         f"Authenticator set up; {left} recovery codes left.{fresh}"], id="account-mfa-on")
    needed = " Your role requires it for privileged actions." if user.role_name in mfa.required_roles() else ""
    return html.Div([dbc.Badge("OFF", color="secondary", className="me-2"), f"Not set up.{needed}"],
                    id="account-mfa-off")


def register() -> None:
    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Account.STATUS, "children"),
                      Output(Account.START, "disabled"), Input(Account.CHANGED, "data"),
                      Input(Account.INTERVAL, "n_intervals"))
    def show_status(_changed, _n):
        return status_text(current_user), mfa.is_enrolled(current_user)

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Account.ENROL_AREA, "style"), Output(Account.QR, "src"),
                      Output(Account.SECRET, "children"), Output(Account.URI, "children"),
                      Output(Account.MESSAGE, "children"), Input(Account.START, "n_clicks"), prevent_initial_call=True)
    def start(_n):
        try:
            enrolment = mfa.begin_enrolment(current_user)
        except ServiceError as err:
            return HIDDEN, None, "", "", refusal(err)
        return SHOWN, enrolment.qr_data_uri, enrolment.secret, enrolment.uri, None

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Account.RECOVERY, "children"),
                      Output(Account.ENROL_AREA, "style", allow_duplicate=True),
                      Output(Account.MESSAGE, "children", allow_duplicate=True), Output(Account.CHANGED, "data"),
                      Input(Account.CONFIRM, "n_clicks"), State(Account.CONFIRM_CODE, "value"),
                      prevent_initial_call=True)
    def confirm(_n, code):
        try:
            codes = mfa.confirm_enrolment(current_user, code)
        except ServiceError as err:
            return no_update, no_update, refusal(err, "account-mfa-error"), no_update
        shown = dbc.Alert([html.Div("Two-factor authentication is on. Recovery codes (each works once; shown only "
                                    "now, keep them somewhere safe):"),
                           html.Pre("\n".join(codes), className="shown-once mb-0 mt-2", id="account-recovery-codes")],
                          color="warning", className="mb-2")
        return shown, HIDDEN, None, time.time()

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Account.MESSAGE, "children", allow_duplicate=True),
                      Output(Account.CHANGED, "data", allow_duplicate=True), Input(Account.DISABLE, "n_clicks"),
                      State(Account.DISABLE_CODE, "value"), prevent_initial_call=True)
    def turn_off(_n, code):
        try:
            mfa.disable(current_user.username, current_user, code or "")
        except ServiceError as err:
            return refusal(err, "account-mfa-error"), no_update
        return dbc.Alert("Two-factor authentication is off.", color="info", className="py-1 mb-0"), time.time()

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Account.SESSIONS_GRID, "rowData"),
                      Input(Account.CHANGED, "data"), Input(Account.INTERVAL, "n_intervals"),
                      Input(Account.SESSIONS_MESSAGE, "children"))
    def list_sessions(*_):
        return [s.row() for s in sessions.active(current_user.id, session.get(mfa.SESSION_KEY))]

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Account.SESSIONS_MESSAGE, "children"),
                      Input(Account.REVOKE, "n_clicks"), State(Account.SESSIONS_GRID, "selectedRows"),
                      prevent_initial_call=True)
    def revoke(_n, selected):
        if not selected:
            return dbc.Alert("no session selected: click a row first", color="danger", className="py-1 mb-0")
        try:
            sessions.revoke(Actor(current_user.username, current_user.role_name), str(selected[0].get("id", "")),
                            may_revoke_others=False)
        except ServiceError as err:
            return refusal(err)
        return dbc.Alert("That session is signed out.", color="success", className="py-1 mb-0",
                         id="account-session-revoked")
