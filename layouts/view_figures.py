"""Figures of the risk-gate, options and routing views. Pure functions, each with an empty state;
transparent backgrounds so the page's light or dark theme shows through."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from layouts.figures import MARGIN, empty, heatmap

TRANSPARENT = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
DECISION_COLOURS = {"allow": "#198754", "scale": "#fd7e14", "block": "#dc3545"}
OUTCOME_COLOURS = {"filled": "#198754", "partly filled": "#20c997", "working": "#0d6efd", "canceled": "#6c757d",
                   "rejected": "#dc3545", "expired": "#adb5bd"}


def gate_shares(counts: pd.DataFrame, window: str) -> go.Figure:
    title = f"Risk-gate decisions by rule, last {window}"
    part = counts[counts["window"] == window] if not counts.empty else counts
    if part.empty:
        return empty(title, f"No risk-gate decisions in the last {window}")
    figure = go.Figure([go.Bar(y=part["rule"], x=part[f"{d}_share"] * 100, name=d, orientation="h",
                               marker_color=DECISION_COLOURS[d], customdata=part[d],
                               hovertemplate=f"{d}: %{{customdata:,}} (%{{x:.1f}}%)<extra>%{{y}}</extra>")
                        for d in ("allow", "scale", "block")])
    figure.update_layout(title=title, barmode="stack", margin=dict(MARGIN, l=150), height=80 + 40 * len(part),
                         xaxis={"title": "share of the rule's decisions (%)", "range": [0, 100]}, **TRANSPARENT)
    return figure


def sankey(links: dict) -> go.Figure:
    title = "Order flow: strategy → venue → outcome"
    if not links["value"]:
        return empty(title, "No orders routed to a venue in the period")
    colours = [OUTCOME_COLOURS.get(label, "#6f42c1") for label in links["labels"]]
    figure = go.Figure(go.Sankey(node={"label": links["labels"], "pad": 14, "thickness": 14, "color": colours},
                                 link={"source": links["source"], "target": links["target"], "value": links["value"],
                                       "color": "rgba(108,117,125,0.25)"}))
    figure.update_layout(title=title, margin=MARGIN, height=380, **TRANSPARENT)
    return figure


def venue_spread(fills: pd.DataFrame) -> go.Figure:
    title = "Effective spread paid at fills by venue (bps)"
    priced = fills.dropna(subset=["spread_bps"]) if not fills.empty else fills
    if priced.empty:
        return empty(title, "No fills with a mid in the period")
    # Robust axis: the box shows every point's statistics, the axis the 1st-99th percentile band.
    low, high = priced["spread_bps"].quantile([0.01, 0.99])
    pad = max((high - low) * 0.1, 0.5)
    clipped = int(((priced["spread_bps"] < low - pad) | (priced["spread_bps"] > high + pad)).sum())
    figure = go.Figure([go.Box(y=g["spread_bps"], name=str(v), boxpoints=False) for v, g in priced.groupby("venue")])
    figure.update_layout(title=title, margin=MARGIN, height=320, showlegend=False,
                         yaxis={"range": [low - pad, high + pad], "title": "bps"}, **TRANSPARENT)
    if clipped:
        figure.add_annotation(text=f"{clipped} point{'s' if clipped != 1 else ''} outside the axis", xref="paper",
                              yref="paper", x=1, y=1.08, showarrow=False, font={"size": 10})
    return figure


def options_pnl(series: pd.DataFrame) -> go.Figure:
    if series.empty:
        return empty("Options P&L", "No option fills in the last 7 days")
    figure = go.Figure(go.Scatter(x=series["ts"], y=series["pnl"], mode="lines", fill="tozeroy", name="P&L"))
    figure.update_layout(title="Options P&L (hourly marks)", margin=MARGIN, height=300, **TRANSPARENT)
    return figure


def options_heatmap(grid: pd.DataFrame, greek: str = "gamma") -> go.Figure:
    figure = heatmap(grid, f"{greek.title()} by strike × days to expiry", "No option positions to map")
    if grid is not None and len(grid):
        figure.update_layout(xaxis={"title": "days to expiry", "type": "category"},
                             yaxis={"title": "strike", "type": "category"}, **TRANSPARENT)
    return figure
