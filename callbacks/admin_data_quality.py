"""Admin page, "Data quality" section: one check per click (it reads every table, so it does not
run on a timer), admins only."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import data_quality
from layouts.admin_data_quality import DataQualityIds as ids


def summary(report: data_quality.Report) -> dbc.Alert:
    when = f"checked {report.checked_at:%Y-%m-%d %H:%M:%S} UTC, {report.rules_checked} rules"
    if report.clean:
        return dbc.Alert(f"No stored row is outside the bounds ({when}).", color="success", className="py-1 mb-0",
                         id="admin-dq-clean")
    return dbc.Alert(f"{len(report.findings)} rules found rows outside the bounds ({when}).", color="warning",
                     className="py-1 mb-0", id="admin-dq-findings")


def register() -> None:
    @guarded_callback(Perm.VIEW_ADMIN, Output(ids.SUMMARY, "children"), Output(ids.GRID, "rowData"),
                      Input(ids.RUN, "n_clicks"), prevent_initial_call=True)
    def run_check(_n):
        report = data_quality.check()
        return summary(report), report.rows()
