"""Figures of the Models page: shadow P&L side by side, the drift heatmap, importance bars and the
explanation of one decision. Pure functions of service results."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import html

from layouts.common import empty_state

MARGIN = {"l": 50, "r": 20, "t": 30, "b": 40}


def empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, margin=MARGIN)
    return fig


def shadow(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty("No shadow signals yet: they are recorded when signals are served or the shadow runs.")
    fig = go.Figure()
    for alias, dash in (("champion", "solid"), ("challenger", "dot")):
        col = f"{alias}_cum_pnl"
        if col in frame:
            fig.add_scatter(x=frame.index, y=frame[col] * 100, name=f"{alias} v{frame.attrs.get(alias)}",
                            line={"dash": dash})
    if "agree" in frame:
        fig.add_bar(x=frame.index, y=(~frame["agree"]).astype(int), name="signals differ", yaxis="y2", opacity=0.3)
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 4], "visible": False})
    fig.update_layout(margin=MARGIN, yaxis_title="Cumulative paper P&L (%)", legend={"orientation": "h", "y": 1.12})
    return fig


def drift_heatmap(report: dict) -> go.Figure:
    heat = report.get("heatmap")
    if heat is None or heat.empty:
        return empty(report.get("note") or "No drift data.")
    # Colour capped at 0.5 (PSI above 0.25 is already a major shift by the usual rule of thumb); the
    # hover shows the value.
    fig = go.Figure(go.Heatmap(z=heat.to_numpy(), x=[str(c) for c in heat.columns], y=list(heat.index),
                               colorscale="YlOrRd", zmin=0, zmax=0.5, colorbar={"title": "PSI"},
                               hovertemplate="%{y} %{x}: PSI %{z:.3f}<extra></extra>"))
    fig.update_layout(margin={**MARGIN, "l": 90}, xaxis={"type": "category"})
    return fig


def drift_note(report: dict) -> html.Div:
    if report.get("table") is None or report["table"].empty:
        return html.Div(report.get("note", ""), id="mdl-drift-summary")
    drifted = report["drifted"]
    parts = [f"v{report['version']}: {len(drifted)} of {len(report['table'])} features drifted "
             f"(block-permutation p < 0.01 and KS >= 0.1)" + (f": {', '.join(drifted)}" if drifted else ""),
             f"prediction drift KS {report['prediction_ks']:.3f}, PSI {report['prediction_psi']:.3f}",
             f"hit rate after the window {report['hit_rate_now']:.1%} vs out of sample {report['hit_rate_oos']:.1%}"
             if report.get("hit_rate_now") is not None and report.get("hit_rate_oos") is not None else "",
             f"model age {report['age_days']:.1f} days; its training window ended "
             f"{report['data_age_days']:.0f} days ago"]
    return html.Div([html.Div(p) for p in parts if p], id="mdl-drift-summary")


def importance(frame: pd.DataFrame) -> go.Figure:
    if frame is None or frame.empty:
        return empty("No importance yet.")
    frame = frame.iloc[::-1]
    fig = go.Figure()
    fig.add_bar(y=frame["feature"], x=frame["shap"], orientation="h", name="mean |SHAP| (log-odds)")
    fig.add_bar(y=frame["feature"], x=frame["permutation"], orientation="h", name="permutation (Brier)",
                error_x={"type": "data", "array": frame["permutation_std"]})
    fig.update_layout(barmode="group", margin={**MARGIN, "l": 100}, legend={"orientation": "h", "y": 1.12})
    return fig


def decision(d: dict | None) -> html.Div:
    if not d:
        return empty_state("No served signal yet to explain.")
    side = {1: "long", -1: "short", 0: "flat"}[d["signal"]]
    rows = [html.Tr([html.Td(f), html.Td(f"{v:.4f}"), html.Td(f"{c:+.4f}",
                                                              className="text-success" if c > 0 else "text-danger")])
            for f, v, c in d["contributions"]]
    return html.Div([
        html.Div(f"Champion v{d['version']} on {d['ts']:%Y-%m-%d}: {side} (P(up) = {d['probability']:.3f})",
                 className="fw-semibold small mb-1", id="mdl-decision-title"),
        dbc.Table([html.Thead(html.Tr([html.Th("Feature"), html.Th("Value"), html.Th("SHAP (log-odds)")])),
                   html.Tbody(rows)], size="sm", className="small mb-0"),
    ])
