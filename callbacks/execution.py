"""Execution quality callbacks: one scorecard query per Apply or period change (the navbar's time
range sets the period), plus the distributions."""
from __future__ import annotations

from dash import Input, Output, State, no_update

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import execution, preferences
from dashapp.services.errors import ServiceError
from layouts import figures
from layouts.execution import columns
from layouts.ids import Execution as ids
from layouts.ids import Shell
from models import utcnow

SPANS = preferences.TIME_RANGES  # the navbar's time range sets the period (sync_period)


def register() -> None:
    @guarded_callback(Perm.VIEW_TRADING, Output(ids.PERIOD, "value"), Input(Shell.TIME_RANGE, "value"))
    def sync_period(time_range):
        return time_range if time_range in SPANS else no_update

    @guarded_callback(Perm.VIEW_TRADING, Output(ids.GRID, "rowData"), Output(ids.GRID, "columnDefs"),
                      Output(ids.SLIPPAGE, "figure"), Output(ids.LATENCY, "figure"), Output(ids.NOTE, "children"),
                      Input(ids.APPLY, "n_clicks"), Input(ids.PERIOD, "value"), State(ids.GROUP_BY, "value"),
                      State(ids.STRATEGY, "value"), State(ids.INSTRUMENT, "value"))
    def scorecards(_n, period, by, strategy, instrument):
        since = utcnow() - SPANS.get(period, SPANS["24h"])
        try:
            cards = execution.scorecards(since=since, strategy=strategy or None, instrument=instrument or None, by=by)
            fills, orders = execution.distributions(since=since, strategy=strategy or None,
                                                    instrument=instrument or None)
        except ServiceError as err:
            return [], columns("venue"), figures.empty("Slippage", err.message), figures.empty("Latency", ""), err.message
        note = f"{len(orders)} orders and {len(fills)} fills in the period" if not orders.empty else "No orders in the period"
        return (cards.round(4).to_dict("records") if not cards.empty else [], columns(by),
                figures.distribution(fills, "venue", "slippage_bps", "Slippage by venue (bps)", "No fills"),
                figures.distribution(orders.dropna(subset=["latency_ms"]) if not orders.empty else orders, "venue",
                                     "latency_ms", "Acknowledgement latency by venue (ms, log)", "No orders",
                                     log_y=True),
                note)
