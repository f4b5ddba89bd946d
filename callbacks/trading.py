"""Trading page callbacks: pages of the blotter on demand, drill-down, and the side panels."""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback, no_update

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import blotter, desk, grid_requests, snapshots
from dashapp.services.errors import ServiceError
from layouts import figures
from layouts.ids import Shell
from layouts.ids import Trading as ids
from layouts.trading import order_detail


def register() -> None:
    @guarded_callback(Perm.VIEW_TRADING, Output(ids.BLOTTER, "getRowsResponse"),
                      Output(ids.BLOTTER_MESSAGE, "children"), Input(ids.BLOTTER, "getRowsRequest"),
                      State(ids.SEARCH, "value"), State(ids.PARENTS_ONLY, "value"), prevent_initial_call=True)
    def blotter_rows(request, search, parents_only):
        if not request:
            return no_update, no_update
        try:
            rows = grid_requests.parse_rows_request(request, blotter.COLUMNS)
            page = blotter.query_orders(rows.start, rows.end, rows.sort_model, rows.filter_model,
                                        search if isinstance(search, str) else "", parents_only is True)
        except ServiceError as err:  # a crafted or unsupported request: say so above the grid
            return {"rowData": [], "rowCount": 0}, err.message
        return {"rowData": page.rows, "rowCount": page.last_row}, ""

    # New search text, the parents switch or pushed order events: ask the grid to fetch again.
    clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="refreshBlotter"),
        Output(ids.REFRESH_SINK, "children"),
        Input(ids.SEARCH, "value"), Input(ids.PARENTS_ONLY, "value"), Input(Shell.LIVE_EVENTS, "data"),
        State(ids.BLOTTER, "id"), prevent_initial_call=True,
    )

    @guarded_callback(Perm.VIEW_TRADING, Output(ids.DETAIL, "children"), Input(ids.BLOTTER, "selectedRows"),
                      prevent_initial_call=True)
    def drill_down(rows):
        if not rows:
            return no_update
        try:
            return order_detail(blotter.order_detail(int(rows[0]["id"])))
        except (ServiceError, ValueError, KeyError, TypeError):
            return order_detail(None)

    @guarded_callback(Perm.VIEW_TRADING, Output(ids.POSITIONS, "rowData"), Output(ids.SIGNALS, "rowData"),
                      Output(ids.ALLOCATION, "figure"), Input(ids.INTERVAL, "n_intervals"))
    def side_panels(_n):
        return snapshots.shared("trading.panels", build_panels, PANELS_PERIOD)


PANELS_PERIOD = 2.0  # seconds; the side panels are rebuilt once per period for every session together


def build_panels() -> tuple:
    """The side panels' whole computation, shared by every session (services.snapshots)."""
    positions = desk.open_positions()
    live = positions[positions["quantity"] != 0] if not positions.empty else positions
    return live.round(4).to_dict("records"), desk.recent_signals(), figures.allocation(desk.strategy_allocation())
