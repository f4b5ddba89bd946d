"""Every page of the product: its path, title, the permission that opens it, and its layout.

The navbar shows the pages a role may open; `register_pages` wraps each layout so a role that may
not open a page gets the refusal content even when it types the URL.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import dash
from flask_login import current_user

from dashapp.security.guards import allowed
from dashapp.security.permissions import MATRIX, Perm, roles_with
from layouts import admin, audit, command_center, coming_soon, execution, jobs, risk, trading
from layouts.common import forbidden
from layouts import reports as reports_page
from layouts import exports as exports_page
from layouts import backtests as backtests_page
from layouts import models as models_page
from layouts import desk_views, prices
from layouts import alerts as alerts_page
from layouts import operations_logs, operations_runbooks
from layouts import operations as operations_page
from layouts import account as account_page, approvals as approvals_page, security as security_page
from layouts import compliance as compliance_page


@dataclass(frozen=True)
class PageSpec:
    key: str
    path: str
    title: str
    perm: Perm
    layout: Callable
    in_nav: bool = True  # False: reached from its section's own navigation (Operations' Logs, Runbooks)


def _coming(title: str, what: str, issue: str) -> Callable:
    return lambda **_: coming_soon.layout(title, what, issue)


PAGES: list[PageSpec] = [
    PageSpec("command_center", "/", "Command Center", Perm.VIEW_COMMAND_CENTER, command_center.layout),
    PageSpec("trading", "/trading", "Trading", Perm.VIEW_TRADING, trading.layout),
    PageSpec("execution", "/execution", "Execution", Perm.VIEW_TRADING, execution.layout),
    PageSpec("risk", "/risk", "Risk", Perm.VIEW_RISK, risk.layout),
    PageSpec("prices", "/prices", "Prices", Perm.VIEW_TRADING, prices.layout),
    PageSpec("routing", "/routing", "Routing", Perm.VIEW_TRADING, desk_views.routing_layout),
    PageSpec("risk_gate", "/risk-gate", "Risk gate", Perm.VIEW_RISK, desk_views.gate_layout),
    PageSpec("options", "/options", "Options", Perm.VIEW_RISK, desk_views.options_layout),
    PageSpec("jobs", "/jobs", "Jobs", Perm.VIEW_JOBS, jobs.layout),
    PageSpec("backtests", "/backtests", "Backtests", Perm.VIEW_JOBS, backtests_page.layout),
    PageSpec("exports", "/exports", "Exports", Perm.EXPORTS_DOWNLOAD, exports_page.layout),
    PageSpec("models", "/models", "Models", Perm.VIEW_MODELS, models_page.layout),
    PageSpec("operations", "/operations", "Operations", Perm.VIEW_OPERATIONS, operations_page.layout),
    PageSpec("operations_logs", "/operations/logs", "Logs", Perm.VIEW_OPERATIONS, operations_logs.layout, in_nav=False),
    PageSpec("operations_runbooks", "/operations/runbooks", "Runbooks", Perm.VIEW_OPERATIONS,
             operations_runbooks.layout, in_nav=False),
    PageSpec("alerts", "/alerts", "Alerts", Perm.VIEW_ALERTS, alerts_page.layout),
    PageSpec("reports", "/reports", "Reports", Perm.VIEW_REPORTS, reports_page.layout),
    PageSpec("audit", "/audit", "Audit", Perm.VIEW_AUDIT, audit.layout),
    PageSpec("admin", "/admin", "Admin", Perm.VIEW_ADMIN, admin.layout),
    PageSpec("approvals", "/approvals", "Approvals", Perm.VIEW_COMMAND_CENTER, approvals_page.layout),
    PageSpec("security", "/security", "Security", Perm.COMPLIANCE_VIEW, security_page.layout),
    PageSpec("compliance", "/compliance", "Compliance", Perm.COMPLIANCE_VIEW, compliance_page.layout),
    PageSpec("account", "/account", "Account", Perm.EDIT_OWN_PREFERENCES, account_page.layout),
]


def visible_pages() -> list[PageSpec]:
    return [page for page in PAGES if page.in_nav and allowed(page.perm)]


def _guarded(page: PageSpec) -> Callable:
    def layout(**kwargs):
        if not current_user.is_authenticated or not allowed(page.perm):
            return forbidden(page.title, roles_with(page.perm))
        # The layout may hide what the role cannot do (the server refuses it anyway).
        return page.layout(**{**kwargs, "perms": MATRIX[current_user.role_name]})

    return layout


def register_pages() -> None:
    for page in PAGES:
        dash.register_page(page.key, path=page.path, name=page.title, title=f"{page.title} · Cockpit",
                           layout=_guarded(page))
    dash.register_page("not_found_404", path="/404", title="Not found · Cockpit",
                       layout=lambda **_: forbidden("Not found", [], not_found=True))
