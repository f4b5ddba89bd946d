"""Prices: one instrument's candlesticks at 1 min / 5 min / 1 h / 1 day with volume, moving
averages, Bollinger bands, RSI and the desk's fills."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.common import page_header
from layouts.ids_views import Prices as ids

INTERVAL_LABELS = {"1m": "1 min", "5m": "5 min", "1h": "1 hour", "1d": "1 day"}
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": "hover", "scrollZoom": True}


def layout(**_):
    return html.Div([
        page_header("Prices", "bars built from the stored quotes, indicators from the kernels, our fills marked"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=ids.INSTRUMENT, placeholder="instrument", clearable=False), md=3),
            dbc.Col(dbc.RadioItems(id=ids.INTERVAL, value="1h", inline=True, inputClassName="btn-check",
                                   labelClassName="btn btn-sm btn-outline-secondary",
                                   labelCheckedClassName="active",
                                   options=[{"label": v, "value": k} for k, v in INTERVAL_LABELS.items()]),
                    md="auto"),
        ], className="g-2 mb-2 align-items-center"),
        html.Div(id=ids.NOTE, className="small text-body-secondary mb-1"),
        dcc.Loading(dcc.Graph(id=ids.CHART, config=GRAPH_CONFIG, style={"height": "620px"}), delay_show=400),
        html.P("Bars: the mid of the stored quotes per bucket (UTC), tick volume; where the engine stored bars, "
               "those come first. SMA 20, EMA 50, Bollinger 20 bars ±2σ (population), RSI 14 (Wilder). "
               "Triangles: our fills (up = buy, down = sell). Zoom to read the window at full resolution.",
               className="small text-body-secondary mt-2"),
    ])
