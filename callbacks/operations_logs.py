"""Operations -> Logs callbacks: thin. Search and tail go through dashapp.services.ops.logs, which
bounds the window, the lines and the bytes read; only filtered lines reach the browser."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dash import Input, Output, State, ctx, html, no_update
from flask import current_app

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError
from dashapp.services.ops import logs
from layouts.common import empty_state
from layouts.operations_logs import ALL, line_detail
from layouts.operations_tools_ids import OpsLogs

_FILTERS = [State(OpsLogs.SINCE, "value"), State(OpsLogs.LEVEL, "value"), State(OpsLogs.PROCESS, "value"),
            State(OpsLogs.REQUEST_ID, "value"), State(OpsLogs.USER, "value"), State(OpsLogs.JOB_ID, "value"),
            State(OpsLogs.ORDER_ID, "value"), State(OpsLogs.TEXT, "value"), State(OpsLogs.LIMIT, "value")]
MAX_SHOWN = 1000


def _instance():
    return current_app.config["COCKPIT_SETTINGS"].instance_dir


def _query(minutes, level, process, request_id, user, job_id, order_id, text, limit) -> logs.LogQuery:
    try:
        minutes = min(max(int(minutes or 60), 1), 7 * 24 * 60)
        limit = int(limit or 200)
    except (TypeError, ValueError):
        minutes, limit = 60, 200
    now = datetime.now(timezone.utc)
    return logs.parse_query({"since": now - timedelta(minutes=minutes), "until": now, "level": level or "DEBUG",
                             "process": "" if process in (None, ALL) else process, "request_id": request_id or "",
                             "user": user or "", "job_id": job_id or "", "order_id": order_id or "",
                             "text": text or "", "limit": limit})


def _process_options(names) -> list[dict]:
    return [{"label": "All processes", "value": ALL}] + [{"label": n, "value": n} for n in sorted(names)]


def register() -> None:
    @guarded_callback(Perm.VIEW_OPERATIONS, Output(OpsLogs.GRID, "rowData"), Output(OpsLogs.STATUS, "children"),
                      Output(OpsLogs.PROCESS, "options"),
                      Input(OpsLogs.SEARCH, "n_clicks"), Input(OpsLogs.SINCE, "value"), Input(OpsLogs.LEVEL, "value"),
                      Input(OpsLogs.PROCESS, "value"), Input(OpsLogs.REQUEST_ID, "value"),
                      Input(OpsLogs.USER, "value"), Input(OpsLogs.JOB_ID, "value"), Input(OpsLogs.ORDER_ID, "value"),
                      Input(OpsLogs.TEXT, "value"), Input(OpsLogs.LIMIT, "value"))
    def search(_n, *filters):
        try:
            result = logs.search(_instance(), _query(*filters))
        except ServiceError as err:
            return [], html.Span(err.message, className="text-danger", id="opl-error"), no_update
        note = f"{len(result.rows)} line(s), newest first; {result.scanned_bytes / 1024:.0f} KB read"
        if result.truncated:
            note += f" · {result.truncated}"
        return [logs.grid_row(r) for r in result.rows], note, _process_options(result.files)

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(OpsLogs.TAIL_INTERVAL, "disabled"), Output(OpsLogs.CURSOR, "data"),
                      Input(OpsLogs.TAIL, "value"))
    def toggle_tail(on):
        return not on, None  # a new tail starts at the end of every file

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(OpsLogs.GRID, "rowData", allow_duplicate=True),
                      Output(OpsLogs.CURSOR, "data", allow_duplicate=True),
                      Input(OpsLogs.TAIL_INTERVAL, "n_intervals"), State(OpsLogs.CURSOR, "data"),
                      State(OpsLogs.GRID, "rowData"), *_FILTERS, prevent_initial_call=True)
    def follow(_n, cursor, current, *filters):
        try:
            rows, cursor = logs.tail(_instance(), _query(*filters), cursor if isinstance(cursor, dict) else None)
        except ServiceError:
            return no_update, no_update
        if not rows:
            return no_update, cursor
        return ([logs.grid_row(r) for r in rows] + list(current or []))[:MAX_SHOWN], cursor

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(OpsLogs.DETAIL, "children"), Input(OpsLogs.GRID, "selectedRows"))
    def show_line(selected):
        if not selected:
            return empty_state("Click a line to see all its fields.")
        return line_detail(selected[0])
