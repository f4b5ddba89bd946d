"""Operations -> Health callbacks: thin. One snapshot per tick (services/ops/health.py, cached per
process), the SLO status (services/ops/slo.py) and the task history search; nothing here acts."""
from __future__ import annotations

from dash import Input, Output, no_update

from dashapp.kernels.burn_rate import alert_pairs
from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError
from dashapp.services.ops import health, slo, task_history
from layouts import operations_parts as parts
from layouts.operations_ids import Ops


def register() -> None:
    @guarded_callback(Perm.VIEW_OPERATIONS, Output(Ops.UPDATED, "children"), Output(Ops.TILES, "children"),
                      Output(Ops.INSTANCES, "rowData"), Output(Ops.QUEUES, "children"),
                      Output(Ops.TASK_RATES, "children"), Output(Ops.DATABASE, "children"),
                      Output(Ops.PUSH, "children"), Output(Ops.LATENCY, "children"),
                      Output(Ops.SLO_TABLE, "children"), Output(Ops.BURN_SLO, "options"),
                      Input(Ops.INTERVAL, "n_intervals"))
    def refresh_health(_n):
        snap = health.snapshot()
        statuses = slo.cached_status()
        web = snap.service("web")
        updated = f"As of {snap.at:%H:%M:%S} UTC · heartbeat every {snap.timing.interval:g} s, degraded after " \
                  f"{snap.timing.degraded_after:g} s, down after {snap.timing.down_after:g} s"
        return (updated, parts.tiles(snap.services), parts.instance_rows(snap.services),
                parts.queues_view(snap.queues, snap.broker), parts.rates_view(snap.task_rates),
                parts.database_view(snap.database), parts.push_view(snap.push, web.state if web else "unknown"),
                parts.latency_view(snap.latency), parts.slo_view(statuses),
                [{"label": s.title, "value": s.key} for s in slo.SLOS])

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(Ops.BURN_CHART, "figure"), Output(Ops.BURN_SLO, "value"),
                      Input(Ops.BURN_SLO, "value"), Input(Ops.INTERVAL, "n_intervals"))
    def burn_chart(key, _n):
        key = key if key in slo.BY_KEY else slo.SLOS[0].key
        times, series = slo.burn_series(key, 60, 24)
        page = alert_pairs(slo.window_days())[0]
        return (parts.burn_figure(f"{slo.BY_KEY[key].title}: 1 h burn rate, last 24 h", times, series,
                                  [(f"page ({page.name}) {page.threshold:.3g}×", page.threshold)]), key)

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(Ops.TASK_GRID, "rowData"), Output(Ops.TASK_MESSAGE, "children"),
                      Input(Ops.TASK_SEARCH, "value"), Input(Ops.TASK_STATE, "value"), Input(Ops.TASK_HOURS, "value"),
                      Input(Ops.INTERVAL, "n_intervals"))
    def search_tasks(text, state, hours, _n):
        try:
            query = task_history.validate_query(text, "" if state == "all" else state, hours)
        except ServiceError as err:
            return no_update, parts.dbc.Alert(err.message, color="warning", className="small py-1", id="ops-task-error")
        rows = task_history.search(query)
        for row in rows:  # catalogue field names for the grid
            row["task_name"] = row.pop("name").removeprefix("workers.tasks.")
            row["task_state"], row["task_args"] = row.pop("state"), row.pop("args")
        return rows, None
