"""The auto-refresh choice and the global time range: the navbar controls and which intervals of
each page a refresh choice drives. The choice is applied in the browser (dashapp/assets/refresh.js
sets each listed dcc.Interval's `interval` / `disabled`), remembered per user by
dashapp.services.preferences."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashapp.services.preferences import (DEFAULT_REFRESH, DEFAULT_TIME_RANGE, REFRESH_LABELS, TIME_RANGE_LABELS)
from layouts import ids
from layouts.alerts_ids import AlertsPage

# path -> (page key, [(interval id, the page's own cadence in ms)]). Only the intervals that keep a
# view current are listed; progress polls of a job the user launched keep their pace.
PAGE_INTERVALS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "/": ("command_center", [(ids.CommandCenter.INTERVAL, 3000)]),
    "/trading": ("trading", [(ids.Trading.INTERVAL, 5000)]),
    "/risk": ("risk", [(ids.Risk.INTERVAL, 5000)]),
    "/jobs": ("jobs", [(ids.Jobs.INTERVAL, 2000)]),
    "/reports": ("reports", [(ids.Reports.INTERVAL, 5000)]),
    "/exports": ("exports", [(ids.Exports.INTERVAL, 2000)]),
    "/backtests": ("backtests", [(ids.Backtests.LIVE_INTERVAL, 15000)]),
    "/alerts": ("alerts", [(AlertsPage.INTERVAL, 5000)]),
    "/operations": ("operations", [("ops-interval", 5000)]),  # layouts/operations_ids.Ops.INTERVAL
}


def interval_map() -> dict:
    """What refresh.js needs, as JSON: path -> {"page": key, "intervals": [[id, base ms], ...]}."""
    return {path: {"page": page, "intervals": [list(i) for i in intervals]}
            for path, (page, intervals) in PAGE_INTERVALS.items()}


def page_key(path: str | None) -> str | None:
    entry = PAGE_INTERVALS.get(path or "")
    return entry[0] if entry else None


def controls(refresh_id: str, range_id: str, time_range: str | None, now_id: str | None = None) -> html.Div:
    """The navbar's view controls: this page's auto-refresh, a refresh-now button, the time range of history."""
    # Glyphs the desk fonts (DejaVu/Liberation) have: "⏱" drew a missing-glyph box.
    refresh = dbc.Select(id=refresh_id, value=DEFAULT_REFRESH, size="sm", style={"width": "5.6rem"},
                         options=[{"label": f"↻ {label}", "value": value} for value, label in REFRESH_LABELS.items()])
    window = dbc.Select(id=range_id, value=time_range or DEFAULT_TIME_RANGE, size="sm", style={"width": "6.6rem"},
                        options=[{"label": f"Last {label}", "value": value}
                                 for value, label in TIME_RANGE_LABELS.items()])
    # With "Off" (or a slow cadence) this is how the page is brought up to date.
    now = ([dbc.Button("↻", id=now_id, size="sm", color="secondary", outline=True, className="me-1 py-0 px-2",
                       title="Refresh this page now")] if now_id else [])
    return html.Div([html.Div(refresh, title="Auto-refresh of this page (remembered per page for you)",
                              className="me-1"), *now,
                     html.Div(window, title="Time range of the charts that show history", className="me-2")],
                    className="d-flex align-items-center", id="shell-view-controls")
