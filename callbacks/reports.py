"""Reports callbacks: thin. Reading needs VIEW_REPORTS; every change needs REPORTS_MANAGE, checked
at the edge (guarded_callback) and again in dashapp.services.schedules / delivery, which validate
and audit. A ServiceError becomes an alert that names the field."""
from __future__ import annotations

import uuid

from dash import Input, Output, State, ctx, no_update

from dashapp.reports.archive import list_runs, run_summary
from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import delivery, preferences, schedules
from dashapp.services.errors import ServiceError, ValidationError
from layouts.common import empty_state
from layouts.ids import Reports, Shell
from layouts.reports import EMPTY_FORM, NO_REPORTS, NO_SCHEDULES, cadence_styles, notice

FORM_FIELDS = ("name", "report_type", "cadence", "time_of_day", "weekday", "day_of_month", "cron", "timezone",
               "recipients", "formats")
FORM_STATES = [State(Reports.NAME, "value"), State(Reports.REPORT_TYPE, "value"), State(Reports.CADENCE, "value"),
               State(Reports.TIME, "value"), State(Reports.WEEKDAY, "value"), State(Reports.DAY_OF_MONTH, "value"),
               State(Reports.CRON, "value"), State(Reports.TIMEZONE, "value"), State(Reports.RECIPIENTS, "value"),
               State(Reports.FORMATS, "value")]


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def selected_id(rows, what: str = "schedule") -> int:
    if not rows:
        raise ValidationError(f"no {what} selected: click a row in the {what}s grid first", field=f"{what}_id")
    return rows[0]["id"]


def apply_action(action: str, data: dict, rows, token: str, clicks: int) -> str:
    """One form button -> one service call; returns what to tell the user."""
    actor, role = current_username(), current_role()
    if action == Reports.CREATE:
        s = schedules.create(actor, role, data)
        return f"Schedule {s.name!r} created; next run {schedules.local_time(s.next_run_at, s.timezone)}."
    schedule_id = selected_id(rows)
    if action == Reports.UPDATE:
        s = schedules.update(actor, role, schedule_id, data)
        return f"Schedule {s.name!r} saved; next run {schedules.local_time(s.next_run_at, s.timezone) or 'paused'}."
    if action in (Reports.PAUSE, Reports.RESUME):
        s = schedules.set_active(actor, role, schedule_id, action == Reports.RESUME)
        return f"Schedule {s.name!r} " + ("resumed." if s.active else "paused.")
    if action == Reports.DELETE_CONFIRM:
        return f"Schedule {schedules.delete(actor, role, schedule_id)!r} deleted; its archived reports stay."
    job = schedules.run_now(actor, role, schedule_id, f"{token}-{clicks}", port=_port())
    return f"Report queued as job {job.id[:8]}; it appears in the archive when it is built."


def register() -> None:
    @guarded_callback(Perm.VIEW_REPORTS, Output(Reports.SCHEDULES_GRID, "rowData"),
                      Output(Reports.SCHEDULES_EMPTY, "children"), Output(Reports.ARCHIVE_GRID, "rowData"),
                      Output(Reports.ARCHIVE_EMPTY, "children"), Input(Reports.INTERVAL, "n_intervals"),
                      Input(Reports.CHANGED, "data"), Input(Reports.ARCHIVE_CHANGED, "data"),
                      Input(Shell.TIME_RANGE, "value"),
                      State(Reports.SCHEDULES_GRID, "rowData"), State(Reports.ARCHIVE_GRID, "rowData"))
    def refresh(_n, _changed, _archive_changed, time_range, shown_schedules, shown_runs):
        rows = [schedules.summary(s) for s in schedules.list_schedules()]
        runs = [run_summary(run, name) for run, name in list_runs(since=preferences.window_start(time_range))]
        return (no_update if rows == shown_schedules and rows else rows, None if rows else empty_state(NO_SCHEDULES),
                no_update if runs == shown_runs and runs else runs, None if runs else empty_state(NO_REPORTS))

    @guarded_callback(Perm.REPORTS_MANAGE, Output(Reports.TIME_WRAP, "style"), Output(Reports.WEEKDAY_WRAP, "style"),
                      Output(Reports.DAY_WRAP, "style"), Output(Reports.CRON_WRAP, "style"),
                      Input(Reports.CADENCE, "value"))
    def show_cadence_fields(cadence):
        return cadence_styles(cadence)

    @guarded_callback(Perm.REPORTS_MANAGE, Output(Reports.SELECTED, "children"),
                      *[Output(s.component_id, s.component_property) for s in FORM_STATES],
                      Input(Reports.SCHEDULES_GRID, "selectedRows"), Input(Reports.CLEAR, "n_clicks"),
                      Input(Reports.FORM_READY, "data"), prevent_initial_call=True)
    def fill_form(rows, _clear, _ready):
        if ctx.triggered_id == Reports.CLEAR or not rows:
            return EMPTY_FORM
        r = rows[0]
        return (f"Editing: {r['name']} (id {r['id']})", r["name"], r["report_type"], r["cadence"], r["time_of_day"],
                str(r["weekday"] if r["weekday"] is not None else 0), r["day_of_month"] or 1, r["cron"], r["tz"],
                r["recipient_list"].replace(",", ", "), r["format_list"])

    @guarded_callback(Perm.REPORTS_MANAGE, Output(Reports.MESSAGE, "children"), Output(Reports.CHANGED, "data"),
                      Input(Reports.CREATE, "n_clicks"), Input(Reports.UPDATE, "n_clicks"),
                      Input(Reports.PAUSE, "n_clicks"), Input(Reports.RESUME, "n_clicks"),
                      Input(Reports.DELETE_CONFIRM, "submit_n_clicks"), Input(Reports.RUN_NOW, "n_clicks"),
                      *FORM_STATES, State(Reports.SCHEDULES_GRID, "selectedRows"), State(Reports.TOKEN, "data"),
                      prevent_initial_call=True)
    def act(*args):
        data = dict(zip(FORM_FIELDS, args[6:16]))
        rows, token = args[16], args[17]
        try:
            text = apply_action(ctx.triggered_id, data, rows, token or "", args[5] or 0)
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="rp-error"), no_update
        return notice(text, element_id="rp-ok"), uuid.uuid4().hex

    @guarded_callback(Perm.REPORTS_MANAGE, Output(Reports.ARCHIVE_MESSAGE, "children"),
                      Output(Reports.ARCHIVE_CHANGED, "data"), Input(Reports.RESEND, "n_clicks"),
                      State(Reports.ARCHIVE_GRID, "selectedRows"), prevent_initial_call=True)
    def resend(_n, rows):
        try:
            run = delivery.resend(current_username(), current_role(), selected_id(rows, "report"))
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return notice(f"Report {run.id} queued for delivery again; the next delivery round sends it."), uuid.uuid4().hex
