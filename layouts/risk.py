"""Risk War Room: VaR/CVaR by method, limits with live utilisation (edited here by risk users),
drawdown, concentration and correlation, sector exposure, exposure over time, Greeks, what-if."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_defs
from dashapp.security.permissions import Perm
from layouts import risk_stress
from layouts.common import empty_state, page_header
from layouts.ids import Risk as ids
from models.risk import BREACH_ACTIONS, LIMIT_KINDS

VAR_COLUMNS = column_defs([("scope", {"pinned": "left", "width": 110}), ("level", {"width": 90})] + [
    (f, {"valueFormatter": {"function": "num0(params.value)"}}) for f in (
        "historical_var", "historical_cvar", "parametric_var", "parametric_cvar", "cornish_fisher_var",
        "monte_carlo_var")])
GREEK_COLUMNS = column_defs(["underlying", "delta", "gamma", "vega_1pct", "theta_day", "rho_1pct"])


def _graph(element_id: str, md: int) -> dbc.Col:
    return dbc.Col(dcc.Graph(id=element_id, config={"displaylogo": False}), md=md)


def limits_panel(rows: list, editable: bool) -> html.Div:
    """Utilisation bars, one per limit (built from plain dicts by the callback)."""
    if not rows:
        return empty_state("No limits yet.")
    colour = {"OK": "success", "WARNING": "warning", "BREACH": "danger"}
    return html.Div([
        html.Div([
            html.Div([html.Span(f"{r['kind']} · {r['scope']}", className="fw-semibold"),
                      html.Span(f"  {r['value']:,.2f} / {r['limit_value']:,.2f}  → {r['breach_action']}",
                                className="small text-body-secondary")]),
            dbc.Progress(value=min(r["utilisation"] * 100, 100), label=f"{r['utilisation']:.0%}",
                         color=colour[r["status"]], className="mb-2", style={"height": "18px"},
                         id={"type": "rk-util", "limit": r["limit_id"]}),
        ], className="limit-row", **{"data-status": r["status"]}) for r in rows
    ], id="rk-limit-bars")


def _limit_form() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H6("Edit a limit"),
        dbc.Select(id=ids.LIMIT_PICK, placeholder="pick a limit to edit, or fill in a new one", className="mb-2"),
        dbc.Row([
            dbc.Col(dbc.Select(id=ids.LIMIT_KIND, options=[{"label": k, "value": k} for k in LIMIT_KINDS],
                               value="gross_exposure"), md=4),
            dbc.Col(dbc.Input(id=ids.LIMIT_SCOPE, value="*", placeholder="* or symbol or sector"), md=3),
            dbc.Col(dbc.Input(id=ids.LIMIT_VALUE, type="number", placeholder="limit"), md=3),
            dbc.Col(dbc.Input(id=ids.LIMIT_WARN, type="number", value=0.8, step=0.05, min=0.05, max=1), md=2),
        ], className="g-1 mb-2"),
        dbc.Row([
            dbc.Col(dbc.Select(id=ids.LIMIT_ACTION, options=[{"label": a, "value": a} for a in BREACH_ACTIONS],
                               value="alert"), md=5),
            dbc.Col(dbc.Switch(id=ids.LIMIT_ACTIVE, label="active", value=True), md=3),
            dbc.Col(dbc.Button("Save limit", id=ids.LIMIT_SAVE, color="primary", size="sm"), md=4),
        ], className="g-1"),
    ]), id="rk-limit-form")


def _what_if() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H6("Pre-trade what-if"),
        dbc.Row([
            dbc.Col(dbc.Input(id=ids.WHATIF_INSTRUMENT, placeholder="symbol, e.g. AAPL"), md=4),
            dbc.Col(dbc.Select(id=ids.WHATIF_SIDE, options=[{"label": s, "value": s} for s in ("buy", "sell")],
                               value="buy"), md=3),
            dbc.Col(dbc.Input(id=ids.WHATIF_QTY, type="number", placeholder="quantity"), md=3),
            dbc.Col(dbc.Button("Check", id=ids.WHATIF_RUN, size="sm"), md=2),
        ], className="g-1"),
        html.Div(id=ids.WHATIF_RESULT, className="mt-2 small"),
    ]))


def layout(perms=frozenset(), **_):
    editable = Perm.LIMITS_EDIT in perms
    return html.Div([
        page_header("Risk War Room", "VaR, limits, concentration, Greeks and what-if, on the live book"),
        dcc.Interval(id=ids.INTERVAL, interval=5000),
        html.Div(id=ids.SUMMARY, className="mb-2"),
        dbc.Row([
            dbc.Col([html.H6("VaR and CVaR (1 day, money) by method"),
                     dag.AgGrid(id=ids.VAR_GRID, columnDefs=VAR_COLUMNS, rowData=[], className="ag-theme-quartz",
                                defaultColDef={"resizable": True, "sortable": True, "minWidth": 110},
                                style={"height": "300px"})], md=7),
            dbc.Col([html.H6("Limits"), html.Div(id=ids.LIMITS),
                     # Always present: the page's refresh listens to it, for viewers too.
                     html.Div(id=ids.LIMIT_MESSAGE, className="mb-2"),
                     _limit_form() if editable else html.Div("Limits are edited by the risk role.",
                                                             className="small text-body-secondary",
                                                             id="rk-read-only")], md=5),
        ], className="g-2 mb-2"),
        dbc.Row([_graph(ids.DRAWDOWN, 4), _graph(ids.SECTORS, 4),
                 dbc.Col([html.H6("Concentration"), html.Div(id=ids.CONCENTRATION)], md=4)], className="g-2"),
        dbc.Row([_graph(ids.CORRELATION, 6), _graph(ids.EXPOSURE_HEATMAP, 6)], className="g-2"),
        dbc.Row([
            dbc.Col([html.H6("Options Greeks by underlying (vega/rho per 1%, theta per day)"),
                     dag.AgGrid(id=ids.GREEKS_GRID, columnDefs=GREEK_COLUMNS, rowData=[],
                                className="ag-theme-quartz", defaultColDef={"flex": 1, "resizable": True},
                                style={"height": "200px"})], md=6),
            _graph(ids.GREEKS_HEATMAP, 6),
        ], className="g-2 mb-2"),
        dbc.Row([dbc.Col(_what_if(), md=6)], className="g-2"),
        risk_stress.section(perms),
    ])
