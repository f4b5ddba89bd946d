"""Backtests callbacks: thin. Launches go through dashapp.services.jobs (validation -> the field
named, the role checked again, audit, the Celery port); reads through dashapp.backtest.service and
.live. A ServiceError becomes an alert that names the problem."""
from __future__ import annotations

from dash import Input, Output, State, ctx, no_update

from dashapp.backtest import live, service
from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import jobs
from dashapp.services.errors import ServiceError
from layouts.backtests import (HIDDEN, NO_RUN_SELECTED, NO_RUNS, form_for, heatmap_figure, live_parts, result_parts,
                               run_status)
from layouts.common import empty_state
from layouts.ids import Backtests as ids
from layouts.jobs import notice

FORM = {"strategy": ids.STRATEGY, "symbols": ids.SYMBOLS, "start": ids.START, "end": ids.END, "first": ids.FIRST,
        "second": ids.SECOND, "first_start": ids.FIRST_START, "first_stop": ids.FIRST_STOP,
        "first_step": ids.FIRST_STEP, "second_start": ids.SECOND_START, "second_stop": ids.SECOND_STOP,
        "second_step": ids.SECOND_STEP, "commission_per_share": ids.COMMISSION_SHARE,
        "commission_bps": ids.COMMISSION_BPS, "slippage_bps": ids.SLIPPAGE_BPS, "initial_capital": ids.CAPITAL,
        "position_size": ids.POSITION_SIZE, "max_position_notional": ids.MAX_NOTIONAL,
        "allow_short": ids.ALLOW_SHORT, "fill": ids.FILL}
STRATEGY_FIELDS = [(ids.FIRST_LABEL, "children"), (ids.SECOND_LABEL, "children"), (ids.FIRST, "value"),
                   (ids.SECOND, "value"), (ids.FIRST_AXIS_LABEL, "children"), (ids.SECOND_AXIS_LABEL, "children"),
                   (ids.FIRST_START, "value"), (ids.FIRST_STOP, "value"), (ids.FIRST_STEP, "value"),
                   (ids.SECOND_START, "value"), (ids.SECOND_STOP, "value"), (ids.SECOND_STEP, "value"),
                   (ids.STRATEGY_HELP, "children")]
RESULT_FIELDS = [(ids.RESULT, "style"), (ids.SUMMARY, "children"), (ids.METRICS, "children"), (ids.EQUITY, "figure"),
                 (ids.DRAWDOWN, "figure"), (ids.TRADES, "rowData"), (ids.TRADES_NOTE, "children"),
                 (ids.MONTHLY, "rowData"), (ids.SWEEP_TAB, "style"), (ids.SWEEP_GRID, "rowData"),
                 (ids.SWEEP_GRID, "columnDefs")]
TERMINAL = ("succeeded", "failed", "canceled", "timed_out")


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def _result(shown) -> dict | None:
    """The stored result of the run on show, when it succeeded."""
    if not shown or shown.get("state") != "succeeded":
        return None
    try:
        return service.run_detail(shown["id"])["result"]
    except ServiceError:
        return None


