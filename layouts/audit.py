"""Audit trail: the chained, signed records, newest first, with filters and a chain check.
A pure layout; the records arrive through callbacks/audit.py."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from dashapp.presentation.columns import column_def
from layouts.common import page_header
from layouts.ids import Audit

MAX_ROWS = 500
COLUMNS = [
    column_def("id", maxWidth=90, sort="desc"),
    column_def("time", header_name="Time (UTC)", minWidth=170),
    column_def("actor"), column_def("action"), column_def("target"),
    column_def("outcome", maxWidth=120, cellClassRules={"text-danger fw-semibold": "params.value !== 'ok'"}),
    column_def("details", flex=2, tooltipField="details"),
]


def filters() -> dbc.Row:
    return dbc.Row([
        dbc.Col(dbc.Input(id=Audit.ACTOR, placeholder="Actor (exact user name)", autoComplete="off"), md=3),
        dbc.Col(dbc.Select(id=Audit.ACTION, options=[], placeholder="Any action"), md=3),
        dbc.Col(dbc.Input(id=Audit.TEXT, placeholder="Text in target or details", autoComplete="off"), md=3),
        dbc.Col([dbc.Button("Apply", id=Audit.APPLY, color="primary", className="me-1"),
                 dbc.Button("Verify chain", id=Audit.VERIFY, color="secondary", outline=True)], md=3),
    ], className="g-2 mb-2")


def grid() -> dag.AgGrid:
    # Default Theming API theme (Quartz): follows data-ag-theme-mode on <html>, like the rest of the app.
    return dag.AgGrid(
        id=Audit.GRID,
        columnDefs=COLUMNS,
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1, "minWidth": 100},
        dashGridOptions={"localeText": {"noRowsToShow": "No audit records match these filters."},
                         "animateRows": False, "enableCellTextSelection": True},
        style={"height": "560px", "width": "100%"},
    )


def layout(**_) -> html.Div:
    return html.Div([
        page_header("Audit trail", "every privileged action, chained and signed; newest first"),
        filters(),
        html.Div(id=Audit.VERIFY_RESULT),
        html.Div(id=Audit.COUNT, className="small text-body-secondary mb-1"),
        grid(),
    ], id="page-audit")
