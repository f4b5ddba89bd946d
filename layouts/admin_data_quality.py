"""Admin page, "Data quality" section: stored rows outside the desk's domain bounds (found by
dashapp.services.data_quality). A pure layout; callbacks/admin_data_quality.py fills it."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from dashapp.presentation.columns import column_def


class DataQualityIds:
    RUN = "admin-dq-run"
    SUMMARY = "admin-dq-summary"
    GRID = "admin-dq-grid"


COLUMNS = [("kind", "Kind"), ("rule", "Rule"), ("rows", "Rows"), ("sample_ids", "Sample row ids")]


def section() -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader(html.Div([
            html.Span("Data quality", className="me-auto"),
            dbc.Button("Run check", id=DataQualityIds.RUN, size="sm", color="secondary", outline=True),
        ], className="d-flex align-items-center")),
        dbc.CardBody([
            html.P("Stored rows outside the desk's bounds (future or pre-epoch timestamps, non-finite or absurd "
                   "amounts, control characters, fills above their order). Pages and exports leave them out; "
                   "here they are listed so they can be corrected at the source.",
                   className="small text-body-secondary"),
            html.Div("Not run yet: press Run check.", id=DataQualityIds.SUMMARY, className="small mb-2"),
            dag.AgGrid(
                id=DataQualityIds.GRID,
                columnDefs=[column_def(f, header_name=h, **({"flex": 2} if f == "rule" else {})) for f, h in COLUMNS],
                rowData=[],
                defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 100},
                dashGridOptions={"localeText": {"noRowsToShow": "No findings."}, "animateRows": False},
                style={"height": "260px", "width": "100%"},
            ),
        ]),
    ], className="mt-3", id="admin-data-quality")
