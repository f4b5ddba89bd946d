"""Account: the signed-in user's own two-factor set-up and sessions. A pure layout; data and actions
arrive through callbacks/account.py."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.admin import selectable_grid
from layouts.common import page_header
from layouts.ids_governance import Account

SESSION_COLUMNS = [("current", "Current"), ("created_at", "Signed in (UTC)"), ("last_seen_at", "Last seen (UTC)"),
                   ("address", "Address"), ("mfa_verified_at", "2FA code (UTC)"), ("user_agent", "Browser")]


def mfa_card() -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader("Two-factor authentication"),
        dbc.CardBody([
            html.Div(id=Account.STATUS, className="mb-2"),
            dbc.Button("Set up an authenticator", id=Account.START, color="primary", size="sm", className="mb-2"),
            html.Div([
                html.P("Scan the QR code with an authenticator app (or type the key), then enter the code it shows.",
                       className="small mb-2"),
                html.Img(id=Account.QR, alt="QR code for the authenticator app",
                         style={"width": "200px", "height": "200px", "background": "#fff", "padding": "4px"}),
                html.Div(["Key: ", html.Code(id=Account.SECRET, className="user-select-all")], className="small my-2"),
                html.Div(html.Code(id=Account.URI, className="small text-break"), className="d-none"),
                dbc.InputGroup([dbc.Input(id=Account.CONFIRM_CODE, placeholder="6-digit code", inputMode="numeric",
                                          maxLength=6, autoComplete="one-time-code"),
                                dbc.Button("Confirm", id=Account.CONFIRM, color="primary")], size="sm",
                               style={"maxWidth": "320px"}),
            ], id=Account.ENROL_AREA, style={"display": "none"}),
            html.Div(id=Account.RECOVERY),
            html.Hr(),
            html.Div("Turn off two-factor authentication (needs a current code):", className="small mb-1"),
            dbc.InputGroup([dbc.Input(id=Account.DISABLE_CODE, placeholder="code", maxLength=16,
                                      autoComplete="one-time-code"),
                            dbc.Button("Turn off", id=Account.DISABLE, color="danger", outline=True)], size="sm",
                           style={"maxWidth": "320px"}),
            html.Div(id=Account.MESSAGE, className="mt-2"),
        ]),
    ], className="mb-3")


def sessions_card() -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader("Your signed-in sessions"),
        dbc.CardBody([
            selectable_grid(Account.SESSIONS_GRID, SESSION_COLUMNS, "No active sessions.", height=240),
            dbc.Button("Sign out the selected session", id=Account.REVOKE, color="warning", outline=True, size="sm",
                       className="mt-2"),
            html.Div(id=Account.SESSIONS_MESSAGE, className="mt-2"),
        ]),
    ], className="mb-3")


def layout(**_kwargs) -> html.Div:
    return html.Div([
        page_header("Account", "Your two-factor authentication and where you are signed in"),
        dcc.Store(id=Account.CHANGED),
        dcc.Interval(id=Account.INTERVAL, interval=30_000),
        dbc.Row([dbc.Col(mfa_card(), lg=5), dbc.Col(sessions_card(), lg=7)]),
    ])
