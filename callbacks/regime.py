"""The Command Center's regime panel: equity + market-regime bands, once on load and every minute."""
from __future__ import annotations

from datetime import timedelta

from dash import Input, Output

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import desk, price_view
from layouts import price_figures
from layouts.ids_views import Regime as ids
from models import utcnow

DAYS = 7


def register() -> None:
    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(ids.CHART, "figure"), Input(ids.TICK, "n_intervals"))
    def regime(_n):
        curve = desk.equity_curve(DAYS)
        now = utcnow()
        since = curve["ts"].min() if not curve.empty else now - timedelta(days=DAYS)
        bands = price_view.regime_bands(price_view.REGIME_PROXY, since=since, until=now)
        return price_figures.regime_equity(curve, bands, price_view.REGIME_PROXY)
