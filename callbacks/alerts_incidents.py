"""Alerts page, Incidents tab: the list, the selected incident's timeline and linked alerts, its
postmortem links, and the actions (ALERTS_ACT at the edge and in services/alerts/incidents.py)."""
from __future__ import annotations

import uuid

from dash import Input, Output, State, ctx, html, no_update

from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.alerts import incidents, timeline
from dashapp.services.errors import ServiceError, ValidationError
from layouts.alerts_ids import AlertsPage as A
from layouts.alerts_parts import NO_INCIDENTS, notice
from layouts.common import empty_state


def incident_id(rows, stored) -> int | None:
    if rows and isinstance(rows, list) and isinstance(rows[0], dict) and isinstance(rows[0].get("id"), int):
        return rows[0]["id"]
    return stored if isinstance(stored, int) else None


def act(action: str, ident: int | None, commander, note, title, severity) -> tuple[str, int | None]:
    actor, role = current_username(), current_role()
    if action == A.I_CREATE:
        created = incidents.create(actor, role, title or "", severity or "high")
        return f"Incident {created.id} opened.", created.id
    if ident is None:
        raise ValidationError("no incident selected: click a row in the incidents grid first", field="incident_id")
    if action == A.I_SET_COMMANDER:
        if not commander:
            raise ValidationError("commander: choose a user", field="commander")
        incidents.set_commander(actor, role, ident, commander)
        return f"Incident {ident}: commander is {commander}.", ident
    if action in (A.I_MITIGATE, A.I_RESOLVE):
        state = "mitigated" if action == A.I_MITIGATE else "resolved"
        incidents.set_state(actor, role, ident, state, note or "")
        return f"Incident {ident} is {state}.", ident
    if action == A.I_ADD_NOTE:
        incidents.add_note(actor, role, ident, note)
        return f"Note added to incident {ident}.", ident
    raise ValidationError("unknown action", field="action")


def register() -> None:
    @guarded_callback(Perm.VIEW_ALERTS, Output(A.I_GRID, "rowData"), Output(A.I_EMPTY, "children"),
                      Input(A.INTERVAL, "n_intervals"), Input(A.CHANGED, "data"), Input(A.I_STATE_FILTER, "value"),
                      Input(A.TABS, "active_tab"), State(A.I_GRID, "rowData"))
    def refresh_list(_n, _changed, state, tab, shown):
        if tab != "incidents":
            return no_update, no_update
        try:
            rows = [incidents.summary(i) for i in incidents.list_incidents(state)]
        except ValidationError:
            rows = [incidents.summary(i) for i in incidents.list_incidents()]
        return (no_update if rows == shown and rows else rows), (None if rows else empty_state(NO_INCIDENTS))

    @guarded_callback(Perm.VIEW_ALERTS, Output(A.I_SELECTED, "data"), Output(A.I_TITLE, "children"),
                      Output(A.I_TIMELINE, "rowData"), Output(A.I_ALERTS, "children"),
                      Output(A.I_DOWNLOAD_MD, "href"), Output(A.I_DOWNLOAD_PDF, "href"),
                      Input(A.I_GRID, "selectedRows"), Input(A.CHANGED, "data"), Input(A.INTERVAL, "n_intervals"),
                      State(A.I_SELECTED, "data"), State(A.TABS, "active_tab"), prevent_initial_call=True)
    def show_incident(rows, _changed, _n, stored, tab):
        ident = incident_id(rows, stored)
        if ident is None or (ctx.triggered_id == A.INTERVAL and tab != "incidents"):
            return no_update, no_update, no_update, no_update, no_update, no_update
        try:
            incident = incidents.summary(incidents.get(ident))
        except ServiceError:
            return None, "Select an incident", [], None, "", ""
        alerts = timeline.alert_rows(ident)
        linked = [html.Div(f"#{a['id']} {a['rule']} · {a['severity']} · {a['state']} · {a['labels']}",
                           className="text-body-secondary") for a in alerts] or [
            html.Span("none", className="text-body-secondary fst-italic")]
        title = (f"Incident {incident['id']}: {incident['title']} · {incident['state']} · commander "
                 f"{incident['commander'] or '(none)'}")
        base = f"/api/v1/incidents/{ident}/postmortem"
        return ident, title, timeline.rows(ident), linked, f"{base}?format=md", f"{base}?format=pdf"

    @guarded_callback(Perm.ALERTS_ACT, Output(A.I_MESSAGE, "children"), Output(A.CHANGED, "data", allow_duplicate=True),
                      Input(A.I_CREATE, "n_clicks"), Input(A.I_SET_COMMANDER, "n_clicks"),
                      Input(A.I_MITIGATE, "n_clicks"), Input(A.I_RESOLVE, "n_clicks"), Input(A.I_ADD_NOTE, "n_clicks"),
                      State(A.I_GRID, "selectedRows"), State(A.I_SELECTED, "data"), State(A.I_COMMANDER, "value"),
                      State(A.I_NOTE, "value"), State(A.I_NEW_TITLE, "value"), State(A.I_NEW_SEVERITY, "value"),
                      prevent_initial_call=True)
    def act_on_incident(*args):
        rows, stored, commander, note, title, severity = args[5:11]
        try:
            text, _ident = act(ctx.triggered_id, incident_id(rows, stored), commander, note, title, severity)
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="al-i-error"), no_update
        return notice(text, element_id="al-i-ok"), uuid.uuid4().hex