def register() -> None:
    @guarded_callback(Perm.VIEW_JOBS, *[Output(i, p) for i, p in STRATEGY_FIELDS], Input(ids.STRATEGY, "value"),
                      prevent_initial_call=True)
    def strategy_fields(kind):
        return form_for(kind)

    @guarded_callback(Perm.VIEW_JOBS, Output(ids.SINGLE_PARAMS, "style"), Output(ids.SWEEP_PARAMS, "style"),
                      Output(ids.LAUNCH, "children"), Input(ids.MODE, "value"), prevent_initial_call=True)
    def mode_fields(mode):
        sweep = mode == "sweep"
        label = "Launch sweep" if sweep else "Launch backtest"
        return (HIDDEN if sweep else None), (None if sweep else HIDDEN), label

    @guarded_callback(Perm.JOBS_LAUNCH, Output(ids.MESSAGE, "children"), Output(ids.LAUNCHED, "data"),
                      Output(ids.CHANGED, "data"), Input(ids.LAUNCH, "n_clicks"), State(ids.MODE, "value"),
                      State(ids.LAUNCH_TOKEN, "data"), *[State(i, "value") for i in FORM.values()],
                      prevent_initial_call=True)
    def launch(n_clicks, mode, token, *values):
        job_type, params = service.form_params(mode, dict(zip(FORM, values)))
        try:
            job = jobs.launch(current_username(), current_role(), job_type, params, f"ui-{token}-{n_clicks}",
                              port=_port())
        except ServiceError as err:
            return notice(err.message, ok=False), no_update, no_update
        what = "Sweep" if job_type == service.JOB_SWEEP else "Backtest"
        return notice(f"{what} queued as job {job.id[:8]}; its progress shows below."), job.id, job.id

    @guarded_callback(Perm.VIEW_JOBS, Output(ids.RUNS, "rowData"), Output(ids.RUNS_EMPTY, "children"),
                      Input(ids.INTERVAL, "n_intervals"), Input(ids.CHANGED, "data"), State(ids.RUNS, "rowData"))
    def refresh_runs(_n, _changed, current):
        rows = service.runs()
        if rows and rows == current:
            return no_update, no_update  # nothing moved: spare the grid a redraw
        return rows, (None if rows else empty_state(NO_RUNS, "bt-runs-none"))

    @guarded_callback(Perm.VIEW_JOBS, Output(ids.SELECTED, "data"), Input(ids.RUNS, "selectedRows"),
                      Input(ids.LAUNCHED, "data"), prevent_initial_call=True)
    def pick(selected, launched):
        if ctx.triggered_id == ids.LAUNCHED:
            return launched or no_update
        return selected[0]["id"] if selected else no_update

    @guarded_callback(Perm.VIEW_JOBS, Output(ids.STATUS, "children"), Output(ids.SHOWN, "data"),
                      Input(ids.SELECTED, "data"), Input(ids.INTERVAL, "n_intervals"), State(ids.SHOWN, "data"))
    def show_status(job_id, _n, shown):
        if not job_id:
            return empty_state(NO_RUN_SELECTED), no_update
        try:
            run = service.run_detail(job_id)
        except ServiceError as err:
            return notice(err.message, ok=False), None
        key = {"id": job_id, "state": run["state"]}
        if key == shown:  # unchanged: redraw the bar only while it can still move
            return (no_update if run["state"] in TERMINAL else run_status(run)), no_update
        return run_status(run), key

    @guarded_callback(Perm.VIEW_JOBS, *[Output(i, p) for i, p in RESULT_FIELDS], Input(ids.SHOWN, "data"))
    def show_result(shown):
        result = _result(shown)
        if result is None:
            return (HIDDEN,) + (no_update,) * (len(RESULT_FIELDS) - 1)
        return result_parts(result)

    @guarded_callback(Perm.VIEW_JOBS, Output(ids.HEATMAP, "figure"), Input(ids.SHOWN, "data"),
                      Input(ids.HEATMAP_METRIC, "value"))
    def show_heatmap(shown, metric):
        result = _result(shown)
        return heatmap_figure(result, metric or "sharpe") if result else no_update

    @guarded_callback(Perm.VIEW_JOBS, Output(ids.LIVE, "figure"), Output(ids.LIVE_NOTE, "children"),
                      Input(ids.SHOWN, "data"), Input(ids.LIVE_WINDOW, "value"),
                      Input(ids.LIVE_INTERVAL, "n_intervals"))
    def show_live(shown, days, _n):
        result = _result(shown)
        if result is None:
            return no_update, no_update
        run = result["best_run"] if result["kind"] == "sweep" else result
        return live_parts(live.comparison(run, int(days or 30)))
