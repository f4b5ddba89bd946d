"""Backtests: launch a strategy run or a parameter sweep on the bundled daily closes, follow its
progress, read the result (metrics, equity, drawdown, trades, monthly returns, the sweep heatmap)
and set it against what the paper engine does live. Pure layout and figures; the data arrives
through callbacks/backtests.py."""
from __future__ import annotations

import uuid

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from dashapp.backtest import data
from dashapp.backtest.live import WINDOWS
from dashapp.backtest.metrics import LABELS, PERCENT
from dashapp.backtest.strategies import STRATEGIES
from dashapp.presentation.columns import column_def, column_defs
from layouts import figures
from layouts.common import empty_state, page_header
from layouts.ids import Backtests as ids
from layouts.jobs import STATE_COLOURS

REFRESH_MS = 1000
LIVE_REFRESH_MS = 15_000
NO_RUNS = "No backtests yet. Launch one with the form on the left."
NO_RUN_SELECTED = "No run selected: launch a backtest or click a run in the list."
HIDDEN = {"display": "none"}
FMT = {n: {"function": f"num{n}(params.value)"} for n in (0, 2, 4)}
NUM = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
RUN_COLUMNS = [("kind", "Kind", 90), ("what", "Strategy", 230), ("symbols", "Symbols", 120), ("period", "Period", 190),
               ("state", "State", 105), ("progress", "Progress %", 110), ("created_by", "By", 90),
               ("created_at", "Created (UTC)", 165), ("message", "Message", 200)]
TRADE_COLUMNS = column_defs([("symbol", {"width": 90}), ("side", {"width": 80}), "qty", "entry_date",
                             "entry_price", "exit_date", "exit_price", ("bars", {"width": 80}), "fees", "pnl",
                             "net_pnl", ("status", {"width": 100})])
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHLY_COLUMNS = [{"field": "year", "width": 80}] + [
    {"field": m, **NUM, "valueFormatter": FMT[2], "minWidth": 72} for m in MONTHS] + [
    {"field": "total", "headerName": "Year", **NUM, "valueFormatter": FMT[2], "minWidth": 80}]
HEATMAP_METRICS = ("sharpe", "sortino", "cagr", "total_return", "calmar", "max_drawdown", "win_rate", "profit_factor",
                   "trades")


def layout(**_):
    """Runs on the server per page load: only roles that may launch get the form."""
    from dashapp.security.guards import allowed
    from dashapp.security.permissions import Perm

    return backtests_page(allowed(Perm.JOBS_LAUNCH), uuid.uuid4().hex)


def backtests_page(can_launch: bool, launch_token: str) -> html.Div:
    form = launch_form() if can_launch else dbc.Alert(
        "Your role may read backtests but not launch them (that needs the jobs:launch permission).",
        color="secondary", id="bt-no-launch")
    return html.Div([
        page_header("Backtests", "strategies on real daily closes, 2012-2022: single runs and parameter sweeps"),
        dcc.Store(id=ids.LAUNCH_TOKEN, data=launch_token),  # makes a retried click idempotent
        dcc.Store(id=ids.LAUNCHED), dcc.Store(id=ids.CHANGED), dcc.Store(id=ids.SELECTED), dcc.Store(id=ids.SHOWN),
        dcc.Interval(id=ids.INTERVAL, interval=REFRESH_MS),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("New backtest"), dbc.CardBody(form)]), lg=4),
            dbc.Col(dbc.Card([dbc.CardHeader("Runs"), dbc.CardBody([html.Div(id=ids.RUNS_EMPTY), runs_grid()])]),
                    lg=8),
        ], className="g-3"),
        dbc.Card([dbc.CardHeader("Selected run"),
                  dbc.CardBody(html.Div(empty_state(NO_RUN_SELECTED), id=ids.STATUS))], className="mt-3"),
        result_section(),
    ], id="page-backtests")


def _field(label: str, control, width: int = 6, label_id: str | None = None) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-0", **({"id": label_id} if label_id else {})), control],
                   width=width)


def _number(element_id: str, value=None, step="any", placeholder: str = "") -> dbc.Input:
    return dbc.Input(id=element_id, type="number", value=value, step=step, size="sm", placeholder=placeholder)


