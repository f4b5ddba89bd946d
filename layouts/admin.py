"""Admin: users, roles and API tokens. A pure layout; the data arrives through callbacks/admin.py."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.security.passwords import MIN_LENGTH
from dashapp.security.permissions import ROLES
from dashapp.presentation.columns import column_def
from layouts.admin_data_quality import section as data_quality_section
from layouts.common import page_header
from layouts.ids import Admin

USER_COLUMNS = [("username", "User name"), ("display_name", "Display name"), ("role", "Role"),
                ("active", "Active"), ("locked", "Locked"), ("last_login", "Last login (UTC)"),
                ("created", "Created (UTC)")]
TOKEN_COLUMNS = [("name", "Name"), ("prefix", "Prefix"), ("user", "User"), ("engines", "Engines"),
                 ("created_by", "Created by"),
                 ("created", "Created (UTC)"), ("last_used", "Last used (UTC)"), ("revoked", "Revoked (UTC)")]
NO_USER_SELECTED = "No user selected: click a row in the users grid."


def selectable_grid(grid_id: str, columns: list[tuple[str, str]], empty_text: str, height: int = 320) -> dag.AgGrid:
    """A read-only grid with single-row click selection. Its theme is the Theming API's default
    (Quartz), which follows `data-ag-theme-mode` on <html>, so it switches with the app's theme."""
    return dag.AgGrid(
        id=grid_id,
        # Timestamps need the room to show minutes; other columns share what is left.
        columnDefs=[column_def(field, header_name=header, **({"minWidth": 175} if "UTC" in header else {}))
                    for field, header in columns],
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1, "minWidth": 110},
        getRowId="params.data.id",
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "localeText": {"noRowsToShow": empty_text}, "animateRows": False},
        style={"height": f"{height}px", "width": "100%"},
    )


def role_options() -> list[dict]:
    return [{"label": f"{name} — {text}", "value": name} for name, text in ROLES.items()]


def _field(label: str, control, help_text: str = "") -> html.Div:
    parts = [dbc.Label(label, html_for=control.id, className="small mb-1"), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return html.Div(parts, className="mb-2")


def create_user_card() -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader("Create user"),
        dbc.CardBody([
            _field("User name", dbc.Input(id=Admin.NEW_USERNAME, placeholder="e.g. jsmith", autoComplete="off")),
            _field("Display name", dbc.Input(id=Admin.NEW_DISPLAY, placeholder="e.g. Jane Smith", autoComplete="off")),
            _field("Password", dbc.Input(id=Admin.NEW_PASSWORD, type="password", autoComplete="new-password"),
                   f"At least {MIN_LENGTH} characters mixing three of: lower case, upper case, digits, symbols."),
            _field("Role", dbc.Select(id=Admin.NEW_ROLE, options=role_options(), value="viewer")),
            dbc.Button("Create user", id=Admin.CREATE, color="primary", className="mt-1"),
        ]),
    ], className="mb-3")


def selected_user_card() -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader("Selected user"),
        dbc.CardBody([
            html.Div(NO_USER_SELECTED, id=Admin.SELECTED_LABEL, className="small text-body-secondary mb-2"),
            dbc.InputGroup([
                dbc.Select(id=Admin.SELECTED_ROLE, options=role_options(), placeholder="Role"),
                dbc.Button("Assign role", id=Admin.SET_ROLE, color="primary", outline=True),
            ], size="sm", className="mb-2"),
            html.Div([
                dbc.Button("Disable", id=Admin.DISABLE, color="warning", outline=True, size="sm", className="me-1"),
                dbc.Button("Enable", id=Admin.ENABLE, color="success", outline=True, size="sm", className="me-1"),
                dbc.Button("Reset password", id=Admin.RESET_PASSWORD, color="danger", outline=True, size="sm"),
            ]),
        ]),
    ], className="mb-3")


def tokens_section() -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader("API tokens"),
        dbc.CardBody([
            html.P("A token acts as its user, with that user's role, and reports only for the engine ids it is "
                   "bound to (an engine's token: its own id; a token bound to none may read but not ingest). "
                   "The secret is shown once, when it is created.", className="small text-body-secondary"),
            dbc.Row([
                dbc.Col(dbc.Select(id=Admin.TOKEN_USER, options=[], placeholder="User the token acts as"), md=3),
                dbc.Col(dbc.Input(id=Admin.TOKEN_NAME, placeholder="Token name, e.g. paper-engine-1",
                                  autoComplete="off", maxLength=80), md=3),
                dbc.Col(dbc.Input(id=Admin.TOKEN_ENGINES, placeholder="Engine ids, e.g. paper-1 (blank: none)",
                                  autoComplete="off", maxLength=400), md=3),
                dbc.Col([
                    dbc.Button("Create token", id=Admin.CREATE_TOKEN, color="primary", className="me-1"),
                    dbc.Button("Revoke selected", id=Admin.REVOKE_TOKEN, color="danger", outline=True),
                ], md=3),
            ], className="g-2 mb-2"),
            html.Div(id=Admin.TOKEN_MESSAGE),
            selectable_grid(Admin.TOKENS_GRID, TOKEN_COLUMNS, "No API tokens yet.", height=260),
        ]),
    ])


def layout(**_) -> html.Div:
    return html.Div([
        page_header("Admin", "users, roles and API tokens; every change is audited"),
        dcc.Store(id=Admin.USERS_CHANGED, data=0),
        dcc.Store(id=Admin.TOKENS_CHANGED, data=0),
        html.Div(id=Admin.MESSAGE),
        dbc.Row([
            dbc.Col([
                html.Div([html.H3("Users", className="h6 mb-0 me-auto"),
                          dbc.Button("Reload", id=Admin.REFRESH, size="sm", color="secondary", outline=True)],
                         className="d-flex align-items-center mb-2"),
                selectable_grid(Admin.USERS_GRID, USER_COLUMNS, "No users yet.", height=380),
            ], lg=8, className="mb-3"),
            dbc.Col([selected_user_card(), create_user_card()], lg=4),
        ]),
        tokens_section(),
        data_quality_section(),
    ], id="page-admin")
