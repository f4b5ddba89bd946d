"""Command Center: the engine, the kill switch, risk state, P&L, exposure, flow and infra health."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_defs
from dashapp.security.permissions import Perm
from layouts.common import page_header
from layouts.ids import CommandCenter as ids
from layouts.regime import panel as regime_panel

POSITION_COLUMNS = column_defs([("strategy", {"width": 90}), ("instrument", {"minWidth": 170}), "sector",
                                "quantity", "avg_cost", "last", "unrealized_pnl", "net_pnl"])
BLOCK_COLUMNS = column_defs(["ts", "decision", "rule", "strategy", "instrument", "reason"])


def _status_card(element_id: str, title: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([html.Div(title, className="small text-body-secondary"),
                                          html.Div("…", id=element_id)])), md=3)


ACTIONS = {  # action -> (label, colour, permission that shows the button)
    "start": ("Start", "success", Perm.ENGINE_CONTROL),
    "stop": ("Stop", "warning", Perm.ENGINE_CONTROL),
    "restart": ("Restart", "secondary", Perm.ENGINE_CONTROL),
    "kill": ("Kill switch", "danger", Perm.KILL_SWITCH_ACTIVATE),
    "request_reset": ("Request reset", "outline-danger", Perm.KILL_SWITCH_REQUEST_RESET),
    "approve_reset": ("Approve reset", "outline-success", Perm.KILL_SWITCH_APPROVE_RESET),
    "mode_paper": ("Mode: PAPER", "outline-secondary", Perm.TRADING_MODE_SET),
    "mode_live": ("Mode: LIVE", "outline-danger", Perm.TRADING_MODE_SET),
}


def action_button_id(action: str) -> dict:
    return {"type": ids.ACTION, "action": action}


def _controls(perms) -> dbc.Card:
    buttons = [dbc.Button(label, id=action_button_id(action), color=colour, size="sm", className="me-1 mb-1")
               for action, (label, colour, perm) in ACTIONS.items() if perm in perms]
    if not buttons:
        return dbc.Card(dbc.CardBody("Your role watches; it does not steer engines.", className="small"),
                        id="cc-no-controls")
    return dbc.Card(dbc.CardBody([html.Div(buttons, id="cc-controls"), html.Div(id=ids.MESSAGE, className="mt-2")]))


def _modal() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(id=ids.MODAL_TITLE)),
        dbc.ModalBody([dbc.Label("Reason (required, kept in the audit trail)", html_for=ids.REASON),
                       dbc.Textarea(id=ids.REASON, placeholder="why, in a sentence", rows=2)]),
        dbc.ModalFooter([dbc.Button("Cancel", id=ids.CANCEL, color="secondary"),
                         dbc.Button("Confirm", id=ids.CONFIRM, color="danger")]),
    ], id=ids.MODAL, is_open=False)


def _graph(element_id: str, md: int = 4) -> dbc.Col:
    return dbc.Col(dcc.Graph(id=element_id, config={"displaylogo": False}), md=md)


def _grid(element_id: str, columns: list, height: int = 300) -> dag.AgGrid:
    return dag.AgGrid(id=element_id, columnDefs=columns, rowData=[], className="ag-theme-quartz",
                      defaultColDef={"sortable": True, "resizable": True, "filter": True, "flex": 1,
                                     "enableCellChangeFlash": True},
                      dashGridOptions={"localeText": {"noRowsToShow": "Nothing yet"}, "animateRows": False},
                      style={"height": f"{height}px"})


def layout(perms=frozenset(), **_):
    return html.Div([
        page_header("Command Center", "what the engines are doing, live"),
        dcc.Interval(id=ids.INTERVAL, interval=3000),
        dcc.Store(id=ids.PENDING),
        _modal(),
        dbc.Row([_status_card(ids.ENGINE, "Engine"), _status_card(ids.KILL, "Kill switch"),
                 _status_card(ids.RISK, "Risk state"), dbc.Col(_controls(perms), md=3)], className="g-2 mb-2"),
        dbc.Row([_graph(ids.EQUITY, 6), _graph(ids.DRAWDOWN, 3), _graph(ids.DAILY_PNL, 3)], className="g-2"),
        dbc.Row([_graph(ids.VENUE), _graph(ids.SECTOR), _graph(ids.THROUGHPUT)], className="g-2"),
        regime_panel(),
        dbc.Row([dbc.Col([html.H6("Open positions"), _grid(ids.POSITIONS, POSITION_COLUMNS)], md=8),
                 dbc.Col([html.H6("Latest risk-gate blocks"), _grid(ids.BLOCKS, BLOCK_COLUMNS)], md=4)],
                className="g-2 mb-2"),
        html.H6("Infrastructure"),
        html.Div(id=ids.TILES),
    ])