def launch_form() -> html.Div:
    first, last = data.date_bounds()
    sma = STRATEGIES["sma_cross"]
    axes = ((ids.FIRST_AXIS_LABEL, ids.FIRST_START, ids.FIRST_STOP, ids.FIRST_STEP),
            (ids.SECOND_AXIS_LABEL, ids.SECOND_START, ids.SECOND_STOP, ids.SECOND_STEP))
    axis = [dbc.Row([_field(p.label, html.Span(), 12, label_id=label),
                     _field("from", _number(start, p.sweep[0]), 4), _field("to", _number(stop, p.sweep[1]), 4),
                     _field("step", _number(step, p.sweep[2]), 4)], className="g-1 mb-1")
            for p, (label, start, stop, step) in zip(sma.params, axes)]
    return html.Div([
        dbc.RadioItems(id=ids.MODE, value="single", inline=True, className="mb-2",
                       options=[{"label": "Single run", "value": "single"}, {"label": "Parameter sweep",
                                                                             "value": "sweep"}]),
        dbc.Row([_field("Strategy", dbc.Select(id=ids.STRATEGY, value="sma_cross", size="sm", options=[
            {"label": s.label, "value": s.kind} for s in STRATEGIES.values()]), 12)], className="g-1"),
        html.Div(sma.describe, id=ids.STRATEGY_HELP, className="small text-body-secondary mb-2"),
        dbc.Row([_field("Symbols", dcc.Dropdown(id=ids.SYMBOLS, options=data.symbols(), value=["AAPL"], multi=True),
                        12)], className="g-1 mb-1"),
        dbc.Row([_field("Start", dbc.Input(id=ids.START, type="date", value="2013-01-02", min=str(first),
                                           max=str(last), size="sm")),
                 _field("End", dbc.Input(id=ids.END, type="date", value=str(last), min=str(first), max=str(last),
                                         size="sm"))], className="g-1 mb-1"),
        html.Div(dbc.Row([_field(sma.params[0].label, _number(ids.FIRST, 10), label_id=ids.FIRST_LABEL),
                          _field(sma.params[1].label, _number(ids.SECOND, 50), label_id=ids.SECOND_LABEL)],
                         className="g-1 mb-1"), id=ids.SINGLE_PARAMS),
        html.Div(axis, id=ids.SWEEP_PARAMS, style=HIDDEN),
        dbc.Row([_field("Commission / share", _number(ids.COMMISSION_SHARE, 0.0), 4),
                 _field("Commission bps", _number(ids.COMMISSION_BPS, 0.0), 4),
                 _field("Slippage bps", _number(ids.SLIPPAGE_BPS, 0.0), 4)], className="g-1 mb-1"),
        dbc.Row([_field("Capital", _number(ids.CAPITAL, 1_000_000), 4),
                 _field("Size (x equity)", _number(ids.POSITION_SIZE, 1.0), 4),
                 _field("Max position $", _number(ids.MAX_NOTIONAL, None, placeholder="no cap"), 4)],
                className="g-1 mb-1"),
        dbc.Row([_field("Fills", dbc.Select(id=ids.FILL, value="next_bar", size="sm", options=[
            {"label": "next bar (no look-ahead)", "value": "next_bar"},
            {"label": "same close (optimistic)", "value": "same_close"}]), 7),
                 dbc.Col(dbc.Switch(id=ids.ALLOW_SHORT, label="allow shorts", value=True), width=5,
                         className="pt-4")], className="g-1 mb-2"),
        dbc.Button("Launch backtest", id=ids.LAUNCH, color="primary", className="w-100"),
        html.Div(id=ids.MESSAGE, className="mt-2"),
    ], id="bt-form")


def runs_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=ids.RUNS, rowData=[], className="ag-theme-quartz",
        columnDefs=[column_def(f, header_name=h, width=w) for f, h, w in RUN_COLUMNS],
        defaultColDef={"sortable": True, "resizable": True, "minWidth": 80}, getRowId="params.data.id",
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "localeText": {"noRowsToShow": NO_RUNS}, "animateRows": False},
        style={"height": "420px", "width": "100%"})


def _grid(element_id: str, columns: list, height: int, empty: str) -> dag.AgGrid:
    return dag.AgGrid(id=element_id, columnDefs=columns, rowData=[], className="ag-theme-quartz",
                      defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 90},
                      dashGridOptions={"localeText": {"noRowsToShow": empty}, "animateRows": False},
                      style={"height": f"{height}px", "width": "100%"})


GRAPH_HEIGHT = 300  # px


def _graph(element_id: str, md: int = 6) -> dbc.Col:
    # A responsive graph takes its height from its container and ignores the figure's: with no
    # height on the container the plot collapsed to zero and the cards below slid over it.
    return dbc.Col(dcc.Graph(id=element_id, figure=figures.empty("", "No run selected"),
                             config={"displaylogo": False, "responsive": True},
                             style={"height": f"{GRAPH_HEIGHT}px", "minHeight": f"{GRAPH_HEIGHT}px"}),
                   md=md, className="bt-chart")


def _card(title: str, body, element_id: str | None = None, style=None) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mt-3", style=style,
                    **({"id": element_id} if element_id else {}))


