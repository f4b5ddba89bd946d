"""Operations -> Health: every process's heartbeat, queues and task rates, the database, the push
channel and endpoint latency, the SLOs with their error budgets and burn rates, and the durable task
history. Read-only by design: actions are runbooks (Operations -> Runbooks). Pure layout; the data
arrives through callbacks/operations.py, which renders it with layouts/operations_parts.py."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import empty_state, page_header
from layouts.operations_ids import Ops
from layouts.operations_nav import operations_nav

REFRESH_MS = 5000
INSTANCE_COLUMNS = [("service", 1), ("instance", 1.5), ("ops_state", 0.8), ("beat_at", 1.4), ("age_s", 1.2),
                    ("uptime", 0.9), ("app_version", 0.7), ("host", 0.9), ("pid", 0.6)]
TASK_COLUMNS = [("started_at", 1.3), ("task_name", 1.5), ("task_state", 0.8), ("queue", 0.6), ("worker", 1.3),
                ("runtime_s", 0.8), ("retries", 0.6), ("produced", 1.3), ("job_id", 1.2), ("task_args", 1.6),
                ("exception", 1.6)]
TASK_STATES = [("All states", "all"), ("Started", "started"), ("Succeeded", "succeeded"), ("Failed", "failed"),
               ("Retry", "retry"), ("Revoked", "revoked")]
TASK_WINDOWS = [("Last hour", 1), ("Last 24 hours", 24), ("Last 7 days", 168), ("Last 30 days", 720)]
MIN_WIDTHS = {"age_s": 150, "runtime_s": 125}  # headers with a unit that must not be cut
NO_INSTANCES = "No process has sent a heartbeat yet: start the cockpit with `dashapp up`."
NO_TASKS = "No task runs match: widen the window or clear the search."


def layout(**_):
    return operations_page()


def _card(title: str, body, body_id: str | None = None, extra=None) -> dbc.Card:
    header = dbc.CardHeader(html.Div([html.Span(title, className="fw-semibold"), extra if extra is not None else ""],
                                     className="d-flex justify-content-between align-items-center"))
    return dbc.Card([header, dbc.CardBody(body, id=body_id) if body_id else dbc.CardBody(body)], className="h-100")


def _grid(grid_id: str, columns, empty_text: str, height: str, row_id: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id, rowData=[],
        columnDefs=[column_def(field, flex=flex, **({"minWidth": MIN_WIDTHS[field]} if field in MIN_WIDTHS else {}))
                    for field, flex in columns],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
        getRowId=row_id,
        dashGridOptions={"localeText": {"noRowsToShow": empty_text}, "animateRows": False,
                         "tooltipShowDelay": 300},
        style={"height": height, "width": "100%"},
    )


def operations_page() -> html.Div:
    return html.Div([
        operations_nav("health"),
        page_header("Operations", "health of every process, queues, database, push channel, SLOs and the task "
                                  "history; read-only (actions are runbooks)"),
        dcc.Interval(id=Ops.INTERVAL, interval=REFRESH_MS),
        html.Div(html.Small("loading…", className="text-body-secondary"), id=Ops.UPDATED, className="mb-2"),
        html.Div(empty_state("Reading heartbeats…"), id=Ops.TILES, className="mb-3"),
        _card("Processes", _grid(Ops.INSTANCES, INSTANCE_COLUMNS, NO_INSTANCES, "260px",
                                 "params.data.service + '/' + params.data.instance")),
        dbc.Row([
            dbc.Col(_card("Queues (waiting in the broker) and task rates (last 5 min)",
                          [html.Div(id=Ops.QUEUES), html.Div(id=Ops.TASK_RATES, className="mt-2")]), lg=4),
            dbc.Col(_card("Database", html.Div(id=Ops.DATABASE)), lg=4),
            dbc.Col(_card("Push channel and endpoint latency",
                          [html.Div(id=Ops.PUSH), html.Div(id=Ops.LATENCY, className="mt-2")]), lg=4),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(_card("Service level objectives", html.Div(id=Ops.SLO_TABLE)), xxl=7),
            dbc.Col(_card("Burn rate (1 h window)", dcc.Graph(id=Ops.BURN_CHART, config={"displayModeBar": False},
                                                              style={"height": "300px"}),
                          extra=dbc.Select(id=Ops.BURN_SLO, size="sm", style={"width": "15rem"})), xxl=5),
        ], className="g-3 mt-1"),
        dbc.Card([
            dbc.CardHeader(html.Span("Task history (kept in the store; survives restarts)", className="fw-semibold")),
            dbc.CardBody([
                dbc.Row([
                    dbc.Col(dbc.Input(id=Ops.TASK_SEARCH, placeholder="Search task, task id, job id, worker, queue",
                                      size="sm", debounce=True, maxLength=80), md=5),
                    dbc.Col(dbc.Select(id=Ops.TASK_STATE, options=[{"label": l, "value": v} for l, v in TASK_STATES],
                                       value="all", size="sm"), md=2),
                    dbc.Col(dbc.Select(id=Ops.TASK_HOURS, options=[{"label": l, "value": str(v)}
                                                                   for l, v in TASK_WINDOWS],
                                       value="24", size="sm"), md=2),
                ], className="g-2 mb-2"),
                html.Div(id=Ops.TASK_MESSAGE),
                _grid(Ops.TASK_GRID, TASK_COLUMNS, NO_TASKS, "380px", "params.data.id"),
            ]),
        ], className="mt-3"),
    ], id=Ops.PAGE)
