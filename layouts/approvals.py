"""Approvals: the four-eyes requests (kill-switch reset, LIVE trading, admin grants, limit relaxations,
runbooks, model promotions...). A pure layout; callbacks/approvals.py fills it and acts."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.admin import selectable_grid
from layouts.common import page_header
from layouts.ids_governance import Approvals

PENDING_COLUMNS = [("id", "#"), ("title", "Action"), ("summary", "What"), ("reason", "Reason"),
                   ("requested_by", "Requested by"), ("requested_at", "Requested (UTC)"), ("expires_at", "Expires (UTC)"),
                   ("yours", "Yours to decide")]
HISTORY_COLUMNS = [("id", "#"), ("title", "Action"), ("summary", "What"), ("requested_by", "Requested by"),
                   ("state", "State"), ("decided_by", "Decided by"), ("decided_at", "Decided (UTC)"),
                   ("outcome", "Outcome")]


def narrow_id(grid):
    """The request/record number needs little room (the catalogue's numeric column is wide)."""
    wide = {"summary", "reason", "details", "outcome"}  # free text: more room, the whole text on hover
    grid.columnDefs = [{**c, "maxWidth": 90, "minWidth": 70} if c["field"] == "id" else
                       {**c, "flex": 2, "tooltipField": c["field"]} if c["field"] in wide else c for c in grid.columnDefs]
    return grid


def layout(**_kwargs) -> html.Div:
    return html.Div([
        page_header("Approvals", "Four-eyes: a second person with the right permission approves; the requester never"
                                 " can. Approving runs the action."),
        dcc.Store(id=Approvals.CHANGED),
        dcc.Interval(id=Approvals.INTERVAL, interval=10_000),
        dbc.Card([
            dbc.CardHeader("Pending requests"),
            dbc.CardBody([
                narrow_id(selectable_grid(Approvals.PENDING_GRID, PENDING_COLUMNS, "Nothing waits for approval.",
                                          height=260)),
                html.Div([
                    dbc.Button("Approve", id=Approvals.APPROVE, color="success", size="sm", className="me-2"),
                    dbc.Input(id=Approvals.REASON, placeholder="reason to reject (at least 5 characters)",
                              maxLength=300, size="sm", style={"maxWidth": "320px"}, className="me-2"),
                    dbc.Button("Reject", id=Approvals.REJECT, color="danger", outline=True, size="sm",
                               className="me-2"),
                    dbc.Button("Cancel my request", id=Approvals.CANCEL, color="secondary", outline=True, size="sm"),
                ], className="d-flex align-items-center mt-2"),
                html.Div(id=Approvals.MESSAGE, className="mt-2"),
            ]),
        ], className="mb-3"),
        dbc.Card([dbc.CardHeader("Recent decisions"),
                  dbc.CardBody(narrow_id(selectable_grid(Approvals.HISTORY_GRID, HISTORY_COLUMNS, "No decisions yet.",
                                                         height=300)))]),
    ])
