"""Plotly figures from plain data frames. Pure functions, no database: every one has an empty
state, and the theme template is applied by the shell (light/dark).

Every figure draws finite values within the desk's bounds only: a non-finite or absurd point
(an outlier that got into the store, or a sum of them) is left out and counted in a note on the
figure, so it degrades one point and never makes the axis unreadable or the figure fail."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashapp.services.bounds import MAX_ABS_AMOUNT
from dashapp.services.read_bounds import finite_rows

MARGIN = dict(l=40, r=10, t=30, b=30)
PLOT_LIMIT = MAX_ABS_AMOUNT  # the largest magnitude any figure here plots (P&L, notional, exposure)

# One figure template per mode. The browser (assets/desk.js) puts the one matching the page's theme
# on every graph it draws and re-templates them all when the theme switches, so no figure here names
# a template and none is white on a dark page. The colours are the desk stylesheet's surfaces.
DESK_COLORWAY = ["#4c9be8", "#f0ad4e", "#20c997", "#e35d6a", "#9b7de0", "#6cc3d5", "#fd7e14", "#adb5bd"]
_SURFACE = {"light": ("#ffffff", "#212529", "rgba(33,37,41,0.10)", "#6c757d"),
            "dark": ("#1b1f24", "#dee2e6", "rgba(222,226,230,0.10)", "#adb5bd")}


def desk_template(mode: str) -> go.layout.Template:
    paper, ink, grid, muted = _SURFACE[mode]
    axis = dict(gridcolor=grid, linecolor=grid, zerolinecolor=grid, tickcolor=grid, tickfont=dict(color=muted),
                title=dict(font=dict(color=muted)), automargin=True)
    template = go.layout.Template()
    template.layout = go.Layout(
        paper_bgcolor=paper, plot_bgcolor=paper, colorway=DESK_COLORWAY,
        font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=11, color=ink),
        title=dict(font=dict(size=13, color=ink), x=0.01, xanchor="left"), xaxis=axis, yaxis=axis,
        legend=dict(bgcolor="rgba(0,0,0,0)", font=dict(color=ink)), hoverlabel=dict(font=dict(size=11)),
        colorscale=dict(sequential="Viridis", diverging="RdBu"), margin=MARGIN,
    )
    template.data.scattergl = [go.Scattergl(line=dict(width=1.5))]
    template.data.heatmap = [go.Heatmap(colorbar=dict(outlinewidth=0, tickfont=dict(color=muted)))]
    return template


TEMPLATES = {mode: desk_template(mode) for mode in ("light", "dark")}
# Figures leave the server without plotly's default (white) template: the browser applies the desk's
# one for the page's mode, and each figure's JSON is ~7 kB smaller.
pio.templates.default = "none"


def templates_json() -> dict:
    """Both templates as plain JSON for the shell's store (the browser applies them)."""
    return {mode: template.to_plotly_json() for mode, template in TEMPLATES.items()}


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
    """Rows and columns with nothing in them (all blank or all zero) are dropped, so a sparse map
    shows the cells that hold something; one column left (e.g. a single expiry) is drawn as bars,
    since a one-column colour map says less than a bar per row."""
    if frame is None or len(frame) == 0:
        return empty(title, empty_message)
    z = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        outliers = ~np.isnan(z) & ~(np.abs(z) <= PLOT_LIMIT)  # an absurd cell is blank, not the colour scale
    z = np.where(outliers, np.nan, z)
    filled = ~np.isnan(z) & (z != 0)
    rows, cols = filled.any(axis=1), filled.any(axis=0)
    if not rows.any():
        return _note_hidden(empty(title, empty_message), int(outliers.sum()))
    z = z[rows][:, cols]
    x = [str(c) for c, keep in zip(frame.columns, cols) if keep]
    y = [str(i) for i, keep in zip(frame.index, rows) if keep]
    dropped = int((~rows).sum()) + int((~cols).sum())
    if len(x) == 1:
        values = np.nan_to_num(z[:, 0])
        figure = go.Figure(go.Bar(x=y, y=values, name=x[0],
                                 marker_color=["#20c997" if v >= 0 else "#e35d6a" for v in values]))
        figure.update_layout(title=f"{title}: {x[0]} only", margin=MARGIN, height=360)
        figure.update_xaxes(type="category")
    else:
        figure = go.Figure(go.Heatmap(z=z, x=x, y=y, colorscale=colorscale, zmid=zmid, xgap=1, ygap=1,
                                      hoverongaps=False))
        figure.update_layout(title=title, margin=MARGIN, height=360)
        figure.update_xaxes(type="category")
        figure.update_yaxes(type="category")
    if dropped:
        figure.add_annotation(text=f"{dropped} empty row{'s' if dropped != 1 else ''}/column{'s' if dropped != 1 else ''}"
                                   " not shown", xref="paper", yref="paper", x=0, y=1.08, showarrow=False,
                              font={"size": 10}, xanchor="left", name="empty-hidden")
    return _note_hidden(figure, int(outliers.sum()))


def robust_range(values: np.ndarray, low: float = 0.01, high: float = 0.99, fence: float = 3.0) -> tuple[float, float]:
    """An axis range that a few outliers cannot flatten: the 1st..99th percentiles widened by
    `fence` interquartile ranges (clamped to the data), so ordinary spread is always in view."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    q1, q3 = np.percentile(values, [25, 75])
    spread = (q3 - q1) or (abs(q3) * 0.1 or 1.0)
    lo = max(float(values.min()), min(float(np.quantile(values, low)), q1 - fence * spread))
    hi = min(float(values.max()), max(float(np.quantile(values, high)), q3 + fence * spread))
    pad = (hi - lo) * 0.05 or 1.0
    return lo - pad, hi + pad


def distribution(frame: pd.DataFrame, group: str, value: str, title: str, empty_message: str,
                 log_y: bool = False) -> go.Figure:
    """Box per group on a robust axis: values beyond it are still in the boxes' statistics, and
    "N points beyond the axis" says how many the axis leaves out of view."""
    if frame is None or frame.empty:
        return empty(title, empty_message)
    frame, hidden = plottable(frame, [value])
    figure = go.Figure([go.Box(y=g[value], name=str(k), boxpoints="outliers", marker={"size": 3})
                        for k, g in frame.groupby(group)])
    figure.update_layout(title=title, margin=MARGIN, height=320, showlegend=False)
    values = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=float)
    if log_y:
        figure.update_yaxes(type="log")
    elif np.isfinite(values).sum() >= 4:
        lo, hi = robust_range(values)
        beyond = int(((values < lo) | (values > hi)).sum())
        if beyond:
            figure.update_yaxes(range=[lo, hi])
            figure.add_annotation(text=f"{beyond} point{'s' if beyond != 1 else ''} beyond the axis", xref="paper",
                                  yref="paper", x=0, y=1.08, showarrow=False, font={"size": 10}, xanchor="left",
                                  name="beyond-axis")
    return _note_hidden(figure, hidden)
