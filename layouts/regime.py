"""The Command Center's market-regime panel: the desk's equity with the regime of the market proxy
(volatility x trend, from the kernels) shaded behind it; refreshed once a minute (regimes move on
hourly bars)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc

from layouts.ids_views import Regime as ids


def panel() -> dbc.Row:
    return dbc.Row([dbc.Col(dcc.Graph(id=ids.CHART, config={"displaylogo": False, "displayModeBar": "hover"}), md=12),
                    dcc.Interval(id=ids.TICK, interval=60_000)], className="g-2")
