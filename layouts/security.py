"""Security (risk and admin: COMPLIANCE_VIEW): sign-in history and failed sign-ins, active sessions
(revoking one needs SESSIONS_MANAGE), the privileged-action review queue, and the MFA policy (admin).
A pure layout; callbacks/security.py fills it."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.security.permissions import ROLES, Perm
from layouts.admin import selectable_grid
from layouts.approvals import narrow_id
from layouts.common import page_header
from layouts.ids_governance import Security

LOGIN_COLUMNS = [("created_at", "Time (UTC)"), ("username", "User name"), ("outcome", "Outcome"),
                 ("reason", "Reason"), ("address", "Address"), ("user_agent", "Browser")]
SESSION_COLUMNS = [("username", "User name"), ("created_at", "Signed in (UTC)"), ("last_seen_at", "Last seen (UTC)"),
                   ("address", "Address"), ("mfa_verified_at", "2FA code (UTC)"), ("user_agent", "Browser")]
REVIEW_COLUMNS = [("id", "#"), ("created_at", "Time (UTC)"), ("actor", "Actor"), ("action", "Action"),
                  ("target", "Target"), ("outcome", "Outcome"), ("details", "Details"), ("reviewed_by", "Reviewed by"),
                  ("reviewed_at", "Reviewed (UTC)")]


def _card(title: str, *body, class_name: str = "mb-3") -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(list(body))], className=class_name)


def policy_card() -> dbc.Card:
    return _card(
        "Two-factor policy",
        dbc.Label("Roles that must use two-factor authentication for privileged actions", html_for=Security.POLICY_ROLES,
                  className="small"),
        dbc.Checklist(id=Security.POLICY_ROLES, options=[{"label": r, "value": r} for r in ROLES], inline=True),
        dbc.Label("Fresh-code window (minutes)", html_for=Security.POLICY_MINUTES, className="small mt-2"),
        dbc.Input(id=Security.POLICY_MINUTES, type="number", min=1, max=60, step=1, size="sm",
                  style={"maxWidth": "120px"}),
        dbc.Button("Save policy", id=Security.POLICY_SAVE, color="primary", size="sm", className="mt-2"),
        html.Div(id=Security.POLICY_MESSAGE, className="mt-2"),
    )


def layout(perms=frozenset(), **_kwargs) -> html.Div:
    manage_sessions = Perm.SESSIONS_MANAGE in perms
    return html.Div([
        page_header("Security", "Sign-ins, sessions and the compliance review of privileged actions"),
        dcc.Store(id=Security.CHANGED),
        dcc.Interval(id=Security.INTERVAL, interval=30_000),
        dbc.Row([
            dbc.Col(_card(
                "Sign-in history",
                dbc.Switch(id=Security.FAILED_ONLY, label="Failed sign-ins only", value=False, className="mb-2"),
                selectable_grid(Security.LOGINS_GRID, LOGIN_COLUMNS, "No sign-ins recorded.", height=300)), xl=6),
            dbc.Col(_card(
                "Active sessions",
                selectable_grid(Security.SESSIONS_GRID, SESSION_COLUMNS, "No active sessions.", height=300),
                dbc.Button("Sign out the selected session", id=Security.REVOKE, color="warning", outline=True,
                           size="sm", className="mt-2", style=None if manage_sessions else {"display": "none"}),
                html.Div(id=Security.SESSIONS_MESSAGE, className="mt-2")), xl=6),
        ]),
        _card(
            "Privileged actions awaiting compliance sign-off",
            dbc.Switch(id=Security.SHOW_REVIEWED, label="Show signed-off records too", value=False, className="mb-2"),
            narrow_id(selectable_grid(Security.REVIEW_GRID, REVIEW_COLUMNS, "Nothing awaits sign-off.", height=320)),
            html.Div([
                dbc.Input(id=Security.REVIEW_NOTE, placeholder="note (optional)", maxLength=300, size="sm",
                          style={"maxWidth": "360px"}, className="me-2"),
                dbc.Button("Sign off the selected record", id=Security.MARK_REVIEWED, color="success", size="sm"),
            ], className="d-flex align-items-center mt-2"),
            html.Div(id=Security.REVIEW_MESSAGE, className="mt-2"),
        ),
        policy_card() if Perm.USERS_MANAGE in perms else html.Div(),
    ])
