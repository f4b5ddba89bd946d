"""Small status blocks of the Command Center, built from plain values (no database here)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

STATUS_COLOURS = {"running": "success", "starting": "info", "stopping": "warning", "stopped": "secondary",
                  "crashed": "danger", "stale": "danger", "unknown": "secondary"}


def engine_card(view) -> html.Div:
    age = f"{view.heartbeat_age_s:.0f} s ago" if view.heartbeat_age_s is not None else "never"
    return html.Div([
        html.Span(view.actual.upper(), className=f"h5 text-{STATUS_COLOURS.get(view.actual, 'secondary')}",
                  id="cc-engine-actual"),
        html.Span(f" desired {view.desired}", className="small ms-2", id="cc-engine-desired"),
        html.Div(f"{view.engine_id} · stage {view.stage or '-'} · heartbeat {age}", className="small"),
    ])


def kill_card(view) -> html.Div:
    if not view.kill_switch_active:
        return html.Div([html.Span("OFF", className="h5 text-success", id="cc-kill-state"),
                         html.Div("engines may trade", className="small")])
    pending = (f"reset requested by {view.reset_requested_by}: awaiting a second person"
               if view.reset_requested_by else "no reset requested")
    return html.Div([html.Span("ON", className="h5 text-danger", id="cc-kill-state"),
                     html.Div(view.kill_switch_reason, className="small"), html.Div(pending, className="small")])


def risk_card(level: str, reasons: list[str]) -> html.Div:
    colour = {"OK": "success", "WARNING": "warning", "CRITICAL": "danger"}[level]
    return html.Div([html.Span(level, className=f"h5 text-{colour}", id="cc-risk-level"),
                     html.Ul([html.Li(r) for r in reasons], className="small mb-0") if reasons else
                     html.Div("no active warnings", className="small")])


def infra_tiles(tiles) -> dbc.Row:
    return dbc.Row([
        dbc.Col(dbc.Card(dbc.CardBody([
            html.Div(t.name, className="small text-body-secondary"),
            html.Div(t.label, className=f"h6 mb-0 text-{t.colour}", id=f"tile-{t.key}"),
            html.Div(t.detail, className="small text-truncate", title=t.detail),
        ])), md=2) for t in tiles
    ], className="g-2")


def session_pnl_figure(view) -> "go.Figure":
    """Today's intraday P&L (services.session_pnl.SessionPnl) as a line from the session start."""
    import plotly.graph_objects as go

    from layouts import figures

    if view.points.empty:
        return figures.empty("Today's P&L", "No P&L snapshots today (from 00:00 UTC)")
    last = view.last
    colour = "#198754" if last >= 0 else "#dc3545"
    figure = go.Figure(go.Scattergl(x=view.points["ts"], y=view.points["pnl"], mode="lines", fill="tozeroy",
                                    line={"color": colour}, name="P&L today"))
    figure.update_layout(title=f"Today's P&L {last:+,.0f} (vs {view.baseline_kind})", margin=figures.MARGIN,
                         height=260, meta={"pnl": round(last, 2), "baseline": view.baseline_kind})
    return figure
