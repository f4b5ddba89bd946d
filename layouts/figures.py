"""Plotly figures from plain data frames. Pure functions, no database: every one has an empty
state, and the theme template is applied by the shell (light/dark)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

MARGIN = dict(l=40, r=10, t=30, b=30)


def empty(title: str, message: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, margin=MARGIN, height=260, xaxis={"visible": False}, yaxis={"visible": False},
                         annotations=[{"text": message, "showarrow": False, "font": {"size": 14}}])
    return figure


def equity(curve: pd.DataFrame) -> go.Figure:
    if curve.empty:
        return empty("Equity", "No P&L snapshots yet: start the engine")
    figure = go.Figure(go.Scattergl(x=curve["ts"], y=curve["equity"], mode="lines", name="equity"))
    figure.update_layout(title="Equity", margin=MARGIN, height=260)
    return figure


def drawdown(curve: pd.DataFrame) -> go.Figure:
    if curve.empty:
        return empty("Drawdown", "No P&L snapshots yet")
    figure = go.Figure(go.Scattergl(x=curve["ts"], y=curve["drawdown"] * 100, mode="lines", fill="tozeroy",
                                    name="drawdown %", line={"color": "#dc3545"}))
    figure.update_layout(title="Drawdown (%)", margin=MARGIN, height=260)
    return figure


def daily_pnl(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty("Daily P&L", "Needs at least two days of snapshots")
    colours = ["#198754" if v >= 0 else "#dc3545" for v in frame["pnl"]]
    figure = go.Figure(go.Bar(x=frame["day"], y=frame["pnl"], marker_color=colours))
    figure.update_layout(title="Daily P&L", margin=MARGIN, height=260)
    return figure


def bars(frame: pd.DataFrame, x: str, ys: list[str], title: str, empty_message: str) -> go.Figure:
    if frame.empty:
        return empty(title, empty_message)
    figure = go.Figure([go.Bar(x=frame[x], y=frame[y], name=y) for y in ys])
    figure.update_layout(title=title, margin=MARGIN, height=260, barmode="group")
    return figure


def allocation(rows: list[dict]) -> go.Figure:
    if not rows:
        return empty("Strategy allocation", "No strategies registered")
    figure = go.Figure(go.Pie(labels=[r["strategy"] for r in rows], values=[r["allocation"] for r in rows], hole=0.5))
    figure.update_layout(title="Strategy allocation", margin=MARGIN, height=260)
    return figure


def heatmap(frame: pd.DataFrame, title: str, empty_message: str, colorscale: str = "RdBu",
            zmid: float | None = 0.0) -> go.Figure:
    if frame is None or len(frame) == 0:
        return empty(title, empty_message)
    figure = go.Figure(go.Heatmap(z=frame.to_numpy(), x=[str(c) for c in frame.columns],
                                  y=[str(i) for i in frame.index], colorscale=colorscale, zmid=zmid))
    figure.update_layout(title=title, margin=MARGIN, height=360)
    return figure


def distribution(frame: pd.DataFrame, group: str, value: str, title: str, empty_message: str,
                 log_y: bool = False) -> go.Figure:
    if frame is None or frame.empty:
        return empty(title, empty_message)
    figure = go.Figure([go.Box(y=g[value], name=str(k), boxpoints=False) for k, g in frame.groupby(group)])
    figure.update_layout(title=title, margin=MARGIN, height=320, showlegend=False)
    if log_y:
        figure.update_yaxes(type="log")
    return figure
