"""Plotly figures from plain data frames. Pure functions, no database: every one has an empty
state, and the theme template is applied by the shell (light/dark).

Every figure draws finite values within the desk's bounds only: a non-finite or absurd point
(an outlier that got into the store, or a sum of them) is left out and counted in a note on the
figure, so it degrades one point and never makes the axis unreadable or the figure fail."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashapp.services.bounds import MAX_ABS_AMOUNT
from dashapp.services.read_bounds import finite_rows

MARGIN = dict(l=40, r=10, t=30, b=30)
PLOT_LIMIT = MAX_ABS_AMOUNT  # the largest magnitude any figure here plots (P&L, notional, exposure)


def plottable(frame: pd.DataFrame, columns: list[str], limit: float = PLOT_LIMIT) -> tuple[pd.DataFrame, int]:
    """The rows whose `columns` are all finite and within `limit` (NaN means "no value" and is kept),
    and how many rows were left out."""
    if frame is None:
        return frame, 0
    return finite_rows(frame, dict.fromkeys(columns, limit))


def _note_hidden(figure: go.Figure, hidden: int) -> go.Figure:
    if hidden:
        figure.add_annotation(text=f"{hidden} outlier point{'s' if hidden != 1 else ''} not shown",
                              xref="paper", yref="paper", x=1, y=1.08, showarrow=False, font={"size": 10},
                              name="outliers-hidden")
    return figure


def empty(title: str, message: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, margin=MARGIN, height=260, xaxis={"visible": False}, yaxis={"visible": False},
                         annotations=[{"text": message, "showarrow": False, "font": {"size": 14}}])
    return figure


def equity(curve: pd.DataFrame, restarts=()) -> go.Figure:
    """`restarts`: when engines restarted (default: the curve's `attrs["restarts"]`); each is a
    dotted vertical line labelled "restart", so a jump across a restart reads as one, not as a
    price move."""
    if curve.empty:
        return empty("Equity", "No P&L snapshots yet: start the engine")
    restarts = restarts if len(restarts) else curve.attrs.get("restarts", ())  # desk.equity_curve attaches them
    curve, hidden = plottable(curve, ["equity"])
    figure = go.Figure(go.Scattergl(x=curve["ts"], y=curve["equity"], mode="lines", name="equity"))
    figure.update_layout(title="Equity", margin=MARGIN, height=260)
    return _note_hidden(_mark_restarts(figure, curve, restarts), hidden)


def _mark_restarts(figure: go.Figure, curve: pd.DataFrame, restarts) -> go.Figure:
    if not len(restarts) or curve.empty:
        return figure
    stamps = pd.to_datetime(pd.Series(list(restarts)), utc=True, format="mixed")
    first, last = pd.to_datetime(curve["ts"], utc=True, format="mixed").agg(["min", "max"])
    for stamp in stamps[(stamps >= first) & (stamps <= last)]:
        # shapes, not add_vline: add_vline's annotation arithmetic fails on datetime axes in plotly 5/6
        figure.add_shape(type="line", x0=stamp, x1=stamp, xref="x", y0=0, y1=1, yref="paper", name="restart",
                         line={"dash": "dot", "width": 1, "color": "#6c757d"})
        figure.add_annotation(x=stamp, xref="x", y=1, yref="paper", text="restart", showarrow=False,
                              font={"size": 9}, yanchor="bottom", name="restart")
    return figure


def drawdown(curve: pd.DataFrame) -> go.Figure:
    if curve.empty:
        return empty("Drawdown", "No P&L snapshots yet")
    curve, hidden = plottable(curve, ["drawdown"])  # a drawdown is a fraction: anything else is no point
    figure = go.Figure(go.Scattergl(x=curve["ts"], y=curve["drawdown"] * 100, mode="lines", fill="tozeroy",
                                    name="drawdown %", line={"color": "#dc3545"}))
    figure.update_layout(title="Drawdown (%)", margin=MARGIN, height=260)
    return _note_hidden(figure, hidden)


def daily_pnl(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty("Daily P&L", "Needs at least two days of snapshots")
    frame, hidden = plottable(frame, ["pnl"])
    colours = ["#198754" if v >= 0 else "#dc3545" for v in frame["pnl"]]
    figure = go.Figure(go.Bar(x=frame["day"], y=frame["pnl"], marker_color=colours))
    figure.update_layout(title="Daily P&L", margin=MARGIN, height=260)
    return _note_hidden(figure, hidden)


def bars(frame: pd.DataFrame, x: str, ys: list[str], title: str, empty_message: str) -> go.Figure:
    if frame.empty:
        return empty(title, empty_message)
    frame, hidden = plottable(frame, ys)
    figure = go.Figure([go.Bar(x=frame[x], y=frame[y], name=y) for y in ys])
    figure.update_layout(title=title, margin=MARGIN, height=260, barmode="group")
    return _note_hidden(figure, hidden)


def allocation(rows: list[dict]) -> go.Figure:
    if not rows:
        return empty("Strategy allocation", "No strategies registered")
    frame, hidden = plottable(pd.DataFrame(rows, columns=["strategy", "allocation"]), ["allocation"])
    figure = go.Figure(go.Pie(labels=list(frame["strategy"]), values=list(frame["allocation"]), hole=0.5))
    figure.update_layout(title="Strategy allocation", margin=MARGIN, height=260)
    return _note_hidden(figure, hidden)


def heatmap(frame: pd.DataFrame, title: str, empty_message: str, colorscale: str = "RdBu",
            zmid: float | None = 0.0) -> go.Figure:
    if frame is None or len(frame) == 0:
        return empty(title, empty_message)
    z = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        outliers = ~np.isnan(z) & ~(np.abs(z) <= PLOT_LIMIT)  # an absurd cell is blank, not the colour scale
    z = np.where(outliers, np.nan, z)
    figure = go.Figure(go.Heatmap(z=z, x=[str(c) for c in frame.columns],
                                  y=[str(i) for i in frame.index], colorscale=colorscale, zmid=zmid))
    figure.update_layout(title=title, margin=MARGIN, height=360)
    return _note_hidden(figure, int(outliers.sum()))


def distribution(frame: pd.DataFrame, group: str, value: str, title: str, empty_message: str,
                 log_y: bool = False) -> go.Figure:
    if frame is None or frame.empty:
        return empty(title, empty_message)
    frame, hidden = plottable(frame, [value])
    figure = go.Figure([go.Box(y=g[value], name=str(k), boxpoints=False) for k, g in frame.groupby(group)])
    figure.update_layout(title=title, margin=MARGIN, height=320, showlegend=False)
    if log_y:
        figure.update_yaxes(type="log")
    return _note_hidden(figure, hidden)
