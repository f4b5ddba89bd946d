"""Pages the product documents promise: the risk gate (decision statistics, emergency stops, rule
effectiveness), options (Greeks, P&L, strike x expiry map) and venue routing (order-flow Sankey,
quote staleness and spread by venue). Pure layout functions; callbacks/desk_views.py fills them."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import page_header
from layouts.ids_views import Gate, Options, Routing

GRAPH = {"displaylogo": False, "displayModeBar": "hover"}
GRID = {"className": "ag-theme-quartz", "defaultColDef": {"resizable": True, "sortable": True, "minWidth": 95},
        "dashGridOptions": {"domLayout": "autoHeight", "suppressCellFocus": True, "suppressColumnVirtualisation": True}, "rowData": []}


def _grid(grid_id: str, columns: list[dict], **style) -> dag.AgGrid:
    return dag.AgGrid(id=grid_id, columnDefs=columns, style={"width": "100%", **style}, **GRID)


GATE_COLUMNS = [column_def("window", header_name="Window"), column_def("rule", header_name="Rule", minWidth=170),
                column_def("allow", "int", "Allow"), column_def("scale", "int", "Scale"),
                column_def("block", "int", "Block"), column_def("total", "int", "Total"),
                column_def("allow_share", "pct", "Allow %"), column_def("scale_share", "pct", "Scale %"),
                column_def("block_share", "pct", "Block %")]
STOP_COLUMNS = [column_def("ts", "ts", "When (UTC)"), column_def("event", header_name="Event"),
                column_def("actor", header_name="By"), column_def("outcome", "status", "Outcome"),
                column_def("reason", header_name="Reason", flex=1)]
EFFECT_COLUMNS = [column_def("scope", header_name="Scope"), column_def("name", header_name="Strategy / rule",
                                                                       minWidth=170),
                  column_def("source", "status", "Source"), column_def("profit_factor", "ratio", "Profit factor"),
                  column_def("win_rate", "pct", "Win rate"), column_def("sharpe", "ratio", "Sharpe"),
                  column_def("max_drawdown", "pct", "Max drawdown"), column_def("max_wins", "int", "Wins in a row"),
                  column_def("max_losses", "int", "Losses in a row"), column_def("periods", "int", "Periods / trades")]
POSITION_COLUMNS = [column_def("symbol", header_name="Option", minWidth=190), column_def("underlying"),
                    column_def("strategy"), column_def("expiry", header_name="Expiry"),
                    column_def("dte", "int", "Days to expiry"), column_def("strike", "price", "Strike"),
                    column_def("quantity", "qty", "Qty"), column_def("delta", "greek", "Delta"),
                    column_def("gamma", "greek", "Gamma"), column_def("vega_1pct", "money", "Vega (per 1%)"),
                    column_def("theta_day", "money", "Theta (per day)"), column_def("rho_1pct", "money", "Rho (per 1%)")]
TOTAL_COLUMNS = [column_def("underlying")] + POSITION_COLUMNS[7:]
VENUE_COLUMNS = [column_def("venue"), column_def("fills", "int", "Fills"),
                 column_def("staleness_p50_ms", "ms", "Quote age p50 (ms)"),
                 column_def("staleness_p95_ms", "ms", "Quote age p95 (ms)"),
                 column_def("no_quote_fills", "int", "Fills with no quote"),
                 column_def("spread_mean_bps", "bps", "Eff. spread mean (bps)"),
                 column_def("spread_median_bps", "bps", "Eff. spread median (bps)")]
PERIODS = {"1h": "last hour", "24h": "last 24 hours", "7d": "last 7 days"}


def gate_layout(**_):
    return html.Div([
        page_header("Risk gate", "pre-trade decisions by rule, emergency stops, and what each rule and strategy earns"),
        dbc.Row([dbc.Col(dbc.RadioItems(id=Gate.WINDOW, value="1 h", inline=True,
                                        options=[{"label": w, "value": w} for w in ("5 min", "1 h", "24 h")]),
                         md="auto"),
                 dbc.Col(dbc.Button("Refresh", id=Gate.REFRESH, size="sm", color="secondary"), md="auto")],
                className="g-2 mb-2 align-items-center"),
        html.Div(id=Gate.NOTE, className="small text-body-secondary mb-1"),
        dcc.Graph(id=Gate.SHARES, config=GRAPH),
        html.H3("Decisions by rule (5 min, 1 h, 24 h)", className="h6 mt-3"),
        _grid(Gate.STATS, GATE_COLUMNS),
        html.H3("Emergency stops (kill switch)", className="h6 mt-3"),
        _grid(Gate.STOPS, STOP_COLUMNS),
        html.H3("Rule and strategy effectiveness, live next to the newest backtest", className="h6 mt-3"),
        _grid(Gate.EFFECT, EFFECT_COLUMNS),
        html.P("Live strategies: hourly closes of the engine's equity (last 30 days; Sharpe annualised over "
               "24 x 365 hours; win rate, profit factor and runs count hours). Gate rules: the fills of orders the "
               "rule passed, each marked to the newest mid (per trade). Backtests: closed trades of the newest run "
               "of the same strategy logic.", className="small text-body-secondary mt-2"),
    ])


def options_layout(**_):
    picker = {"clearable": True, "className": "mb-1"}
    return html.Div([
        page_header("Options", "Greeks per position and aggregated, P&L, strike x days-to-expiry map"),
        dbc.Row([dbc.Col(dcc.Dropdown(id=Options.UNDERLYING, placeholder="all underlyings", **picker), md=3),
                 dbc.Col(dcc.Dropdown(id=Options.STRATEGY, placeholder="all strategies", **picker), md=3),
                 dbc.Col(dcc.Dropdown(id=Options.EXPIRY, placeholder="all expiries", **picker), md=3)],
                className="g-2 mb-2"),
        html.Div(id=Options.NOTE, className="small text-body-secondary mb-1"),
        html.H3("Totals per underlying", className="h6"),
        _grid(Options.TOTALS, TOTAL_COLUMNS),
        html.H3("Positions", className="h6 mt-3"),
        _grid(Options.POSITIONS, POSITION_COLUMNS),
        dbc.Row([dbc.Col(dcc.Graph(id=Options.HEATMAP, config=GRAPH), md=6),
                 dbc.Col(dcc.Graph(id=Options.PNL, config=GRAPH), md=6)], className="g-2 mt-2"),
    ])


def routing_layout(**_):
    return html.Div([
        page_header("Routing", "where orders go and how they end; quote age and spread paid per venue"),
        dbc.Row([dbc.Col(dbc.Select(id=Routing.PERIOD, value="24h",
                                    options=[{"label": v, "value": k} for k, v in PERIODS.items()]), md=2)],
                className="g-2 mb-2"),
        html.Div(id=Routing.NOTE, className="small text-body-secondary mb-1"),
        dcc.Graph(id=Routing.SANKEY, config=GRAPH),
        html.H3("Venues: quote age at fill and effective spread", className="h6 mt-3"),
        _grid(Routing.VENUES, VENUE_COLUMNS),
        dcc.Graph(id=Routing.SPREAD, config=GRAPH, className="mt-2"),
        html.P("Quote age: how old the newest stored quote of the instrument was when the venue filled us (quotes are "
               "consolidated, not per venue). Effective spread: 2 x side x (fill - mid at fill), bps of the mid; "
               "positive = paid.", className="small text-body-secondary mt-2"),
    ])
