"""Admin callbacks: thin. Reads go to the users/tokens services, changes go through them too (they
validate, commit atomically and audit); a ServiceError becomes an alert that names the problem."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import tokens, users
from dashapp.services.approvals import Actor
from dashapp.services.errors import ServiceError, ValidationError
from dashapp.services.mfa import MfaRequired
from layouts.admin import NO_USER_SELECTED
from layouts.ids import Admin
from layouts.mfa_prompt import refusal
from models import utcnow


# ---- formatting helpers (plain functions, testable without a browser) ------------------------

def fmt_time(value: datetime | None, empty: str = "—") -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else empty


def user_rows(user_list, now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    return [{"id": str(u.id), "username": u.username, "display_name": u.display_name, "role": u.role_name,
             "active": "yes" if u.active else "no",
             "locked": "yes" if u.locked_until and u.locked_until > now else "no",
             "last_login": fmt_time(u.last_login_at, "never"), "created": fmt_time(u.created_at)}
            for u in user_list]


def token_rows(token_list) -> list[dict]:
    return [{"id": str(t.id), "name": t.name, "prefix": t.prefix + "…", "user": t.user.username,
             "engines": ", ".join(sorted(t.engine_ids)) or "none", "created_by": t.created_by, "created": fmt_time(t.created_at),
             "last_used": fmt_time(t.last_used_at, "never"), "revoked": fmt_time(t.revoked_at, "")}
            for t in token_list]


def token_user_options(user_list) -> list[dict]:
    return [{"label": f"{u.username} ({u.role_name})", "value": str(u.id)} for u in user_list if u.active]


def selected_id(rows, what: str = "user") -> int:
    if not rows:
        raise ValidationError(f"no {what} selected: click a row in the {what}s grid first", field=f"{what}_id")
    return int(rows[0]["id"])


def ok(*children) -> dbc.Alert:
    return dbc.Alert(list(children), color="success", dismissable=True, className="mb-2")


def problem(err: ServiceError) -> dbc.Alert:
    if isinstance(err, MfaRequired):
        return refusal(err)  # with the button that opens the two-factor prompt
    return dbc.Alert([html.Strong("Not done: "), err.message], color="danger", dismissable=True, className="mb-2")


def shown_once(label: str, secret: str, note: str) -> dbc.Alert:
    return dbc.Alert([html.Div(label), html.Code(secret, className="shown-once d-block fs-6 my-2 user-select-all"),
                      html.Div(note, className="small")], color="warning", dismissable=True, className="mb-2")


# ---- user actions ---------------------------------------------------------------------------

def _create(actor: str, form: dict) -> dbc.Alert:
    user = users.create_user(actor, form["username"] or "", form["password"] or "", form["role"] or "",
                             form["display"] or "")
    return ok(f"User {user.username} created with role {user.role_name}.")


def _set_role(actor: str, form: dict) -> dbc.Alert:
    role = form["selected_role"] or ""  # a grant of admin becomes a four-eyes request (services/approvals.py)
    return ok(users.request_role(Actor(actor, current_user.role_name), selected_id(form["selected"]), role,
                                 f"role {role} chosen on the Admin page"))


def _set_active(active: bool):
    def action(actor: str, form: dict) -> dbc.Alert:
        user = users.set_active(actor, selected_id(form["selected"]), active)
        return ok(f"{user.username} is {'enabled' if active else 'disabled'}.")
    return action


def _reset_password(actor: str, form: dict) -> dbc.Alert:
    user, password = users.reset_password(actor, selected_id(form["selected"]))
    return shown_once(f"New password for {user.username} (the account is unlocked):", password,
                      "Shown once: copy it now and hand it over safely. It cannot be shown again.")


USER_ACTIONS = {Admin.CREATE: _create, Admin.SET_ROLE: _set_role, Admin.DISABLE: _set_active(False),
                Admin.ENABLE: _set_active(True), Admin.RESET_PASSWORD: _reset_password}


def register() -> None:
    @guarded_callback(Perm.VIEW_ADMIN, Output(Admin.USERS_GRID, "rowData"), Output(Admin.TOKEN_USER, "options"),
                      Input(Admin.REFRESH, "n_clicks"), Input(Admin.USERS_CHANGED, "data"))
    def load_users(_n, _changed):
        user_list = users.list_users()
        return user_rows(user_list), token_user_options(user_list)

    @guarded_callback(Perm.VIEW_ADMIN, Output(Admin.TOKENS_GRID, "rowData"),
                      Input(Admin.REFRESH, "n_clicks"), Input(Admin.TOKENS_CHANGED, "data"))
    def load_tokens(_n, _changed):
        return token_rows(tokens.list_tokens())

    @guarded_callback(Perm.VIEW_ADMIN, Output(Admin.SELECTED_LABEL, "children"), Output(Admin.SELECTED_ROLE, "value"),
                      Input(Admin.USERS_GRID, "selectedRows"))
    def show_selected(rows):
        if not rows:
            return NO_USER_SELECTED, None
        row = rows[0]
        return [html.Strong(row["username"]), f" · {row['role']} · active: {row['active']}"], row["role"]

    @guarded_callback(Perm.USERS_MANAGE, Output(Admin.MESSAGE, "children"), Output(Admin.USERS_CHANGED, "data"),
                      Output(Admin.NEW_PASSWORD, "value"),
                      *(Input(button, "n_clicks") for button in USER_ACTIONS),
                      State(Admin.NEW_USERNAME, "value"), State(Admin.NEW_DISPLAY, "value"),
                      State(Admin.NEW_PASSWORD, "value"), State(Admin.NEW_ROLE, "value"),
                      State(Admin.USERS_GRID, "selectedRows"), State(Admin.SELECTED_ROLE, "value"),
                      State(Admin.USERS_CHANGED, "data"), prevent_initial_call=True)
    def user_action(_c, _r, _d, _e, _p, username, display, password, role, selected, selected_role, changed):
        form = dict(username=username, display=display, password=password, role=role, selected=selected,
                    selected_role=selected_role)
        try:
            message = USER_ACTIONS[ctx.triggered_id](current_user.username, form)
        except ServiceError as err:
            return problem(err), no_update, no_update
        return message, (changed or 0) + 1, "" if ctx.triggered_id == Admin.CREATE else no_update

    @guarded_callback(Perm.TOKENS_MANAGE, Output(Admin.TOKEN_MESSAGE, "children"),
                      Output(Admin.TOKENS_CHANGED, "data"),
                      Input(Admin.CREATE_TOKEN, "n_clicks"), Input(Admin.REVOKE_TOKEN, "n_clicks"),
                      State(Admin.TOKEN_USER, "value"), State(Admin.TOKEN_NAME, "value"),
                      State(Admin.TOKEN_ENGINES, "value"),
                      State(Admin.TOKENS_GRID, "selectedRows"), State(Admin.TOKENS_CHANGED, "data"),
                      prevent_initial_call=True)
    def token_action(_create, _revoke, user_id, name, engines, selected, changed):
        try:
            message = (_create_token(user_id, name, engines) if ctx.triggered_id == Admin.CREATE_TOKEN
                       else _revoke_token(selected))
        except ServiceError as err:
            return problem(err), no_update
        return message, (changed or 0) + 1


def _create_token(user_id: str | None, name: str | None, engines: str | None) -> dbc.Alert:
    if not isinstance(user_id, str) or not user_id.isdigit() or len(user_id) > 9:  # a crafted value: no 500
        raise ValidationError("no user chosen: pick the user the token acts as", field="user_id")
    if engines is not None and not isinstance(engines, str):
        raise ValidationError("engine ids are a text: ids separated by commas or spaces", field="engines")
    token, secret = tokens.create_token(current_user.username, int(user_id), name if isinstance(name, str) else "",
                                        engines or "")
    bound = ", ".join(sorted(token.engine_ids)) or "no engine (it may not ingest)"
    return shown_once(f"API token {token.name!r} for {token.user.username}, reporting for {bound}:", secret,
                      "Shown once: store it in the engine's secret store now. It cannot be shown again; "
                      "if it is lost, revoke it and create a new one.")


def _revoke_token(selected) -> dbc.Alert:
    token = tokens.revoke_token(current_user.username, selected_id(selected, "token"))
    return ok(f"API token {token.name!r} ({token.prefix}…) is revoked.")
