"""The small navigation shared by the Operations pages (Health, Logs, Runbooks), rendered at the top of each.

Pure layout: the pages themselves are guarded by VIEW_OPERATIONS in `dashapp/pages.py`.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc

OPERATIONS_LINKS: tuple[tuple[str, str, str], ...] = (
    ("health", "Health", "/operations"),
    ("logs", "Logs", "/operations/logs"),
    ("runbooks", "Runbooks", "/operations/runbooks"),
)


def operations_nav(active: str) -> dbc.Nav:
    """Tabs-like pills; `active` is one of "health", "logs", "runbooks" (anything else: none active)."""
    items = [dbc.NavItem(dbc.NavLink(label, href=href, active=(key == active), id=f"ops-nav-{key}"))
             for key, label, href in OPERATIONS_LINKS]
    return dbc.Nav(items, pills=True, className="mb-3 ops-nav", id="ops-nav")
