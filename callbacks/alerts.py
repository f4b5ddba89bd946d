"""Alerts page callbacks (inbox, history) and the navbar's alert badge: thin. Reading needs VIEW_ALERTS;
every action needs ALERTS_ACT, at the edge (guarded_callback) and again in services/alerts/inbox.py,
which validates, writes the AlertEvent and the audit record. A ServiceError becomes an in-page message
naming the field."""
from __future__ import annotations

import uuid

from dash import Input, Output, State, ctx, html, no_update

from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import snapshots
from dashapp.services.alerts import history, inbox, incidents
from dashapp.services.errors import ServiceError, ValidationError
from layouts.alerts_ids import AlertsBadge
from layouts.alerts_ids import AlertsPage as A
from layouts.alerts_parts import INBOX_COLUMNS, NO_ALERTS, grid, notice
from layouts.common import empty_state
from layouts.ids import Shell

BADGE_PERIOD = 2.0  # seconds: one count for every open navbar together
MAX_SELECTED = 200
NAVBAR_VIEW = "alerts.navbar_counts"


def badge(counts: dict) -> tuple[str, str, str, dict]:
    """(text, colour, title, style) of the navbar bubble: "not acknowledged/firing", coloured by the worst
    severity not acknowledged (grey when every firing alert is acknowledged), hidden while nothing fires."""
    firing, unacked = counts.get("firing", 0), counts.get("unacknowledged", 0)
    by = counts.get("by_severity", {})
    worst = next((s for s in ("critical", "high", "warning", "info") if by.get(s, {}).get("unacknowledged")), None)
    colour = {"critical": "danger", "high": "danger", "warning": "warning", "info": "info"}.get(worst, "secondary")
    detail = ", ".join(f"{s} {v['unacknowledged']}/{v['firing']}" for s, v in by.items() if v.get("firing"))
    title = f"{unacked} of {firing} firing alerts not acknowledged ({detail}): open the Alerts page"
    style = {"fontSize": "0.65rem", "zIndex": 2, "display": "inline-block" if firing else "none"}
    return f"{unacked}/{firing}", colour, title if firing else "No alert is firing", style


def about_alerts(event) -> bool:
    """False for a pushed event of another topic (ingest batches arrive many times a second; they change no alert)."""
    if ctx.triggered_id != Shell.LIVE_EVENTS:
        return True
    return isinstance(event, dict) and str(event.get("topic", "")).startswith("alerts")


def _counts() -> dict:
    return inbox.navbar_counts()


def selected_ids(rows) -> list[int]:
    if not rows:
        raise ValidationError("no alert selected: tick one or more rows in the inbox first", field="alert_id")
    if not isinstance(rows, list) or len(rows) > MAX_SELECTED:
        raise ValidationError(f"select at most {MAX_SELECTED} alerts", field="alert_id")
    return [row["id"] for row in rows if isinstance(row, dict) and "id" in row]


def act(action: str, ids: list[int], ack_for, assignee, snooze_for, note, title, incident=None) -> str:
    """One button -> the service call per selected alert; returns what to tell the user."""
    actor, role = current_username(), current_role()
    if action == A.CREATE_INCIDENT:
        created = incidents.create(actor, role, title or "", "high", ids)
        return f"Incident {created.id} opened with {len(ids)} alert(s): see the Incidents tab."
    if action == A.LINK:
        if not incident:
            raise ValidationError("incident_id: choose an open incident", field="incident_id")
        linked = incidents.link(actor, role, incident, ids)
        return f"{len(linked)} alert(s) added to incident {incident}."
    if action == A.RESOLVE:
        inbox.clean_note(note, required=True)  # checked once, before the first alert changes
    done = []
    for alert_id in ids:
        if action == A.ACK:
            minutes = int(ack_for) if str(ack_for or "").isdigit() else 0
            inbox.acknowledge(actor, role, alert_id, minutes or None, note)
        elif action == A.UNACK:
            inbox.unacknowledge(actor, role, alert_id)
        elif action == A.ASSIGN:
            if not assignee:
                raise ValidationError("assignee: choose a user to assign to", field="assignee")
            inbox.assign(actor, role, alert_id, assignee)
        elif action == A.SNOOZE:
            inbox.snooze(actor, role, alert_id, int(snooze_for) if str(snooze_for or "").isdigit() else 0, note)
        elif action == A.SILENCE:
            inbox.silence_until_resolved(actor, role, alert_id, note)
        elif action == A.RESOLVE:
            inbox.resolve(actor, role, alert_id, note)
        elif action == A.ADD_NOTE:
            inbox.add_note(actor, role, alert_id, note)
        else:
            raise ValidationError("unknown action", field="action")
        done.append(alert_id)
    verb = {A.ACK: "acknowledged", A.UNACK: "unacknowledged", A.ASSIGN: f"assigned to {assignee}",
            A.SNOOZE: "snoozed", A.SILENCE: "silenced until resolved", A.RESOLVE: "resolved",
            A.ADD_NOTE: "noted"}[action]
    return f"{len(done)} alert(s) {verb}."


