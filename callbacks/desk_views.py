"""Callbacks of the risk-gate, options and routing pages: read inputs -> service -> grids/figures."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
from dash import Input, Output

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import gate_stats, options_view, routing_view
from layouts import view_figures
from layouts.ids_views import Gate, Options, Routing

PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


def records(frame: pd.DataFrame) -> list[dict]:
    """Grid rows: JSON-safe (NaN -> empty cell, timestamps as ISO text the formatters read)."""
    if frame is None or frame.empty:
        return []
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda v: v.isoformat() if pd.notna(v) else None)
    return out.astype(object).where(out.notna(), None).to_dict("records")


def register() -> None:
    @guarded_callback(Perm.VIEW_RISK, Output(Gate.STATS, "rowData"), Output(Gate.SHARES, "figure"),
                      Output(Gate.STOPS, "rowData"), Output(Gate.EFFECT, "rowData"), Output(Gate.NOTE, "children"),
                      Input(Gate.WINDOW, "value"), Input(Gate.REFRESH, "n_clicks"))
    def gate(window, _n):
        counts = gate_stats.decision_counts()
        stops = gate_stats.emergency_stops()
        stops["ts"] = pd.to_datetime(stops["ts"], utc=True)
        part = counts[counts["window"] == window]
        note = (f"{int(part['total'].sum()):,} decisions in the last {window}; {len(stops)} emergency-stop events"
                if not part.empty else f"No risk-gate decisions in the last {window}")
        return (records(counts), view_figures.gate_shares(counts, window), records(stops),
                records(gate_stats.effectiveness()), note)

    @guarded_callback(Perm.VIEW_RISK, Output(Options.POSITIONS, "rowData"), Output(Options.TOTALS, "rowData"),
                      Output(Options.HEATMAP, "figure"), Output(Options.PNL, "figure"),
                      Output(Options.UNDERLYING, "options"), Output(Options.STRATEGY, "options"),
                      Output(Options.EXPIRY, "options"), Output(Options.NOTE, "children"),
                      Input(Options.UNDERLYING, "value"), Input(Options.STRATEGY, "value"),
                      Input(Options.EXPIRY, "value"))
    def options(underlying, strategy, expiry):
        view = options_view.options_view(underlying, strategy, expiry)
        series = options_view.pnl_series(underlying, strategy, expiry)
        note = (f"{len(view.positions)} option position(s) across {view.positions['dte'].nunique()} expiries"
                if not view.positions.empty else "No option positions match")
        return (records(view.positions), records(view.totals),
                view_figures.options_heatmap(options_view.heatmap(view.positions)), view_figures.options_pnl(series),
                view.choices["underlying"], view.choices["strategy"], view.choices["expiry"], note)

    @guarded_callback(Perm.VIEW_TRADING, Output(Routing.SANKEY, "figure"), Output(Routing.VENUES, "rowData"),
                      Output(Routing.SPREAD, "figure"), Output(Routing.NOTE, "children"),
                      Input(Routing.PERIOD, "value"))
    def routing(period):
        links, venues, fills = routing_view.routing(PERIODS.get(period, PERIODS["24h"]))
        note = f"{sum(links['value']) // 2:,} venue orders, {len(fills):,} fills in the period"
        return view_figures.sankey(links), records(venues), view_figures.venue_spread(fills), note
