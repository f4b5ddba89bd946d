"""The Alerts page: Inbox, History, Incidents, Rules and Notifications tabs. Pure layout; data and
actions arrive through callbacks/alerts*.py. Every role sees the inbox, the history, incidents and the
notification log; the action bars are drawn only for ALERTS_ACT, the rule and notification editors only
for ALERT_RULES_EDIT (silences for ALERTS_ACT), and every action callback refuses the others on the server."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.alerts_editors import notifications_tab, rules_tab
from layouts.alerts_ids import AlertsPage as A
from layouts.alerts_parts import history_tab, inbox_tab, incidents_tab
from layouts.common import page_header

REFRESH_MS = 5000


def layout(perms=frozenset(), **_):
    from dashapp.security.permissions import Perm

    return alerts_page(Perm.ALERTS_ACT in perms, Perm.ALERT_RULES_EDIT in perms, _usernames())


def _usernames() -> list[str]:
    from dashapp.services import users

    return [u.username for u in users.list_users() if u.active]


def alerts_page(can_act: bool, can_edit: bool, usernames: list[str]) -> html.Div:
    return html.Div([
        page_header("Alerts", "what is wrong now, who owns it, and what happened: inbox, history, incidents, "
                              "rules and notifications"),
        dcc.Interval(id=A.INTERVAL, interval=REFRESH_MS),
        dcc.Store(id=A.CHANGED),
        dbc.Tabs([
            dbc.Tab(inbox_tab(can_act, usernames), label="Inbox", tab_id="inbox", id="al-tab-inbox"),
            dbc.Tab(history_tab(), label="History", tab_id="history", id="al-tab-history"),
            dbc.Tab(incidents_tab(can_act, usernames), label="Incidents", tab_id="incidents", id="al-tab-incidents"),
            dbc.Tab(rules_tab(can_edit), label="Rules", tab_id="rules", id="al-tab-rules"),
            dbc.Tab(notifications_tab(can_edit, can_act), label="Notifications", tab_id="notifications",
                    id="al-tab-notifications"),
        ], id=A.TABS, active_tab="inbox", className="mb-3"),
    ], id="page-alerts")
