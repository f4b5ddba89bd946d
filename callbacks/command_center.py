"""Command Center callbacks: thin reads of services.desk / services.controls, and the control flow
(button -> confirmation with reason -> service, with an idempotency key per confirmation)."""
from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from flask_login import current_user

from dashapp.realtime import publish
from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import controls, desk, health, preferences, session_pnl, snapshots
from dashapp.services.errors import ServiceError
from layouts import figures
from layouts.command_center import ACTIONS
from layouts.command_center_parts import engine_card, infra_tiles, kill_card, risk_card, session_pnl_figure
from layouts.ids import CommandCenter as ids
from layouts.ids import Shell
from layouts.mfa_prompt import refusal

REFRESH = [Input(ids.INTERVAL, "n_intervals"), Input(Shell.LIVE_EVENTS, "data")]
# How often the shared views are rebuilt (seconds): once per period for every session together.
STATUS_PERIOD, BOOK_PERIOD, TILES_PERIOD = 1.0, 2.0, 2.0


# The builders are the whole per-page computation, run by one session per period for all
# (services.snapshots); they never look at the user, so every session may be served their result.
def build_status() -> tuple:
    view = controls.engine_view()
    return engine_card(view), kill_card(view), risk_card(*desk.risk_state())


def build_book(time_range: str = preferences.DEFAULT_TIME_RANGE) -> tuple:
    """`time_range`: the navbar's range (a key of preferences.TIME_RANGES) for the equity and
    drawdown history; the other figures keep their own fixed windows."""
    days = preferences.time_range_delta(time_range).total_seconds() / 86400
    curve, positions = desk.equity_curve(days), desk.open_positions()
    live = positions[positions["quantity"] != 0] if not positions.empty else positions
    return (figures.equity(curve), figures.drawdown(curve), session_pnl_figure(session_pnl.today(curve)),
            figures.bars(desk.notional_by_venue(), "venue", ["notional"], "Filled notional by venue (24 h)",
                         "No fills in the last 24 hours"),
            figures.bars(desk.exposure_by_sector(positions), "sector", ["net", "gross"], "Exposure by sector",
                         "No open positions"),
            figures.bars(desk.order_throughput(), "minute", ["orders"], "Orders per minute (1 h)",
                         "No orders in the last hour"),
            live.round(4).to_dict("records"), desk.recent_blocks())


def build_tiles():
    return infra_tiles(health.infra_status())


def register() -> None:
    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(ids.ENGINE, "children"), Output(ids.KILL, "children"),
                      Output(ids.RISK, "children"), *REFRESH)
    def refresh_status(_n, _event):
        return snapshots.shared("command_center.status", build_status, STATUS_PERIOD)

    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(ids.EQUITY, "figure"), Output(ids.DRAWDOWN, "figure"),
                      Output(ids.DAILY_PNL, "figure"), Output(ids.VENUE, "figure"), Output(ids.SECTOR, "figure"),
                      Output(ids.THROUGHPUT, "figure"), Output(ids.POSITIONS, "rowData"),
                      Output(ids.BLOCKS, "rowData"), Input(ids.INTERVAL, "n_intervals"),
                      Input(Shell.TIME_RANGE, "value"))
    def refresh_book(_n, time_range):
        # One shared view per time range (six at most), still built once per tick for everyone.
        span = time_range if time_range in preferences.TIME_RANGES else preferences.DEFAULT_TIME_RANGE
        return snapshots.shared(f"command_center.book.{span}", lambda: build_book(span), BOOK_PERIOD)

    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(ids.TILES, "children"), Input(ids.INTERVAL, "n_intervals"))
    def refresh_tiles(_n):
        return snapshots.shared("command_center.tiles", build_tiles, TILES_PERIOD)

    @guarded_callback(Perm.KILL_SWITCH_ACTIVATE, Output(ids.MODAL, "is_open"), Output(ids.MODAL_TITLE, "children"),
                      Output(ids.PENDING, "data"), Output(ids.REASON, "value"),
                      Input({"type": ids.ACTION, "action": ALL}, "n_clicks"), Input(ids.CANCEL, "n_clicks"),
                      prevent_initial_call=True)
    def open_confirmation(_clicks, _cancel):
        if ctx.triggered_id == ids.CANCEL or not ctx.triggered or not ctx.triggered[0]["value"]:
            return False, no_update, None, no_update
        action = ctx.triggered_id["action"]
        # A fresh key per confirmation: a double click on Confirm sends the same key and acts once.
        return True, f"Confirm: {ACTIONS[action][0]}", {"action": action, "key": str(uuid.uuid4())}, ""

    @guarded_callback(Perm.KILL_SWITCH_ACTIVATE, Output(ids.MESSAGE, "children"),
                      Output(ids.MODAL, "is_open", allow_duplicate=True), Input(ids.CONFIRM, "n_clicks"),
                      State(ids.PENDING, "data"), State(ids.REASON, "value"), prevent_initial_call=True)
    def confirm_action(_n, pending, reason):
        if not pending:
            return no_update, False
        try:
            outcome = _act(pending["action"], reason, pending["key"])
        except ServiceError as err:
            return refusal(err, "cc-control-error"), False  # MfaRequired: with the button that asks for a code
        snapshots.invalidate("command_center.status")  # every viewer sees the new desired state at once
        publish("control", {"action": pending["action"], "by": current_user.username})
        return dbc.Alert(outcome, color="success", id="cc-control-ok", className="py-1 mb-0"), False


def _act(action: str, reason: str | None, key: str) -> str:
    who, role = current_user.username, current_user.role_name
    if action in ("start", "stop", "restart"):
        return controls.control_engine(who, role, controls.DEFAULT_ENGINE, action, reason, key)
    if action == "kill":
        return controls.activate_kill_switch(who, role, reason, key)
    if action == "request_reset":
        return controls.request_kill_switch_reset(who, role, reason, key)
    if action == "approve_reset":
        return controls.approve_kill_switch_reset(who, role, key)
    if action in ("mode_paper", "mode_live"):
        return controls.set_trading_mode(who, role, action.removeprefix("mode_"), reason)
    return html.Span(f"unknown action {action!r}")
