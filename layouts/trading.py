"""Trading: the order blotter (server-side paging over every stored order), drill-down, positions,
signals and strategy allocation."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.common import empty_state, page_header
from layouts.ids import Trading as ids

NUM = {"filter": "agNumberColumnFilter", "type": "rightAligned"}
TEXT = {"filter": "agTextColumnFilter", "filterParams": {"filterOptions": ["equals", "contains", "startsWith"]}}
FMT2 = {"function": "num2(params.value)"}

BLOTTER_COLUMNS = [
    {"field": "id", "headerName": "#", "width": 90, **NUM},
    {"field": "created_at", "headerName": "Created (UTC)", "minWidth": 200, "filter": False},
    {"field": "client_order_id", "headerName": "Order id", "minWidth": 180, **TEXT},
    {"field": "status", **TEXT}, {"field": "side", "width": 90, **TEXT},
    {"field": "instrument", "minWidth": 170, **TEXT}, {"field": "strategy", "width": 110, **TEXT},
    {"field": "venue", "width": 100, **TEXT},
    {"field": "quantity", **NUM}, {"field": "filled_quantity", "headerName": "Filled", **NUM},
    {"field": "avg_fill_price", "headerName": "Avg price", **NUM, "valueFormatter": FMT2},
    {"field": "slippage_bps", "headerName": "Slippage bps", "sortable": False, "filter": False,
     "type": "rightAligned", "valueFormatter": FMT2},
    {"field": "latency_ms", "headerName": "Latency ms", "sortable": False, "filter": False, "type": "rightAligned",
     "valueFormatter": FMT2},
    {"field": "parent_id", "headerName": "Parent", "width": 100, **NUM},
]


def blotter() -> dag.AgGrid:
    return dag.AgGrid(
        id=ids.BLOTTER, columnDefs=BLOTTER_COLUMNS, rowModelType="infinite", className="ag-theme-quartz",
        getRowId="rowKey(params.data)",
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 100},
        dashGridOptions={"cacheBlockSize": 100, "maxBlocksInCache": 20, "infiniteInitialRowCount": 100,
                         "animateRows": False,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}},
        style={"height": "460px"},
    )


def small_grid(element_id: str, fields: list[str], height: int = 260) -> dag.AgGrid:
    return dag.AgGrid(id=element_id, columnDefs=[{"field": f} for f in fields], rowData=[],
                      className="ag-theme-quartz", defaultColDef={"sortable": True, "resizable": True, "flex": 1},
                      dashGridOptions={"localeText": {"noRowsToShow": "Nothing yet"}}, style={"height": f"{height}px"})


def order_detail(detail: dict | None) -> html.Div:
    if not detail:
        return empty_state("Click an order to see its child orders, fills and events.", "tr-detail-empty")
    order = detail["order"]
    head = (f"{order['side'].upper()} {order['quantity']:g} {order['instrument']} · {order['status']} · "
            f"filled {order['filled_quantity']:g} · {order['strategy']}")
    events = [html.Li(f"{e['ts']} [{e['level']}] {e['kind']}: {e['message']}") for e in detail["events"]]
    return html.Div([
        html.H6(f"Order {order['client_order_id']}", id="tr-detail-title"), html.Div(head, className="small mb-2"),
        html.Div("Child orders", className="small fw-semibold"),
        dag.AgGrid(id="tr-detail-children", rowData=detail["children"], className="ag-theme-quartz",
                   columnDefs=[{"field": f} for f in ("client_order_id", "venue", "status", "quantity",
                                                      "filled_quantity", "avg_fill_price", "slippage_bps",
                                                      "latency_ms")],
                   defaultColDef={"flex": 1, "resizable": True}, style={"height": "170px"}),
        html.Div("Fills", className="small fw-semibold mt-2"),
        dag.AgGrid(id="tr-detail-fills", rowData=detail["fills"], className="ag-theme-quartz",
                   columnDefs=[{"field": f} for f in ("exec_id", "filled_at", "venue", "quantity", "price", "fee",
                                                      "liquidity", "mid_at_fill")],
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
        ], className="mb-2"),
        html.Div(id=ids.BLOTTER_MESSAGE, className="small text-danger mb-1"),  # a refused grid request
        dbc.Row([dbc.Col(blotter(), md=8), dbc.Col(html.Div(order_detail(None), id=ids.DETAIL), md=4)],
                className="g-2 mb-3"),
        dbc.Row([
            dbc.Col([html.H6("Positions"), small_grid(ids.POSITIONS, ["strategy", "instrument", "quantity", "avg_cost",
                                                                      "last", "unrealized_pnl", "net_pnl"])], md=6),
            dbc.Col([html.H6("Recent signals"), small_grid(ids.SIGNALS, ["ts", "strategy", "instrument", "direction",
                                                                         "confidence"])], md=4),
            dbc.Col(dcc.Graph(id=ids.ALLOCATION, config={"displaylogo": False}), md=2),
        ], className="g-2"),
    ])
