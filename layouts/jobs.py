"""Jobs: launch background work, follow its state and progress, read its log and result, cancel it.
Pure layout; the data arrives through callbacks/jobs.py."""
from __future__ import annotations

import json
import uuid

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import empty_state, page_header
from layouts.ids import Jobs

COLUMNS = [("job_type", "Type", 1), ("state", "State", 1), ("progress", "Progress %", 1),
           ("created_by", "Created by", 1), ("created_at", "Created (UTC)", 1.3),
           ("finished_at", "Finished (UTC)", 1.3), ("message", "Message", 2.5)]
STATE_COLOURS = {"queued": "secondary", "running": "info", "succeeded": "success", "failed": "danger",
                 "canceled": "warning", "timed_out": "warning"}
NO_JOBS = "No jobs yet. Run a health check to see one here."
NO_JOB_SELECTED = "No job selected: click a row in the grid to see its parameters, log and result."
REFRESH_MS = 2000


def layout(**_):
    """Runs on the server per page load: the role decides which action buttons show (the callbacks
    refuse them on the server anyway)."""
    from dashapp.security.guards import allowed
    from dashapp.security.permissions import Perm

    return jobs_page(allowed(Perm.JOBS_LAUNCH), allowed(Perm.JOBS_CANCEL), uuid.uuid4().hex)


def _shown(visible: bool) -> dict | None:
    return None if visible else {"display": "none"}


def jobs_page(can_launch: bool, can_cancel: bool, launch_token: str) -> html.Div:
    return html.Div([
        page_header("Jobs", "background work on the workers: launch it, follow it, cancel it"),
        dcc.Store(id=Jobs.LAUNCH_TOKEN, data=launch_token),  # makes a retried click idempotent
        dcc.Store(id=Jobs.CHANGED),
        dcc.Interval(id=Jobs.INTERVAL, interval=REFRESH_MS),
        dbc.Row([
            dbc.Col(dbc.Button("Run health check", id=Jobs.RUN_HEALTH, color="primary", style=_shown(can_launch)),
                    width="auto"),
            dbc.Col(dbc.Checkbox(id=Jobs.INCLUDE_SCHEDULED, label="Include scheduled health checks", value=False),
                    width="auto"),
        ], className="g-3 align-items-center mb-2"),
        html.Div(id=Jobs.MESSAGE),
        html.Div(id=Jobs.EMPTY),
        jobs_grid(),
        dbc.Card([
            dbc.CardHeader(dbc.Row([
                dbc.Col(html.Span("Selected job", className="fw-semibold")),
                dbc.Col(dbc.Button("Re-run with the same parameters", id=Jobs.RERUN, color="secondary", size="sm",
                                   outline=True, style=_shown(can_launch)), width="auto"),
                dbc.Col(dbc.Button("Cancel job", id=Jobs.CANCEL, color="danger", size="sm", outline=True,
                                   disabled=True, style=_shown(can_cancel)), width="auto"),
            ], className="align-items-center")),
            dbc.CardBody([html.Div(id=Jobs.CANCEL_MESSAGE), html.Div(id=Jobs.RERUN_MESSAGE),
                          html.Div(empty_state(NO_JOB_SELECTED), id=Jobs.DETAIL)]),
        ], className="mt-3"),
    ], id="page-jobs")


def jobs_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=Jobs.GRID,
        columnDefs=[column_def(field, header_name=header, flex=flex) for field, header, flex in COLUMNS],
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 100},
        getRowId="params.data.id",
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "localeText": {"noRowsToShow": NO_JOBS}, "animateRows": False},
        style={"height": "360px", "width": "100%"},
    )


def _pre(value, element_id: str) -> html.Pre:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
    return html.Pre(text or "—", id=element_id, className="small mb-0 p-2 border rounded",
                    style={"maxHeight": "260px", "overflow": "auto", "whiteSpace": "pre-wrap"})


def _section(title: str, body) -> html.Div:
    return html.Div([html.H3(title, className="h6 mt-3 mb-1"), body])


def job_detail(job: dict) -> html.Div:
    """The detail panel for one job (a dict from dashapp.services.jobs.detail)."""
    running = job["state"] == "running"
    parts = [
        html.Div([
            html.Span(job["job_type"], className="fw-semibold me-2"),
            dbc.Badge(job["state"], color=STATE_COLOURS.get(job["state"], "secondary"), id="jobs-detail-state",
                      className="me-2"),
            html.Small(f"id {job['id']} · queue {job['queue']} · attempt {job['attempts']} · by {job['created_by']} · "
                       f"created {job['created_at']} · started {job['started_at'] or '—'} · "
                       f"finished {job['finished_at'] or '—'}", className="text-body-secondary"),
        ]),
        dbc.Progress(value=job["progress"], label=f"{job['progress']:.0f}%", striped=running, animated=running,
                     className="my-2", id="jobs-detail-progress"),
        html.Div(job["message"], className="small", id="jobs-detail-message"),
    ]
    if job["error"]:
        parts.append(dbc.Alert([html.Strong("Error: "), job["error"]], color="danger", className="mt-2 mb-0",
                               id="jobs-detail-error"))
    parts += [_section("Parameters", _pre(job["params"], "jobs-detail-params")),
              _section("Result", _pre(job["result"], "jobs-detail-result")),
              _section("Log", _pre(job["log"], "jobs-detail-log")),
              dcc.Link("Every log line of this job (Operations → Logs)", href=f"/operations/logs?job_id={job['id']}",
                       id="jobs-detail-logs-link", className="small")]
    return html.Div(parts)


def notice(text: str, ok: bool = True) -> dbc.Alert:
    if ok:
        return dbc.Alert(text, color="success", dismissable=True, className="mb-2")
    return dbc.Alert([html.Strong("Not done: "), text], color="danger", dismissable=True, className="mb-2")
