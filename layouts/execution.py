"""Execution quality: venue scorecards side by side, per strategy or instrument, over a period."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import page_header
from layouts.ids import Execution as ids

# The same choices as the navbar's time range (services/preferences.py), which sets this select.
PERIODS = {"15m": "last 15 minutes", "1h": "last hour", "4h": "last 4 hours", "24h": "last 24 hours",
           "7d": "last 7 days", "30d": "last 30 days"}
NUM2 = {"type": "rightAligned", "valueFormatter": {"function": "num2(params.value)"}}
PCT = {"type": "rightAligned", "valueFormatter": {"function": "num2(params.value * 100)"}}


def columns(by: str) -> list[dict]:
    return [
        column_def(by, pinned="left", minWidth=130), column_def("orders", kind="int"),
        {"field": "fill_rate", "headerName": "Fill %", **PCT}, {"field": "reject_rate", "headerName": "Reject %", **PCT},
        {"field": "latency_p50_ms", "headerName": "Latency p50 ms", **NUM2},
        {"field": "latency_p95_ms", "headerName": "p95 ms", **NUM2},
        {"field": "latency_p99_ms", "headerName": "p99 ms", **NUM2}, column_def("fills", kind="int"),
        {"field": "avg_slippage_bps", "headerName": "Slippage bps", **NUM2},
        {"field": "price_improvement_bps", "headerName": "Improvement bps", **NUM2},
        {"field": "markout_1s_bps", "headerName": "Markout 1s", **NUM2},
        {"field": "markout_5s_bps", "headerName": "Markout 5s", **NUM2},
        {"field": "markout_30s_bps", "headerName": "Markout 30s", **NUM2},
        {"field": "best_execution_share", "headerName": "Best-ex %", **PCT},
    ]


def layout(**_):
    return html.Div([
        page_header("Execution quality", "venue scorecards: fill, reject, latency, slippage, improvement, markouts"),
        dbc.Row([
            dbc.Col(dbc.Select(id=ids.PERIOD, options=[{"label": v, "value": k} for k, v in PERIODS.items()],
                               value="24h"), md=2),
            dbc.Col(dbc.Select(id=ids.GROUP_BY, value="venue", options=[
                {"label": f"by {k}", "value": k} for k in ("venue", "strategy", "instrument")]), md=2),
            dbc.Col(dbc.Input(id=ids.STRATEGY, placeholder="strategy (all)"), md=2),
            dbc.Col(dbc.Input(id=ids.INSTRUMENT, placeholder="instrument (all)"), md=2),
            dbc.Col(dbc.Button("Apply", id=ids.APPLY, size="sm"), md=1),
        ], className="g-1 mb-2"),
        html.Div(id=ids.NOTE, className="small text-body-secondary mb-1"),
        dag.AgGrid(id=ids.GRID, columnDefs=columns("venue"), rowData=[], className="ag-theme-quartz",
                   defaultColDef={"resizable": True, "sortable": True, "minWidth": 105},
                   style={"height": "260px"}),
        dbc.Row([dbc.Col(dcc.Graph(id=ids.SLIPPAGE, config={"displaylogo": False}), md=6),
                 dbc.Col(dcc.Graph(id=ids.LATENCY, config={"displaylogo": False}), md=6)], className="g-2 mt-2"),
        html.P("Slippage: versus the mid when the order arrived, positive = cost for buys and sells. Improvement: "
               "versus the mid at the fill, positive = better than mid. Markouts: the mid h seconds later versus the "
               "fill price, positive = the market moved our way. Best-ex: of the parent orders split across venues, "
               "the share where this venue filled at the best price.", className="small text-body-secondary mt-2"),
    ])
