"""The stress-test part of the Risk War Room: run every scenario as a job, browse the results."""
from __future__ import annotations

import uuid

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_defs
from dashapp.security.permissions import Perm
from layouts.common import empty_state

RUN = "rk-stress-run"
RUNS = "rk-stress-runs"
PROGRESS = "rk-stress-progress"
MESSAGE = "rk-stress-message"
SCENARIOS = "rk-stress-scenarios"
POSITIONS = "rk-stress-positions"
BREAKDOWN = "rk-stress-breakdown"
POLL = "rk-stress-poll"
TOKEN = "rk-stress-token"
NOTE = "rk-stress-note"  # what a run with no scenarios found (e.g. no open positions)
LAUNCHED = "rk-stress-launched"  # the job this page launched, until its results are on show

SCENARIO_COLUMNS = column_defs([("name", {"minWidth": 220}), ("kind", {"width": 120}),
                                ("description", {"minWidth": 260}), "pnl", ("result", {"width": 100})])
POSITION_COLUMNS = column_defs(["strategy", ("symbol", {"minWidth": 170}), "sector", "quantity", "pnl"])


def section(perms) -> html.Div:
    launch = (dbc.Button("Run all stress scenarios", id=RUN, color="warning", size="sm", className="me-2")
              if Perm.JOBS_LAUNCH in perms else html.Span())
    return html.Div([
        html.H5("Stress tests", className="mt-3"),
        html.Div([launch, dbc.Select(id=RUNS, placeholder="results of a stress run", style={"maxWidth": "420px"},
                                     className="d-inline-block")], className="d-flex align-items-center mb-2"),
        dcc.Interval(id=POLL, interval=1500),
        dcc.Store(id=TOKEN, data=uuid.uuid4().hex),  # per page load: a retried click launches once
        dcc.Store(id=LAUNCHED),
        html.Div(id=PROGRESS), html.Div(id=MESSAGE), html.Div(id=NOTE, className="small text-warning-emphasis"),
        html.Div("Historical scenarios replay the S&P 500's worst days and windows in the stored history on today's "
                 "positions; hypothetical ones shock equity, rates, FX and volatility. Options are fully repriced. "
                 "FAIL = the scenario loss exceeds the daily-loss limit. Click a scenario for its positions.",
                 className="small text-body-secondary mb-1"),
        dag.AgGrid(id=SCENARIOS, columnDefs=SCENARIO_COLUMNS, rowData=[], className="ag-theme-quartz",
                   getRowId="params.data.name", defaultColDef={"resizable": True, "sortable": True},
                   style={"height": "320px"}),
        dbc.Row([dbc.Col(dag.AgGrid(id=POSITIONS, columnDefs=POSITION_COLUMNS, rowData=[],
                                    className="ag-theme-quartz", defaultColDef={"flex": 1, "resizable": True},
                                    style={"height": "260px"}), md=8),
                 dbc.Col(html.Div(empty_state("Pick a scenario."), id=BREAKDOWN), md=4)], className="g-2 mt-2"),
    ])


def breakdown(scenario: dict) -> html.Div:
    def table(title, values):
        rows = [html.Tr([html.Td(k), html.Td(f"{v:,.0f}", className="text-end")]) for k, v in values.items()]
        return html.Div([html.Div(title, className="small fw-semibold"),
                         dbc.Table(html.Tbody(rows), size="sm", className="mb-2")])
    return html.Div([html.H6(scenario["name"], id="rk-stress-picked"), table("By strategy", scenario["by_strategy"]),
                     table("By sector", scenario["by_sector"])])


def progress(job: dict | None) -> html.Div:
    if not job or job["state"] not in ("queued", "running"):
        return html.Div()
    return dbc.Progress(value=job["progress"], label=f"{job['progress']:.0f}% {job['message']}", striped=True,
                        animated=True, className="mb-2", id="rk-stress-bar")
