"""Jobs callbacks: thin. Reads and actions go through dashapp.services.jobs (which validates, checks
the role again, audits and talks to the queue through the Celery port); a ServiceError becomes an
alert that names the problem."""
from __future__ import annotations

from dash import Input, Output, State, no_update

from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import jobs, preferences
from dashapp.services.errors import ServiceError, ValidationError
from layouts.common import empty_state
from layouts.ids import Jobs, Shell
from layouts.jobs import NO_JOB_SELECTED, NO_JOBS, job_detail, notice


def selected_job_id(rows) -> str:
    if not rows:
        raise ValidationError("no job selected: click a row in the jobs grid first", field="job_id")
    return rows[0]["id"]


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def register() -> None:
    @guarded_callback(Perm.VIEW_JOBS, Output(Jobs.GRID, "rowData"), Output(Jobs.EMPTY, "children"),
                      Input(Jobs.INTERVAL, "n_intervals"), Input(Jobs.INCLUDE_SCHEDULED, "value"),
                      Input(Jobs.CHANGED, "data"), Input(Shell.TIME_RANGE, "value"), State(Jobs.GRID, "rowData"))
    def refresh_jobs(_n, include_scheduled, _changed, time_range, current):
        rows = [jobs.summary(job) for job in jobs.list_jobs(include_scheduled=bool(include_scheduled),
                                                            since=preferences.window_start(time_range))]
        if rows and rows == current:
            return no_update, no_update  # nothing moved: spare the grid a redraw
        return rows, (None if rows else empty_state(NO_JOBS))

    @guarded_callback(Perm.VIEW_JOBS, Output(Jobs.DETAIL, "children"), Output(Jobs.CANCEL, "disabled"),
                      Input(Jobs.GRID, "selectedRows"), Input(Jobs.INTERVAL, "n_intervals"),
                      Input(Jobs.CANCEL_MESSAGE, "children"))
    def show_job(selected, _n, _canceled):
        if not selected:
            return empty_state(NO_JOB_SELECTED), True
        try:
            detail = jobs.detail(jobs.get_job(selected_job_id(selected)))
        except ServiceError as err:
            return notice(err.message, ok=False), True
        return job_detail(detail), not detail["cancelable"]

    @guarded_callback(Perm.JOBS_LAUNCH, Output(Jobs.MESSAGE, "children"), Output(Jobs.CHANGED, "data"),
                      Input(Jobs.RUN_HEALTH, "n_clicks"), State(Jobs.LAUNCH_TOKEN, "data"), prevent_initial_call=True)
    def run_health_check(n_clicks, token):
        try:
            job = jobs.launch(current_username(), current_role(), "health_check", {}, f"ui-{token}-{n_clicks}",
                              port=_port())
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return notice(f"Health check queued as job {job.id[:8]}; follow it in the grid."), job.id

    @guarded_callback(Perm.JOBS_CANCEL, Output(Jobs.CANCEL_MESSAGE, "children"),
                      Input(Jobs.CANCEL, "n_clicks"), State(Jobs.GRID, "selectedRows"), prevent_initial_call=True)
    def cancel_job(_n, selected):
        try:
            job = jobs.cancel(current_username(), selected_job_id(selected), port=_port(), role=current_role())
        except ServiceError as err:
            return notice(err.message, ok=False)
        return notice(f"Job {job.id[:8]} canceled.")

    @guarded_callback(Perm.JOBS_LAUNCH, Output(Jobs.RERUN_MESSAGE, "children"), Output(Jobs.CHANGED, "data",
                                                                                       allow_duplicate=True),
                      Input(Jobs.RERUN, "n_clicks"), State(Jobs.GRID, "selectedRows"), State(Jobs.LAUNCH_TOKEN, "data"),
                      prevent_initial_call=True)
    def rerun_job(n_clicks, selected, token):
        try:
            job = jobs.rerun(current_username(), current_role(), selected_job_id(selected), f"rerun-{token}-{n_clicks}",
                             port=_port())
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return notice(f"Re-run queued as job {job.id[:8]} with the same parameters."), job.id