def result_section() -> html.Div:
    return html.Div([
        _card("Result", [html.Div(id=ids.SUMMARY), html.Div(id=ids.METRICS),
                         dbc.Row([_graph(ids.EQUITY), _graph(ids.DRAWDOWN)], className="g-2")]),
        dbc.Row([
            dbc.Col(_card("Trades", [html.Div(id=ids.TRADES_NOTE, className="small mb-1"),
                                     _grid(ids.TRADES, TRADE_COLUMNS, 340, "No trades")]), lg=7),
            dbc.Col(_card("Monthly returns (%)", _grid(ids.MONTHLY, MONTHLY_COLUMNS, 340, "No months")), lg=5),
        ], className="g-3"),
        _card("Parameter sweep", [
            dbc.Row([_field("Heatmap of", dbc.Select(id=ids.HEATMAP_METRIC, value="sharpe", size="sm", options=[
                {"label": LABELS[m], "value": m} for m in HEATMAP_METRICS]), 3)], className="g-1 mb-2"),
            dcc.Graph(id=ids.HEATMAP, figure=figures.empty("Sweep", "Not a sweep"), config={"displaylogo": False}),
            _grid(ids.SWEEP_GRID, [], 320, "Not a sweep"),
        ], element_id=ids.SWEEP_TAB, style=HIDDEN),
        _card("Backtest vs live", [
            dbc.RadioItems(id=ids.LIVE_WINDOW, value=30, inline=True, className="mb-2",
                           options=[{"label": f"last {d} day{'s' if d > 1 else ''}", "value": d} for d in WINDOWS]),
            html.Div(id=ids.LIVE_NOTE),
            dcc.Graph(id=ids.LIVE, figure=figures.empty("Backtest vs live", "No run selected"),
                      config={"displaylogo": False}),
            dcc.Interval(id=ids.LIVE_INTERVAL, interval=LIVE_REFRESH_MS),
        ]),
    ], id=ids.RESULT, style=HIDDEN)


# --- what the callbacks fill in --------------------------------------------------------------


def form_for(kind: str) -> tuple:
    """Labels, default values and the description for a strategy's parameters."""
    sdef = STRATEGIES.get(kind) or STRATEGIES["sma_cross"]
    a, b = sdef.params
    return (a.label, b.label, a.kind(a.default), b.kind(b.default), a.label, b.label, *a.sweep, *b.sweep,
            sdef.describe)


def run_status(run: dict) -> html.Div:
    """The selected run's state, progress bar, message and error (a dict from service.run_detail)."""
    running = run["state"] == "running"
    parts = [
        html.Div([html.Span(run["job_type"], className="fw-semibold me-2"),
                  dbc.Badge(run["state"], color=STATE_COLOURS.get(run["state"], "secondary"), id="bt-state",
                            className="me-2"),
                  html.Small(f"id {run['id'][:8]} · by {run['created_by']} · created {run['created_at']} · "
                             f"finished {run['finished_at'] or '—'}", className="text-body-secondary")]),
        dbc.Progress(id=ids.PROGRESS, value=run["progress"], label=f"{run['progress']:.0f}%", striped=running,
                     animated=running, className="my-2"),
        html.Div(run["message"], className="small", id="bt-status-message"),
    ]
    if run["error"]:
        parts.append(dbc.Alert([html.Strong("The run failed: "), run["error"]], color="danger", className="mt-2 mb-0",
                               id="bt-error"))
    return html.Div(parts)


def _value(metric: str, value) -> str:
    if value is None:
        return "—"
    if metric in PERCENT:
        return f"{value * 100:,.2f}%"
    if metric in ("final_equity",):
        return f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def metrics_block(metrics: dict) -> dbc.Row:
    order = ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown", "win_rate",
             "profit_factor", "trades", "time_in_market", "final_equity")
    return dbc.Row([dbc.Col([html.Div(LABELS[m], className="small text-body-secondary"),
                             html.Div(_value(m, metrics.get(m)), className="fw-semibold", id=f"bt-metric-{m}")],
                            xs=6, md=3, xl=2, className="mb-2") for m in order], className="g-2 mb-2")


def summary_line(result: dict) -> html.Div:
    run = result["best_run"] if result["kind"] == "sweep" else result
    params = ", ".join(f"{k}={v}" for k, v in run["params"].items())
    text = f"{run['strategy_label']} ({params}) on {', '.join(run['symbols'])}, {run['start']} → {run['end']}"
    if result["kind"] == "sweep":
        text = (f"Sweep of {result['pairs']} parameter pairs ({result['backtests']:,} backtests in "
                f"{result['elapsed_s']:.2f} s, {result['backtests_per_s'] or 0:,.0f}/s). Best by "
                f"{LABELS[result['best_by']]}: {text}. The charts below show that best run.")
    return html.Div(text, className="mb-2", id="bt-summary-text")


