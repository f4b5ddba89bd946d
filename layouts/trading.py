"""Trading: the order blotter (server-side paging over every stored order), drill-down, positions,
signals and strategy allocation."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_defs
from layouts import desk
from layouts.common import empty_state, page_header
from layouts.ids import Trading as ids

NUM = {"filter": "agNumberColumnFilter", "type": "rightAligned"}
TEXT = {"filter": "agTextColumnFilter", "filterParams": {"filterOptions": ["equals", "contains", "startsWith"]}}
UNSORTED = {"sortable": False, "filter": False}  # computed in SQL per row: not a sort key of the page query

# Headers, units and formats come from the one column catalogue (dashapp/presentation/columns.py).
BLOTTER_COLUMNS = column_defs([
    ("id", {"width": 90}), "created_at", ("client_order_id", {"minWidth": 180, **TEXT}),
    ("status", {"width": 130, **TEXT}), ("side", {"width": 80, **TEXT}), ("instrument", {"minWidth": 170, **TEXT}),
    ("strategy", {"width": 110, **TEXT}), ("venue", {"width": 100, **TEXT}), "quantity", "limit_price",
    "filled_quantity", "avg_fill_price", ("slippage_bps", UNSORTED), ("latency_ms", UNSORTED),
    ("parent_id", {"width": 100}),
])
POSITION_FIELDS = ["strategy", "instrument", "quantity", "avg_cost", "last", "unrealized_pnl", "net_pnl"]
SIGNAL_FIELDS = ["ts", "strategy", "instrument", "direction", "confidence"]
CHILD_FIELDS = ["client_order_id", "venue", "status", "quantity", "filled_quantity", "avg_fill_price", "slippage_bps",
                "latency_ms"]
FILL_FIELDS = ["exec_id", "filled_at", "venue", "quantity", "price", "fee", "liquidity", "mid_at_fill"]
# Rows that change flash; the blotter keeps its rows still while the desk "freezes" it (desk.js).
FLASH = {"enableCellChangeFlash": True}


def blotter() -> dag.AgGrid:
    return dag.AgGrid(
        id=ids.BLOTTER, columnDefs=BLOTTER_COLUMNS, rowModelType="infinite", className="ag-theme-quartz",
        getRowId="rowKey(params.data)",
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 100, **FLASH},
        dashGridOptions={"cacheBlockSize": 100, "maxBlocksInCache": 20, "infiniteInitialRowCount": 100,
                         "animateRows": False, "suppressColumnVirtualisation": True,  # 15 columns: draw them all
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}},
        style={"height": "460px"},
    )


def small_grid(element_id: str, fields: list[str], height: int = 260, **grid) -> dag.AgGrid:
    return dag.AgGrid(id=element_id, columnDefs=column_defs(fields), rowData=[], **grid,
                      className="ag-theme-quartz",
                      defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 90, **FLASH},
                      dashGridOptions={"localeText": {"noRowsToShow": "Nothing yet"}}, style={"height": f"{height}px"})


def order_detail(detail: dict | None) -> html.Div:
    if not detail:
        return empty_state("Click an order to see its child orders, fills and events.", "tr-detail-empty")
    order = detail["order"]
    head = (f"{order['side'].upper()} {order['quantity']:g} {order['instrument']} · {order['status']} · "
            f"filled {order['filled_quantity']:g} · {order['strategy']}")
    events = [html.Li(f"{e['ts']} [{e['level']}] {e['kind']}: {e['message']}") for e in detail["events"]]
    return html.Div([
        html.H6(f"Order {order['client_order_id']}", id="tr-detail-title"), html.Div(head, className="small mb-1"),
        dcc.Link("Log lines naming this order", href=f"/operations/logs?order_id={order['client_order_id']}",
                 id="tr-detail-logs-link", className="small d-block mb-2"),
        html.Div("Child orders", className="small fw-semibold"),
        dag.AgGrid(id="tr-detail-children", rowData=detail["children"], className="ag-theme-quartz",
                   columnDefs=column_defs(CHILD_FIELDS),
                   defaultColDef={"flex": 1, "resizable": True}, style={"height": "170px"}),
        html.Div("Fills", className="small fw-semibold mt-2"),
        dag.AgGrid(id="tr-detail-fills", rowData=detail["fills"], className="ag-theme-quartz",
                   columnDefs=column_defs(FILL_FIELDS),
                   defaultColDef={"flex": 1, "resizable": True}, style={"height": "150px"}),
        html.Div("Events and risk-gate decisions", className="small fw-semibold mt-2"),
        html.Ul(events + [html.Li(f"{d['ts']} risk gate {d['decision']} {d['rule']} {d['reason']}")
                          for d in detail["risk_decisions"]] or [html.Li("none")], className="small"),
    ])


def layout(**_):
    return html.Div([
        page_header("Trading", "every order, fill and position, live"),
        dcc.Interval(id=ids.INTERVAL, interval=5000),
        html.Div(id=ids.REFRESH_SINK, style={"display": "none"}),
        dbc.Row([
            dbc.Col(dbc.Input(id=ids.SEARCH, placeholder="Quick search: order id prefix, symbol, strategy or status",
                              debounce=True, type="search"), md=6),
            dbc.Col(dbc.Switch(id=ids.PARENTS_ONLY, label="Parent orders only", value=False), md=3),
            dbc.Col(desk.freeze_switch("Freeze blotter"), md=3),
        ], className="mb-2"),
        html.Div(id=ids.BLOTTER_MESSAGE, className="small text-danger mb-1"),  # a refused grid request
        dbc.Row([dbc.Col(blotter(), md=8), dbc.Col(html.Div(order_detail(None), id=ids.DETAIL), md=4)],
                className="g-2 mb-3"),
        dbc.Row([
            dbc.Col([html.H6("Positions"),
                     small_grid(ids.POSITIONS, POSITION_FIELDS, getRowId="positionKey(params.data)")], md=6),
            dbc.Col([html.H6("Recent signals"), small_grid(ids.SIGNALS, SIGNAL_FIELDS)], md=4),
            dbc.Col(dcc.Graph(id=ids.ALLOCATION, config={"displaylogo": False}), md=2),
        ], className="g-2"),
    ])
