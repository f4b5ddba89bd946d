"""Stress tests on the Risk War Room: launch the job, follow it, browse its scenarios."""
from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import Input, Output, State, no_update
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import jobs
from dashapp.services.errors import ServiceError
from layouts import risk_stress as ids
from workers.celery_app import current_job_port


def register() -> None:
    @guarded_callback(Perm.JOBS_LAUNCH, Output(ids.MESSAGE, "children"), Output(ids.LAUNCHED, "data"),
                      Input(ids.RUN, "n_clicks"), State(ids.TOKEN, "data"), prevent_initial_call=True)
    def run_all(n_clicks, token):
        # Keyed by the page's token and the click count (not a fresh uuid per call), so a retried
        # request finds the job of the first instead of launching a second run.
        key = f"ui-{token or uuid.uuid4().hex}-{n_clicks or 0}"[:60]
        try:
            job = jobs.launch(current_user.username, current_user.role_name, "stress_test", {},
                              idempotency_key=key, port=current_job_port())
        except ServiceError as err:
            return dbc.Alert(err.message, color="danger", className="py-1", id="rk-stress-error"), no_update
        return (dbc.Alert(f"stress run {job.id[:8]} queued", color="info", className="py-1", id="rk-stress-queued"),
                job.id)

    @guarded_callback(Perm.VIEW_RISK, Output(ids.RUNS, "options"), Output(ids.PROGRESS, "children"),
                      Output(ids.RUNS, "value"), Output(ids.LAUNCHED, "data", allow_duplicate=True),
                      Input(ids.POLL, "n_intervals"), Input(ids.MESSAGE, "children"), State(ids.RUNS, "value"),
                      State(ids.LAUNCHED, "data"), prevent_initial_call="initial_duplicate")
    def runs(_n, _msg, shown, launched):
        recent = jobs.list_jobs(job_type_name="stress_test", limit=20)
        running = next((j for j in recent if j.state in ("queued", "running")), None)
        options = [{"label": f"{j.created_at:%Y-%m-%d %H:%M:%S} · {j.created_by} · {j.state}", "value": j.id}
                   for j in recent if j.state == "succeeded"]
        # The results used to wait for someone to pick the run in the list: show the run this page
        # launched as soon as it succeeds (once; a later pick is the user's), else the newest run.
        pick, done = stress_pick(options, shown, launched, {j.id: j.state for j in recent})
        return options, ids.progress(jobs.summary(running) if running else None), pick, done

    @guarded_callback(Perm.VIEW_RISK, Output(ids.SCENARIOS, "rowData"), Output(ids.NOTE, "children"),
                      Input(ids.RUNS, "value"), prevent_initial_call=True)
    def scenarios(job_id):
        if not job_id:
            return no_update, no_update
        result = jobs.get_job(job_id).result or {}
        rows = [{k: s[k] for k in ("name", "kind", "description", "pnl", "result")} for s in result.get("scenarios", [])]
        # A run on an empty book finishes with no scenarios: say why instead of an empty grid.
        note = "" if rows else f"This run has no scenarios: {result.get('note') or 'nothing was stressed'}."
        return rows, note

    @guarded_callback(Perm.VIEW_RISK, Output(ids.POSITIONS, "rowData"), Output(ids.BREAKDOWN, "children"),
                      Input(ids.SCENARIOS, "cellClicked"), State(ids.RUNS, "value"), prevent_initial_call=True)
    def drill_down(cell, job_id):
        if not cell or not job_id:
            return no_update, no_update
        result = jobs.get_job(job_id).result or {}
        picked = next((s for s in result.get("scenarios", []) if s["name"] == cell.get("rowId")), None)
        if picked is None:
            return [], no_update
        return picked["positions"], ids.breakdown(picked)


FINISHED = ("succeeded", "failed", "canceled", "timed_out")


def stress_pick(options: list[dict], shown, launched, states: dict) -> tuple:
    """(the run to show, what to keep as "launched"): the launched run once it succeeded, the newest
    run when none is on show, the user's pick otherwise."""
    values = [o["value"] for o in options]
    if launched and launched in values:
        return launched, None
    if launched and states.get(launched) in FINISHED:
        return no_update, None  # it failed: nothing to show, stop waiting
    if not shown and values:
        return values[0], no_update
    return no_update, no_update