def register() -> None:
    @guarded_callback(Perm.VIEW_ALERTS, Output(AlertsBadge.BADGE, "children"), Output(AlertsBadge.BADGE, "color"),
                      Output(AlertsBadge.BADGE, "title"), Output(AlertsBadge.BADGE, "style"),
                      Input(Shell.STATUS_INTERVAL, "n_intervals"),
                      Input(Shell.LIVE_EVENTS, "data"))
    def refresh_badge(_n, event):
        if not about_alerts(event):
            return (no_update,) * 4
        return badge(snapshots.shared(NAVBAR_VIEW, _counts, BADGE_PERIOD))

    @guarded_callback(Perm.VIEW_ALERTS, Output(A.GRID, "rowData"), Output(A.GRID, "columnDefs"),
                      Output(A.EMPTY, "children"), Output(A.GROUPS, "children"), Output(A.FILTER_MESSAGE, "children"),
                      Output(A.GROUP_BY, "options"),
                      Input(A.INTERVAL, "n_intervals"), Input(A.CHANGED, "data"), Input(Shell.LIVE_EVENTS, "data"),
                      Input(A.STATES, "value"), Input(A.SEVERITIES, "value"), Input(A.OWNER, "value"),
                      Input(A.ACKED, "value"), Input(A.LABELS, "value"), Input(A.TEXT, "value"),
                      Input(A.GROUP_BY, "value"), State(A.GRID, "rowData"))
    def refresh_inbox(_n, _changed, event, states, severities, owner, acked, labels, text, group_by, shown):
        if not about_alerts(event):
            return (no_update,) * 6
        try:
            flt = inbox.make_filter(states, severities, owner, acked, labels, text)
        except ValidationError as err:
            return no_update, no_update, None, None, notice(err.message, ok=False), no_update
        rows = inbox.list_alerts(flt)
        labels_seen = inbox.groupable_labels(rows)
        by = [g for g in (group_by or []) if isinstance(g, str)][:inbox.GROUPABLE_MAX]
        groups = inbox.group_rows(rows, by) if by else []
        if by:
            rows = [{**row, "group": g["title"]} for g in groups for row in g["rows"]]
        rows = [{k: v for k, v in row.items() if k != "label_map"} for row in rows]
        columns = grid(A.GRID, [(f, c, w, {**x, "hide": f == "group" and not by}) for f, c, w, x in INBOX_COLUMNS],
                       NO_ALERTS, 1).columnDefs
        summary = [html.Span(f"{g['title']}: {g['count']} ({g['firing']} firing)",
                             className="badge text-bg-light border me-1") for g in groups]
        options = [{"label": name, "value": name} for name in labels_seen]
        return (no_update if rows == shown and rows else rows, columns, None if rows else empty_state(NO_ALERTS),
                summary or None, None, options)

    @guarded_callback(Perm.ALERTS_ACT, Output(A.MESSAGE, "children"), Output(A.CHANGED, "data"),
                      Input(A.ACK, "n_clicks"), Input(A.UNACK, "n_clicks"), Input(A.ASSIGN, "n_clicks"),
                      Input(A.SNOOZE, "n_clicks"), Input(A.SILENCE, "n_clicks"), Input(A.RESOLVE, "n_clicks"),
                      Input(A.ADD_NOTE, "n_clicks"), Input(A.CREATE_INCIDENT, "n_clicks"), Input(A.LINK, "n_clicks"),
                      State(A.GRID, "selectedRows"), State(A.ACK_FOR, "value"), State(A.ASSIGNEE, "value"),
                      State(A.SNOOZE_FOR, "value"), State(A.NOTE, "value"), State(A.INCIDENT_TITLE, "value"),
                      State(A.LINK_INCIDENT, "value"), prevent_initial_call=True)
    def act_on_selection(*args):
        rows, ack_for, assignee, snooze_for, note, title, incident = args[9:16]
        try:
            text = act(ctx.triggered_id, selected_ids(rows), ack_for, assignee, snooze_for, note, title, incident)
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="al-error"), uuid.uuid4().hex
        snapshots.invalidate(NAVBAR_VIEW)
        return notice(text, element_id="al-ok"), uuid.uuid4().hex

    @guarded_callback(Perm.ALERTS_ACT, Output(A.LINK_INCIDENT, "options"), Input(A.CHANGED, "data"),
                      Input(A.TABS, "active_tab"))
    def open_incidents(_changed, _tab):
        return [{"label": f"#{i.id} {i.title[:60]}", "value": str(i.id)}
                for i in incidents.list_incidents(limit=50) if i.state != "resolved"]

    @guarded_callback(Perm.VIEW_ALERTS, Output(A.DETAIL, "children"), Input(A.GRID, "selectedRows"),
                      Input(A.CHANGED, "data"), prevent_initial_call=True)
    def show_detail(rows, _changed):
        if not rows or not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
            return None
        events = history.events_for(inbox._optional_id(rows[0].get("id"), "alert_id") or 0, limit=12)
        return html.Div([html.Div(f"History of alert {rows[0].get('id')} (newest first)",
                                  className="small fw-semibold"),
                         html.Ul([html.Li(f"{e['at']} · {e['kind']} · {e['actor']}" + (f" · {e['note']}" if e['note']
                                                                                          else ""))
                                  for e in events], className="small mb-0")], id="al-detail-events")

    @guarded_callback(Perm.VIEW_ALERTS, Output(A.H_GRID, "rowData"), Output(A.H_INFO, "children"),
                      Output(A.H_PAGE, "data"), Output(A.H_RULE, "options"),
                      Input(A.H_SEARCH, "n_clicks"), Input(A.H_PREV, "n_clicks"), Input(A.H_NEXT, "n_clicks"),
                      Input(A.TABS, "active_tab"),
                      State(A.H_START, "value"), State(A.H_END, "value"), State(A.H_RULE, "value"),
                      State(A.H_LABELS, "value"), State(A.H_STATE, "value"), State(A.H_ACTOR, "value"),
                      State(A.H_PAGE, "data"))
    def search_history(_s, _p, _n, tab, start, end, rule, labels, state, actor, page):
        from dashapp.services.alerts.rules import list_rules

        options = [{"label": r.name, "value": r.name} for r in list_rules()]
        if tab != "history":
            return no_update, no_update, no_update, options
        page = page if isinstance(page, int) and page > 0 else 1
        page = {A.H_PREV: max(1, page - 1), A.H_NEXT: page + 1}.get(ctx.triggered_id, 1)
        try:
            found = history.search(start, end, rule, labels, state, actor, page, 100)
        except ValidationError as err:
            return [], html.Span(f"Not searched: {err.message}", className="text-danger"), 1, options
        if not found.rows and page > 1:
            found = history.search(start, end, rule, labels, state, actor, page - 1, 100)
        last = max(1, -(-found.total // found.page_size))
        info = (f"{found.total} event(s) from {found.start:%Y-%m-%d %H:%M} to {found.end:%Y-%m-%d %H:%M} UTC · "
                f"page {found.page} of {last}")
        return found.rows, info, found.page, options
