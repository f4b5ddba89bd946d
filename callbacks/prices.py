"""Prices page callbacks: instrument list, then one chart per instrument/interval/zoom window."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output, State, ctx, no_update

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import market_history, price_view
from dashapp.services.errors import ServiceError
from layouts import figures, price_figures
from layouts.ids_views import Prices as ids


def zoom_window(relayout: dict | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The x range of a zoom (relayoutData), or (None, None) for an autoscale / anything else."""
    relayout = relayout or {}
    left, right = relayout.get("xaxis.range[0]"), relayout.get("xaxis.range[1]")
    if left is None and isinstance(relayout.get("xaxis.range"), list):
        left, right = relayout["xaxis.range"]
    if left is None or right is None:
        return None, None
    return pd.Timestamp(left, tz="UTC"), pd.Timestamp(right, tz="UTC")


def register() -> None:
    @guarded_callback(Perm.VIEW_TRADING, Output(ids.INSTRUMENT, "options"), Output(ids.INSTRUMENT, "value"),
                      Input(ids.INSTRUMENT, "id"))
    def instruments(_):
        names = [row["symbol"] for row in market_history.instruments()]
        return names, (names[0] if names else None)

    @guarded_callback(Perm.VIEW_TRADING, Output(ids.CHART, "figure"), Output(ids.NOTE, "children"),
                      Input(ids.INSTRUMENT, "value"), Input(ids.INTERVAL, "value"),
                      Input(ids.CHART, "relayoutData"), State(ids.CHART, "figure"))
    def chart(symbol, interval, relayout, figure):
        zoomed = set(ctx.triggered_prop_ids.values()) == {ids.CHART}  # only the graph moved, not the pickers
        since, until = zoom_window(relayout) if zoomed else (None, None)
        # An autosize or a legend click fetches nothing, unless the chart is still blank: the graph's
        # first autosize supersedes the request the instrument picker started, so it must draw.
        if zoomed and since is None and "xaxis.autorange" not in (relayout or {}) and (figure or {}).get("data"):
            return no_update, no_update
        if not symbol:
            return figures.empty("Prices", "No instrument has quotes or bars yet: start the engine"), ""
        try:
            view = price_view.price_view(symbol, interval or "1h", since, until)
        except ServiceError as err:
            return figures.empty(symbol, err.message), err.message
        note = f"{len(view.bars):,} bars, {len(view.fills):,} of our fills in the window"
        return price_figures.price_chart(view.bars, view.fills, symbol, interval), note
