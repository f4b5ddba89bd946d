"""The Alerts page's Inbox, History and Incidents tabs (pure layout), and the small pieces the other
tabs share: grids with catalogue headers, notices, labelled fields."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.alerts_ids import AlertsPage as A

STATES = ("pending", "firing", "recovering", "nodata", "error", "normal")
OPEN_STATES = ["pending", "firing", "recovering", "nodata", "error"]
SEVERITIES = ("critical", "high", "warning", "info")
EVENT_KINDS = ("pending", "firing", "recovering", "normal", "nodata", "error", "ack", "unack", "assign", "snooze",
               "silence", "resolve", "note", "escalate")
ACK_FOR = [("0", "until resolved"), ("15", "15 min"), ("60", "1 hour"), ("240", "4 hours"), ("1440", "1 day")]
SNOOZE_FOR = [("30", "30 min"), ("60", "1 hour"), ("240", "4 hours"), ("1440", "1 day"), ("10080", "7 days")]
# (field, catalogue field for the header and format, min width, extras)
INBOX_COLUMNS = [("severity", "severity", 105, {}), ("state", "alert_state", 110, {}), ("rule", "rule", 170, {}),
                 ("labels", "alert_labels", 220, {"tooltipField": "labels"}), ("value", "alert_value", 95, {}),
                 ("since", "since", 165, {}), ("owner", "owner", 105, {}), ("ack", "ack", 215, {}),
                 ("summary", "summary", 240, {"tooltipField": "summary"}), ("group", "group", 140, {"hide": True})]
HISTORY_COLUMNS = [("at", "event_at", 165, {}), ("kind", "kind", 95, {}), ("rule", "rule", 160, {}),
                   ("labels", "alert_labels", 200, {"tooltipField": "labels"}), ("from_state", "from_state", 95, {}),
                   ("to_state", "to_state", 95, {}), ("value", "alert_value", 90, {}), ("actor", "actor", 100, {}),
                   ("note", "note", 220, {"tooltipField": "note"}), ("alert_id", "alert_id", 80, {})]
INCIDENT_COLUMNS = [("id", "id", 60, {}), ("title", "incident_title", 260, {"tooltipField": "title"}),
                    ("severity", "severity", 105, {}), ("state", "alert_state", 110, {}),
                    ("commander", "commander", 120, {}), ("alerts", "alerts", 80, {}),
                    ("created_at", "created_at", 165, {}), ("created_by", "created_by", 110, {})]
TIMELINE_COLUMNS = [("at", "event_at", 165, {}), ("source", "timeline_source", 100, {}), ("kind", "kind", 110, {}),
                    ("text", "timeline_text", 420, {"tooltipField": "text", "wrapText": True, "autoHeight": True}),
                    ("actor", "actor", 110, {})]
NO_ALERTS = "No open alerts match: all quiet."
NO_HISTORY = "No alert history in this window."
NO_INCIDENTS = "No incidents yet. Select alerts in the inbox and open one, or open an empty one here."
NO_TIMELINE = "Select an incident to see its timeline."


def grid(grid_id: str, columns, empty_text: str, height: int, multi: bool = False, **options) -> dag.AgGrid:
    defs = []
    for field, catalogue_field, width, extra in columns:
        col = column_def(catalogue_field, minWidth=width, flex=width, **extra)
        col["field"] = field
        defs.append(col)
    mode = "multiRow" if multi else "singleRow"
    selection = {"mode": mode, "checkboxes": multi, "headerCheckbox": multi, "enableClickSelection": True}
    return dag.AgGrid(
        id=grid_id, columnDefs=defs, rowData=[], getRowId="params.data.id",
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        dashGridOptions={"rowSelection": selection, "localeText": {"noRowsToShow": empty_text}, "animateRows": False,
                         "tooltipShowDelay": 300, **options},
        style={"height": f"{height}px", "width": "100%"})


def field(label: str, control, help_text: str = "", md: int | None = None, class_name: str = "mb-2"):
    parts = [dbc.Label(label, html_for=getattr(control, "id", None), className="small mb-1"), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    body = html.Div(parts, className=class_name)
    return dbc.Col(body, md=md) if md else body


def notice(text: str, ok: bool = True, element_id: str | None = None) -> dbc.Alert:
    props = {"id": element_id} if element_id else {}
    if ok:
        return dbc.Alert(text, color="success", dismissable=True, className="mb-2 py-2 small", **props)
    return dbc.Alert([html.Strong("Not done: "), text], color="danger", dismissable=True, className="mb-2 py-2 small",
                     **props)


def _options(values) -> list[dict]:
    return [{"label": v, "value": v} for v in values]


def filters() -> dbc.Row:
    return dbc.Row([
        field("State", dbc.Checklist(id=A.STATES, options=_options(STATES), value=OPEN_STATES, inline=True,
                                     className="small"), md=5),
        field("Severity (none ticked = any)", dbc.Checklist(id=A.SEVERITIES, options=_options(SEVERITIES), value=[],
                                                            inline=True, className="small"), md=4),
        field("Owner", dbc.Input(id=A.OWNER, placeholder="user, or - = nobody", debounce=True, size="sm",
                                 autoComplete="off", maxLength=64), md=3),
        field("Acknowledged", dbc.Select(id=A.ACKED, value="any", size="sm", options=[
            {"label": "either", "value": "any"}, {"label": "not acknowledged", "value": "false"},
            {"label": "acknowledged", "value": "true"}]), md=2),
        field("Labels", dbc.Input(id=A.LABELS, placeholder="team=risk, venue=~X.*", debounce=True, size="sm",
                                  autoComplete="off", maxLength=1000), md=3),
        field("Text", dbc.Input(id=A.TEXT, placeholder="rule, summary, label", debounce=True, autoComplete="off",
                                size="sm", maxLength=200), md=3),
        field("Group by", dcc.Dropdown(id=A.GROUP_BY, options=_options(["severity", "state", "rule", "owner"]),
                                       multi=True, placeholder="no grouping", className="small"), md=4),
    ], className="g-2")


def action_bar(usernames: list[str]) -> dbc.Card:
    users = [{"label": u, "value": u} for u in usernames]
    button = dict(size="sm", outline=True, className="me-1")
    return dbc.Card(dbc.CardBody([
        html.Div("Acts on the selected rows.", className="small text-body-secondary mb-1"),
        dbc.Row([
            dbc.Col(dbc.InputGroup([
                dbc.Select(id=A.ACK_FOR, value="0", size="sm", options=[{"label": f"ack {t}", "value": v}
                                                                       for v, t in ACK_FOR]),
                dbc.Button("Acknowledge", id=A.ACK, color="primary", size="sm")], size="sm"), md=3),
            dbc.Col(dbc.InputGroup([
                dbc.Select(id=A.ASSIGNEE, options=users, placeholder="assign to", size="sm"),
                dbc.Button("Assign", id=A.ASSIGN, color="secondary", size="sm")], size="sm"), md=3),
            dbc.Col(dbc.InputGroup([
                dbc.Select(id=A.SNOOZE_FOR, value="60", size="sm", options=[{"label": f"snooze {t}", "value": v}
                                                                            for v, t in SNOOZE_FOR]),
                dbc.Button("Snooze", id=A.SNOOZE, color="secondary", size="sm")], size="sm"), md=3),
            dbc.Col([dbc.Button("Silence until resolved", id=A.SILENCE, color="warning", **button),
                     dbc.Button("Unack", id=A.UNACK, color="secondary", **button)], md=3),
        ], className="g-2 mb-2"),
        dbc.Row([
            dbc.Col(dbc.InputGroup([
                dbc.Input(id=A.NOTE, placeholder="note (required to resolve)", maxLength=500, size="sm",
                          autoComplete="off"),
                dbc.Button("Resolve", id=A.RESOLVE, color="success", size="sm"),
                dbc.Button("Add note", id=A.ADD_NOTE, color="secondary", outline=True, size="sm")], size="sm"), md=5),
            dbc.Col(dbc.InputGroup([
                dbc.Input(id=A.INCIDENT_TITLE, placeholder="new incident title", maxLength=200, size="sm",
                          autoComplete="off"),
                dbc.Button("Open incident", id=A.CREATE_INCIDENT, color="danger", outline=True, size="sm")],
                size="sm"), md=4),
            dbc.Col(dbc.InputGroup([
                dbc.Select(id=A.LINK_INCIDENT, options=[], placeholder="open incident", size="sm"),
                dbc.Button("Add to it", id=A.LINK, color="danger", outline=True, size="sm")], size="sm"), md=3),
        ], className="g-2"),
    ], className="py-2"), id=A.ACTIONS, className="mb-2")


def inbox_tab(can_act: bool, usernames: list[str]) -> html.Div:
    return html.Div([
        filters(),
        html.Div(id=A.FILTER_MESSAGE),
        action_bar(usernames) if can_act else html.Div(
            "You can read the inbox; acting on alerts needs the trader, risk or admin role.",
            className="small text-body-secondary mb-2", id="al-read-only"),
        html.Div(id=A.MESSAGE),
        html.Div(id=A.GROUPS, className="mb-2"),
        html.Div(id=A.EMPTY),
        grid(A.GRID, INBOX_COLUMNS, NO_ALERTS, 420, multi=can_act),
        html.Div(id=A.DETAIL, className="mt-2"),
    ], className="pt-3")


def history_tab() -> html.Div:
    return html.Div([
        dbc.Row([
            field("From (UTC)", dbc.Input(id=A.H_START, placeholder="7 days ago",
                                          maxLength=40, autoComplete="off"), md=3),
            field("To (UTC)", dbc.Input(id=A.H_END, placeholder="now", maxLength=40, autoComplete="off"), md=2),
            field("Rule", dcc.Dropdown(id=A.H_RULE, placeholder="any rule"), md=2),
            field("Labels", dbc.Input(id=A.H_LABELS, placeholder="venue=XNAS", maxLength=1000, autoComplete="off"),
                  md=2),
            field("Event", dcc.Dropdown(id=A.H_STATE, options=_options(EVENT_KINDS), placeholder="any"), md=1),
            field("Actor", dbc.Input(id=A.H_ACTOR, placeholder="user", maxLength=64, autoComplete="off"), md=1),
            dbc.Col(dbc.Button("Search", id=A.H_SEARCH, color="primary", size="sm", className="mt-4"), md=1),
        ], className="g-2"),
        dcc.Store(id=A.H_PAGE, data=1),
        html.Div([dbc.Button("‹ Newer", id=A.H_PREV, size="sm", color="secondary", outline=True, className="me-1"),
                  dbc.Button("Older ›", id=A.H_NEXT, size="sm", color="secondary", outline=True, className="me-2"),
                  html.Span(id=A.H_INFO, className="small text-body-secondary")], className="mb-2"),
        grid(A.H_GRID, HISTORY_COLUMNS, NO_HISTORY, 460),
    ], className="pt-3")


def incidents_tab(can_act: bool, usernames: list[str]) -> html.Div:
    users = [{"label": u, "value": u} for u in usernames]
    create = dbc.InputGroup([
        dbc.Input(id=A.I_NEW_TITLE, placeholder="title of a new, empty incident", maxLength=200, size="sm",
                  autoComplete="off"),
        dbc.Select(id=A.I_NEW_SEVERITY, value="high", options=_options(SEVERITIES), size="sm"),
        dbc.Button("Open incident", id=A.I_CREATE, color="danger", outline=True, size="sm")], size="sm",
        className="mb-2")
    actions = html.Div([
        dbc.Row([
            dbc.Col(dbc.InputGroup([dbc.Select(id=A.I_COMMANDER, options=users, placeholder="commander", size="sm"),
                                    dbc.Button("Set commander", id=A.I_SET_COMMANDER, size="sm", color="secondary")],
                                   size="sm"), md=5),
            dbc.Col([dbc.Button("Mitigated", id=A.I_MITIGATE, size="sm", color="warning", outline=True,
                                className="me-1"),
                     dbc.Button("Resolved", id=A.I_RESOLVE, size="sm", color="success", outline=True)], md=3),
        ], className="g-2 mb-2"),
        dbc.InputGroup([dbc.Input(id=A.I_NOTE, placeholder="note (start with 'follow-up:' for the postmortem)",
                                  maxLength=4000, size="sm", autoComplete="off"),
                        dbc.Button("Add note", id=A.I_ADD_NOTE, size="sm", color="secondary")], size="sm"),
    ], id=A.I_ACTIONS, className="mb-2")
    return html.Div([
        dbc.Row([
            dbc.Col(field("Show", dbc.Select(id=A.I_STATE_FILTER, value="all", size="sm", options=[
                {"label": "all incidents", "value": "all"}, *_options(("open", "mitigated", "resolved"))])), md=2),
            dbc.Col(create if can_act else None, md=10, className="pt-4"),
        ], className="g-2"),
        html.Div(id=A.I_MESSAGE),
        html.Div(id=A.I_EMPTY),
        grid(A.I_GRID, INCIDENT_COLUMNS, NO_INCIDENTS, 220),
        dcc.Store(id=A.I_SELECTED),
        dbc.Card([
            dbc.CardHeader(dbc.Row([
                dbc.Col(html.Span("Select an incident", id=A.I_TITLE, className="fw-semibold")),
                dbc.Col([html.A("Postmortem (Markdown)", id=A.I_DOWNLOAD_MD, href="", className="me-3 small",
                                target="_blank"),
                         html.A("Postmortem (PDF)", id=A.I_DOWNLOAD_PDF, href="", className="small", target="_blank")],
                        width="auto"),
            ], className="align-items-center")),
            dbc.CardBody([
                actions if can_act else None,
                html.Div("Linked alerts", className="small fw-semibold mb-1"),
                html.Div(id=A.I_ALERTS, className="small mb-2"),
                html.Div("Timeline", className="small fw-semibold mb-1"),
                grid(A.I_TIMELINE, TIMELINE_COLUMNS, NO_TIMELINE, 380),
            ]),
        ], id=A.I_DETAIL, className="mt-3"),
    ], className="pt-3")
