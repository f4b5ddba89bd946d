"""Operations -> Runbooks: the Markdown catalogue (linked from alerts by slug), the allowlisted
actions (typed inputs, Dry run, then Request or Run), requests waiting for a second person's
approval, and the history of runs with their output. Pure layout; data through
callbacks/operations_runbooks.py. A role without runbooks:request sees the catalogue and the
history but no action controls (and the callbacks refuse it on the server anyway)."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import empty_state, page_header
from layouts.operations_nav import operations_nav
from layouts.operations_tools_ids import OpsRunbooks as R

PARAM_INPUTS = ("engine_id", "queue", "job_id", "token_id", "table", "operation")
RUN_COLUMNS = [("id", "Run #", 0.6), ("action", "Action", 1.6), ("state", "State", 0.9),
               ("requested_by", "Requested by", 1), ("approved_by", "Approved by", 1),
               ("requested_at", "Requested (UTC)", 1.4), ("finished_at", "Finished (UTC)", 1.4),
               ("incident_id", "Incident", 0.7)]
NO_RUNS = "No runbook runs yet."
NO_PENDING = "Nothing waits for approval."
REFRESH_MS = 3000


def _field(param: str, label: str, control, hint: str = "") -> html.Div:
    return html.Div([dbc.Label(label, html_for=control.id, className="small mb-0"), control,
                     html.Small(hint, className="text-body-secondary")],
                    id=f"{R.FIELDS}-{param}", className="mb-2", style={"display": "none"})


def _select(element_id: str, values, value=None) -> dbc.Select:
    return dbc.Select(id=element_id, options=[{"label": v, "value": v} for v in values], value=value or values[0],
                      size="sm")


def action_form(actions: list[tuple[str, str]], tables: tuple[str, ...], queues: tuple[str, ...]) -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader("Run an action", className="fw-semibold"),
        dbc.CardBody([
            dcc.Store(id=R.DRY_KEY),
            dbc.Label("Action", html_for=R.ACTION, className="small mb-0"),
            dbc.Select(id=R.ACTION, options=[{"label": title, "value": name} for name, title in actions],
                       value=actions[0][0] if actions else None, size="sm", className="mb-2"),
            _field("engine_id", "Engine id", dbc.Input(id=R.ENGINE_ID, value="paper-1", maxLength=32, size="sm")),
            _field("queue", "Queue", _select(R.QUEUE, queues)),
            _field("job_id", "Job id", dbc.Input(id=R.JOB_ID, maxLength=36, size="sm", placeholder="job uuid"),
                   "from the Jobs page"),
            _field("token_id", "API token #", dbc.Input(id=R.TOKEN_ID, type="number", min=1, step=1, size="sm"),
                   "from Admin → API tokens"),
            _field("table", "Table", _select(R.TABLE, tables, "jobs")),
            _field("operation", "Operation", _select(R.OPERATION, ("analyze", "vacuum", "vacuum_analyze"))),
            dbc.Label("Reason", html_for=R.REASON, className="small mb-0"),
            dbc.Input(id=R.REASON, maxLength=300, size="sm", placeholder="why (at least 5 characters)",
                      className="mb-2"),
            dbc.Label("Incident # (optional)", html_for=R.INCIDENT, className="small mb-0"),
            dbc.Input(id=R.INCIDENT, type="number", min=1, step=1, size="sm", className="mb-2",
                      placeholder="puts the output on the incident's timeline"),
            dbc.Row([
                dbc.Col(dbc.Button("Dry run", id=R.DRY_RUN, color="secondary", size="sm", className="w-100")),
                dbc.Col(dbc.Button("Request", id=R.REQUEST, color="primary", size="sm", className="w-100",
                                   disabled=True)),
            ], className="g-2"),
            html.Div(id=R.DRY_OUTPUT, className="mt-2"),
            html.Div(id=R.MESSAGE, className="mt-2"),
        ]),
    ], className="mb-3", id="opr-action-card")


def pending_card(can_approve: bool) -> dbc.Card:
    buttons = dbc.Row([
        dbc.Col(dbc.Input(id=R.DECISION_NOTE, maxLength=300, size="sm", placeholder="reason to reject")),
        dbc.Col(dbc.Button("Approve", id=R.APPROVE, color="success", size="sm"), width="auto"),
        dbc.Col(dbc.Button("Reject", id=R.REJECT, color="danger", outline=True, size="sm"), width="auto"),
    ], className="g-2 mt-2") if can_approve else html.Small(
        "Approving needs the runbooks:approve permission (risk, admin), and never your own request.",
        className="text-body-secondary")
    return dbc.Card([
        dbc.CardHeader("Waiting for approval", className="fw-semibold"),
        dbc.CardBody([dbc.RadioItems(id=R.PENDING, options=[], value=None, className="small"),
                      html.Div(empty_state(NO_PENDING), id=R.PENDING_EMPTY), buttons,
                      html.Div(id=R.DECISION_MESSAGE, className="mt-2")]),
    ], className="mb-3", id="opr-pending-card")


def history_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=R.HISTORY,
        columnDefs=[column_def(f, kind="text", header_name=h, flex=fl) for f, h, fl in RUN_COLUMNS],
        rowData=[], getRowId="params.data.id",
        defaultColDef={"sortable": True, "resizable": True, "minWidth": 80},
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "localeText": {"noRowsToShow": NO_RUNS}, "animateRows": False},
        style={"height": "300px", "width": "100%"},
    )


def layout(slug: str | None = None, perms=frozenset(), **_) -> html.Div:
    from dashapp.security.permissions import Perm
    from dashapp.services.errors import ServiceError
    from dashapp.services.ops import runbook_actions, runbook_catalog

    pages = runbook_catalog.catalog()
    try:
        page = runbook_catalog.get(slug)
        text, problem = page.text, None
    except ServiceError as err:
        page, text, problem = None, "", err.message
    can_request, can_approve = Perm.RUNBOOK_REQUEST in perms, Perm.RUNBOOK_APPROVE in perms
    linked = page.actions if page else ()
    ordered = sorted(runbook_actions.ACTIONS.values(), key=lambda a: (a.name not in linked, a.title))
    catalog = dbc.ListGroup([
        dbc.ListGroupItem(p.title, href=runbook_catalog.url(p.slug), active=page is not None and p.slug == page.slug,
                          id=f"opr-page-{p.slug}", className="py-1 small") for p in pages], id=R.CATALOG)
    body = [dbc.Alert(problem, color="warning", id="opr-not-found")] if problem else []
    body.append(dcc.Markdown(text, id=R.TEXT, link_target="_self", className="runbook-text"))
    right = [html.Div(body, className="border rounded p-3 mb-3")]
    if page and linked:
        right.append(html.Small("Actions for this runbook: " + ", ".join(
            runbook_actions.ACTIONS[n].title for n in linked), className="text-body-secondary d-block mb-2"))
    side = [action_form([(a.name, a.title + ("" if a.approval_required else " (no approval)")) for a in ordered],
                        runbook_actions.MAINTENANCE_TABLES, runbook_actions.QUEUE_NAMES)] if can_request else [
        dbc.Alert("Your role can read the runbooks but not run their actions.", color="secondary",
                  id="opr-read-only", className="small")]
    if can_request or can_approve:
        side.append(pending_card(can_approve))
    return html.Div([
        operations_nav("runbooks"),
        page_header("Runbooks", "what to do when an alert fires, and the allowlisted actions to do it with"),
        dcc.Interval(id=R.INTERVAL, interval=REFRESH_MS),
        dcc.Store(id=R.CHANGED),
        dbc.Row([
            dbc.Col([html.H3("Catalogue", className="h6"), catalog], lg=2),
            dbc.Col(right, lg=6),
            dbc.Col(side, lg=4),
        ], className="g-3"),
        html.H3("Runs", className="h6 mt-2"),
        history_grid(),
        # Shown for an approved run that has not started (approved elsewhere, e.g. on the Security page).
        dbc.Button("Start the selected approved run", id=R.START, color="primary", size="sm", className="mt-2",
                   style={"display": "none"}) if can_request else None,
        html.Div(empty_state("Click a run to see its dry run and output."), id=R.RUN_DETAIL, className="mt-2"),
    ], id="page-operations-runbooks")


def params_text(params) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items()) or "no parameters"


def run_detail(run: dict) -> html.Div:
    def block(title, text, element_id):
        return html.Div([html.H4(title, className="h6 mt-2 mb-1"),
                         html.Pre(text or "—", id=element_id, className="small p-2 border rounded mb-0",
                                  style={"whiteSpace": "pre-wrap", "maxHeight": "220px", "overflow": "auto"})])

    head = html.Div([html.Strong(f"Run #{run['id']}: {run['action']} "),
                     dbc.Badge(run["state"], color={"succeeded": "success", "failed": "danger", "running": "info",
                                                    "requested": "warning"}.get(run["state"], "secondary"),
                               id="opr-run-state"),
                     html.Small(f" · {params_text(run['params'])} · requested by {run['requested_by']} "
                                f"({run['reason']}) · approved by {run['approved_by'] or '—'}"
                                + (f" · job {run['job_id']}" if run["job_id"] else ""),
                                className="text-body-secondary")])
    parts = [head, block("Dry run", run["dry_run"], "opr-run-dry"), block("Output", run["output"], "opr-run-output")]
    if run["job_id"]:
        parts.append(dcc.Link("Log lines of its job", href=f"/operations/logs?job_id={run['job_id']}",
                              className="small"))
    return html.Div(parts, className="border rounded p-2")


def notice(text, ok: bool = True, element_id: str | None = None) -> dbc.Alert:
    props = {"id": element_id} if element_id else {}
    if ok:
        return dbc.Alert(text, color="success", dismissable=True, className="mb-0 small", **props)
    return dbc.Alert([html.Strong("Not done: "), text], color="danger", dismissable=True, className="mb-0 small",
                     **props)
