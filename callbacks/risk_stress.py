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
    @guarded_callback(Perm.JOBS_LAUNCH, Output(ids.MESSAGE, "children"), Input(ids.RUN, "n_clicks"),
                      State(ids.TOKEN, "data"), prevent_initial_call=True)
    def run_all(n_clicks, token):
        # Keyed by the page's token and the click count (not a fresh uuid per call), so a retried
        # request finds the job of the first instead of launching a second run.
        key = f"ui-{token or uuid.uuid4().hex}-{n_clicks or 0}"[:60]
        try:
            job = jobs.launch(current_user.username, current_user.role_name, "stress_test", {},
                              idempotency_key=key, port=current_job_port())
        except ServiceError as err:
            return dbc.Alert(err.message, color="danger", className="py-1", id="rk-stress-error")
        return dbc.Alert(f"stress run {job.id[:8]} queued", color="info", className="py-1", id="rk-stress-queued")

    @guarded_callback(Perm.VIEW_RISK, Output(ids.RUNS, "options"), Output(ids.PROGRESS, "children"),
                      Input(ids.POLL, "n_intervals"), Input(ids.MESSAGE, "children"))
    def runs(_n, _msg):
        recent = jobs.list_jobs(job_type_name="stress_test", limit=20)
        running = next((j for j in recent if j.state in ("queued", "running")), None)
        options = [{"label": f"{j.created_at:%Y-%m-%d %H:%M:%S} · {j.created_by} · {j.state}", "value": j.id}
                   for j in recent if j.state == "succeeded"]
        return options, ids.progress(jobs.summary(running) if running else None)

    @guarded_callback(Perm.VIEW_RISK, Output(ids.SCENARIOS, "rowData"), Input(ids.RUNS, "value"),
                      prevent_initial_call=True)
    def scenarios(job_id):
        if not job_id:
            return no_update
        result = jobs.get_job(job_id).result or {}
        return [{k: s[k] for k in ("name", "kind", "description", "pnl", "result")} for s in result.get("scenarios", [])]

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
