"""Risk War Room callbacks: one evaluation per refresh, limit edits (risk role), the what-if."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, html, no_update
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import snapshots
from dashapp.services.approvals import Actor
from dashapp.services.errors import ServiceError
from dashapp.services.risk import dashboard, monitor, whatif
from dashapp.services.risk import limits as limit_service
from layouts import figures
from layouts.ids import Risk as ids
from layouts.mfa_prompt import refusal
from layouts.risk import limits_panel
from layouts.risk_parts import concentration_block, summary_block, what_if_block

RISK_PERIOD = 2.0  # seconds; the War Room is evaluated once per period for every session together


def build_risk() -> tuple:
    """The War Room's whole computation (one evaluation of the book), shared by every session
    (services.snapshots). Its breach actions run once per period, as the beat's monitor does."""
    view = dashboard.risk_view()
    structure = view.structure
    return (summary_block(view), view.var_table.round(2).to_dict("records"),
            limits_panel([u.__dict__ for u in view.utilisation], editable=True), figures.drawdown(view.curve),
            figures.bars(structure.get("sectors", pd.DataFrame()), "sector", ["net", "gross"], "Sector exposure",
                         "No open positions"),
            concentration_block(structure),
            figures.heatmap(structure.get("correlation"), "Correlation of holdings (daily returns)",
                            "Needs two or more holdings with history"),
            figures.heatmap(view.exposure_history.T if not view.exposure_history.empty else None,
                            "Exposure by instrument, last 24 h (hourly)", "No positions"),
            view.greeks_totals.round(2).to_dict("records"),
            figures.heatmap(view.greeks_map, "Gamma by strike x days to expiry", "No option positions"))


def register() -> None:
    @guarded_callback(Perm.VIEW_RISK, Output(ids.SUMMARY, "children"), Output(ids.VAR_GRID, "rowData"),
                      Output(ids.LIMITS, "children"), Output(ids.DRAWDOWN, "figure"), Output(ids.SECTORS, "figure"),
                      Output(ids.CONCENTRATION, "children"), Output(ids.CORRELATION, "figure"),
                      Output(ids.EXPOSURE_HEATMAP, "figure"), Output(ids.GREEKS_GRID, "rowData"),
                      Output(ids.GREEKS_HEATMAP, "figure"), Input(ids.INTERVAL, "n_intervals"),
                      Input(ids.LIMIT_MESSAGE, "children"))
    def refresh(_n, _saved):
        return snapshots.shared("risk", build_risk, RISK_PERIOD)

    # Only editors have the form, so only their pages fire this (its input lives in the form). It
    # fires once per page load; a save refreshes the options itself (below), after it committed:
    # fired by the same click, this one used to read the list before the save and show the old value.
    @guarded_callback(Perm.LIMITS_EDIT, Output(ids.LIMIT_PICK, "options"), Input(ids.LIMIT_PICK, "id"))
    def limit_options(_loaded):
        return limit_choices()

    @guarded_callback(Perm.LIMITS_EDIT, Output(ids.LIMIT_KIND, "value"), Output(ids.LIMIT_SCOPE, "value"),
                      Output(ids.LIMIT_VALUE, "value"), Output(ids.LIMIT_WARN, "value"),
                      Output(ids.LIMIT_ACTION, "value"), Output(ids.LIMIT_ACTIVE, "value"),
                      Input(ids.LIMIT_PICK, "value"), prevent_initial_call=True)
    def pick_limit(limit_id):
        chosen = [l for l in limit_service.list_limits() if str(l.id) == limit_id]
        if not chosen:
            return (no_update,) * 6
        l = chosen[0]
        return l.kind, l.scope, l.limit_value, l.warn_at, l.breach_action, l.active

    @guarded_callback(Perm.LIMITS_EDIT, Output(ids.LIMIT_MESSAGE, "children"),
                      Output(ids.LIMIT_PICK, "options", allow_duplicate=True),
                      Output(ids.LIMIT_PICK, "value", allow_duplicate=True), Input(ids.LIMIT_SAVE, "n_clicks"),
                      State(ids.LIMIT_KIND, "value"), State(ids.LIMIT_SCOPE, "value"), State(ids.LIMIT_VALUE, "value"),
                      State(ids.LIMIT_WARN, "value"), State(ids.LIMIT_ACTION, "value"),
                      State(ids.LIMIT_ACTIVE, "value"), prevent_initial_call=True)
    def save_limit(_n, kind, scope, value, warn, action, active):
        try:  # a relaxation becomes a four-eyes request (services/approvals.py); tightening is saved at once
            said, row = limit_service.request_change(Actor(current_user.username, current_user.role_name),
                                                     f"{kind} limit edited on the Risk page", kind, scope, value, warn,
                                                     action, bool(active))
        except ServiceError as err:
            return refusal(err, "rk-limit-error"), no_update, no_update  # MfaRequired: asks for a code
        if row is None:
            return dbc.Alert(said, color="info", className="py-1 mb-0", id="rk-limit-requested"), no_update, no_update
        monitor.evaluate()  # act on the new limit now, not at the next tick
        snapshots.invalidate("risk")  # and show it on every open War Room at once
        return (dbc.Alert(said, color="success", className="py-1 mb-0", id="rk-limit-saved"), limit_choices(),
                str(row.id))

    @guarded_callback(Perm.VIEW_RISK, Output(ids.WHATIF_RESULT, "children"), Input(ids.WHATIF_RUN, "n_clicks"),
                      State(ids.WHATIF_INSTRUMENT, "value"), State(ids.WHATIF_SIDE, "value"),
                      State(ids.WHATIF_QTY, "value"), prevent_initial_call=True)
    def run_what_if(_n, symbol, side, qty):
        try:
            return what_if_block(whatif.what_if(symbol, side, qty))
        except ServiceError as err:
            return dbc.Alert(err.message, color="danger", className="py-1 mb-0", id="rk-whatif-error")


def limit_choices() -> list[dict]:
    return [{"label": f"{l.kind} · {l.scope} = {l.limit_value:g} ({l.breach_action})", "value": str(l.id)}
            for l in limit_service.list_limits()]
