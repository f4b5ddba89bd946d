"""Operations -> Logs: search the JSON log lines of every process (time window, level, process,
request id, user, job id, order id, text), newest first, and a live tail filtered on the server.
Pure layout; data through callbacks/operations_logs.py. A link may prefill the filters:
`/operations/logs?job_id=<id>` (also request_id, order_id, user)."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import page_header
from layouts.operations_nav import operations_nav
from layouts.operations_tools_ids import OpsLogs

WINDOWS = [("Last 15 minutes", 15), ("Last hour", 60), ("Last 6 hours", 360), ("Last 24 hours", 1440),
           ("Last 7 days", 10080)]
LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
COLUMNS = [("time", "Time (UTC)", 1.5), ("level", "Level", 0.8), ("process", "Process", 0.9),
           ("request_id", "Request", 1.2), ("user", "User", 0.8), ("job_id", "Job", 1.2),
           ("order_id", "Order", 1.0), ("message", "Message", 4)]
NO_LINES = "No log lines match: widen the window or clear a filter."
TAIL_MS = 2000
ALL = "all"  # the process choice that filters nothing
_PREFILL = ("request_id", "user", "job_id", "order_id", "process", "text")


def _text(element_id: str, label: str, value: str = "", placeholder: str = "", width: int = 2) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=element_id, className="small mb-0"),
                    dbc.Input(id=element_id, value=value, placeholder=placeholder, size="sm", debounce=True,
                              maxLength=200)], md=width)


def layout(**query) -> html.Div:
    """`query` holds the URL's parameters (Dash pages pass them); only known names prefill a filter."""
    given = {name: str(query.get(name) or "")[:200] for name in _PREFILL}
    window = 1440 if any(given[n] for n in ("job_id", "order_id", "request_id")) else 60
    return html.Div([
        operations_nav("logs"),
        page_header("Logs", "every process's JSON log lines: search, follow a request, a job or an order"),
        dcc.Store(id=OpsLogs.CURSOR),
        dcc.Interval(id=OpsLogs.TAIL_INTERVAL, interval=TAIL_MS, disabled=True),
        dbc.Card(dbc.CardBody([
            dbc.Row([
                dbc.Col([dbc.Label("Window", html_for=OpsLogs.SINCE, className="small mb-0"),
                         dbc.Select(id=OpsLogs.SINCE, options=[{"label": l, "value": str(v)} for l, v in WINDOWS],
                                    value=str(window), size="sm")], md=2),
                dbc.Col([dbc.Label("Level at least", html_for=OpsLogs.LEVEL, className="small mb-0"),
                         dbc.Select(id=OpsLogs.LEVEL, options=[{"label": v.title(), "value": v} for v in LEVELS],
                                    value="INFO", size="sm")], md=2),
                dbc.Col([dbc.Label("Process", html_for=OpsLogs.PROCESS, className="small mb-0"),
                         dbc.Select(id=OpsLogs.PROCESS, options=[{"label": "All processes", "value": ALL}] +
                                    ([{"label": given["process"], "value": given["process"]}]
                                     if given["process"] else []), value=given["process"] or ALL, size="sm")],
                        md=2),
                _text(OpsLogs.REQUEST_ID, "Request id", given["request_id"], "X-Request-ID"),
                _text(OpsLogs.USER, "User", given["user"], "username"),
                dbc.Col([dbc.Label("Lines", html_for=OpsLogs.LIMIT, className="small mb-0"),
                         dbc.Select(id=OpsLogs.LIMIT, options=[{"label": str(n), "value": str(n)}
                                                              for n in (100, 200, 500, 1000)],
                                    value="200", size="sm")], md=2),
            ], className="g-2 mb-2"),
            dbc.Row([
                _text(OpsLogs.JOB_ID, "Job id", given["job_id"], "job uuid", 3),
                _text(OpsLogs.ORDER_ID, "Order id", given["order_id"], "client order id", 2),
                _text(OpsLogs.TEXT, "Message contains", given["text"], "text", 3),
                dbc.Col(dbc.Button("Search", id=OpsLogs.SEARCH, color="primary", size="sm", className="w-100"),
                        md=2, className="d-flex align-items-end"),
                dbc.Col(dbc.Switch(id=OpsLogs.TAIL, label="Live tail", value=False, className="mb-1"),
                        md=2, className="d-flex align-items-end"),
            ], className="g-2"),
        ]), className="mb-2"),
        html.Div(id=OpsLogs.STATUS, className="small text-body-secondary mb-1"),
        dag.AgGrid(
            id=OpsLogs.GRID,
            columnDefs=[column_def(f, kind="text", header_name=h, flex=fl, tooltipField=f) for f, h, fl in COLUMNS],
            rowData=[],
            defaultColDef={"sortable": True, "resizable": True, "minWidth": 80},
            dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                             "localeText": {"noRowsToShow": NO_LINES}, "animateRows": False,
                             "tooltipShowDelay": 400},
            style={"height": "480px", "width": "100%"},
        ),
        html.Div(id=OpsLogs.DETAIL, className="mt-2"),
    ], id="page-operations-logs")


def line_detail(row: dict) -> html.Pre:
    text = "\n".join(f"{key}: {value}" for key, value in row.items() if value not in (None, ""))
    return html.Pre(text, className="small p-2 border rounded mb-0", id="opl-detail-text",
                    style={"whiteSpace": "pre-wrap", "maxHeight": "200px", "overflow": "auto"})