def equity_figure(curve: dict) -> go.Figure:
    if not curve or not curve.get("dates"):
        return figures.empty("Equity", "No equity curve")
    figure = go.Figure(go.Scattergl(x=curve["dates"], y=curve["equity"], mode="lines", name="equity"))
    figure.update_layout(title="Equity", margin=figures.MARGIN, height=GRAPH_HEIGHT)
    return figure


def drawdown_figure(curve: dict) -> go.Figure:
    frame = pd.DataFrame({"ts": curve.get("dates") or [], "drawdown": curve.get("drawdown") or []})
    return figures.drawdown(frame.dropna())


def monthly_rows(monthly: dict) -> list[dict]:
    def pct(v):
        return None if v is None else round(v * 100, 2)

    return [{"year": y, **{m: pct(v) for m, v in zip(MONTHS, row)}, "total": pct(total)}
            for y, row, total in zip(monthly["years"], monthly["returns"], monthly["year"])]


def sweep_columns(result: dict) -> list[dict]:
    axes = [{"field": a, **NUM, "pinned": "left", "width": 100} for a in result["axes"]]
    return axes + [{"field": m, "headerName": LABELS[m], **NUM, "valueFormatter": FMT[0 if m == "trades" else 4],
                    **({"sort": "desc"} if m == result["best_by"] else {})}
                   for m in result["columns"] if m not in result["axes"]]


def sweep_rows(result: dict) -> list[dict]:
    table = result["table"]
    return [dict(zip(table, values)) for values in zip(*table.values())]


def heatmap_figure(result: dict | None, metric: str) -> go.Figure:
    if not result or result.get("kind") != "sweep":
        return figures.empty("Sweep heatmap", "Not a sweep: launch one with “Parameter sweep”")
    first, second = result["axes"]
    frame = pd.DataFrame(result["table"]).pivot_table(index=first, columns=second, values=metric, aggfunc="first")
    figure = figures.heatmap(frame, f"{LABELS[metric]} by {first} (rows) × {second} (columns)", "No values",
                             colorscale="RdYlGn", zmid=0.0 if metric in ("sharpe", "sortino", "cagr", "total_return",
                                                                          "calmar") else None)
    figure.update_layout(height=420, xaxis_title=second, yaxis_title=first)
    return figure


def live_parts(view: dict) -> tuple[go.Figure, html.Div]:
    """The comparison figure and the note under the window picker."""
    figure = go.Figure()
    for key, name in (("backtest", "backtest"), ("live", f"live {view.get('live_codes', '')}")):
        curve = view.get(key)
        if curve:
            figure.add_trace(go.Scattergl(x=curve["x"], y=curve["y"], mode="lines", name=name))
    if not figure.data:
        figure = figures.empty("Backtest vs live", "Nothing to compare")
    else:
        figure.update_layout(title=f"Normalised equity (1.0 at the start of each window), last {view['days']} days",
                             margin=figures.MARGIN, height=300, xaxis_title="days before the end of the window",
                             showlegend=True)
    if not view.get("available"):
        return figure, dbc.Alert(view["reason"], color="warning", className="py-2 mb-2", id="bt-live-none")
    curves = (("Backtest", view.get("backtest")), (f"Live {view['live_codes']}", view.get("live")))
    lines = [f"{name} {c['from']} → {c['to']} ({c['points']:,} points): {c['return'] * 100:+.2f}%, "
             f"max drawdown {c['max_drawdown'] * 100:.2f}%" for name, c in curves if c]
    return figure, html.Div([html.Div(line) for line in lines] + [html.Div(
        "The clocks differ: the backtest's window is its last days of daily closes; the live window is the "
        "engine's wall-clock P&L, trading simulated intraday prices on random picks. Compare shape and scale, "
        "not numbers.", className="text-body-secondary")], className="small mb-2", id="bt-live-stats")


def result_parts(result: dict) -> tuple:
    """Everything the result view shows for a finished run, in the order of show_result's outputs:
    section style, summary, metrics, equity, drawdown, trades, trades note, monthly, sweep card
    style, sweep rows, sweep columns. A sweep shows its best pair's run."""
    run = result["best_run"] if result["kind"] == "sweep" else result
    trades = run["trades"]
    note = (f"{trades['count']:,} trades" if trades["shown"] == trades["count"] else
            f"Showing the last {trades['shown']:,} of {trades['count']:,} trades")
    sweep = result["kind"] == "sweep"
    return (None, summary_line(result), metrics_block(run["metrics"]), equity_figure(run["equity"]),
            drawdown_figure(run["equity"]), trades["rows"], html.Span(note, id="bt-trades-count"),
            monthly_rows(run["monthly"]), None if sweep else HIDDEN, sweep_rows(result) if sweep else [],
            sweep_columns(result) if sweep else [])
