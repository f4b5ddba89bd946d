"""Compliance page callbacks (legal holds and personal data): thin. Holds need LEGAL_HOLD_MANAGE to change
(COMPLIANCE_VIEW to list); personal-data export and erasure need PRIVACY_MANAGE. The services validate
and audit; a ServiceError becomes an alert naming the field."""
from __future__ import annotations

import json

from dash import Input, Output, State, ctx, dcc, no_update

from dashapp.security.guards import current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError, ValidationError
from layouts.ids_compliance import Compliance as C
from layouts.mfa_prompt import refusal
from layouts.reports import notice
from callbacks.compliance import when


def hold_rows() -> list[dict]:
    from dashapp.services.governance import holds

    return [{"id": h["id"], "case_name": h["case_name"], "reason": h["reason"], "created_by": h["created_by"],
             "created_at": when(h["created_at"]), "status": "released" if h["released_at"] else "active",
             "items": "; ".join(h["items"])} for h in holds.list_holds()]


def _number(value, field: str):
    if value in (None, ""):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    raise ValidationError(f"{field.replace('_', ' ')} must be a whole number", field=field)


def form_item(kind, record, account, instrument, start, end) -> dict:
    return {"kind": kind, "record_id": _number(record, "record_id"), "account_id": _number(account, "account_id"),
            "instrument_id": _number(instrument, "instrument_id"), "time_from": start or None,
            "time_to": (f"{end}T23:59:59.999999+00:00" if isinstance(end, str) and len(end) == 10 else end) or None}


def hold_action(trigger, case, reason, item, selected) -> str:
    from dashapp.services.governance import holds

    if trigger == C.HOLD_PREVIEW:
        found = holds.preview_items([item])[0]
        span = f", {when(found['oldest'])} to {when(found['newest'])}" if found["count"] else ""
        return f"A hold with this item would cover {found['count']:,} {found['label'].lower()}{span}."
    if trigger == C.HOLD_CREATE:
        hold = holds.create_hold(current_username(), case, reason, [item])
        return f"Legal hold {hold.id} ({hold.case_name}) created: the records it covers are kept from retention."
    hold_id = selected[0].get("id") if isinstance(selected, list) and selected and isinstance(selected[0], dict) \
        else None
    if isinstance(hold_id, bool) or not isinstance(hold_id, int):
        raise ValidationError("no hold selected: click a row in the holds grid first", field="hold_id")
    hold = holds.release_hold(current_username(), hold_id)
    return f"Legal hold {hold.id} ({hold.case_name}) released."


def register() -> None:
    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(C.HOLDS_GRID, "rowData"), Input(C.INTERVAL, "n_intervals"),
                      Input(C.CHANGED, "data"), State(C.HOLDS_GRID, "rowData"))
    def refresh_holds(_n, _changed, shown):
        rows = hold_rows()
        return no_update if rows == shown and rows else rows

    @guarded_callback(Perm.LEGAL_HOLD_MANAGE, Output(C.HOLD_MESSAGE, "children"),
                      Output(C.CHANGED, "data", allow_duplicate=True), Input(C.HOLD_PREVIEW, "n_clicks"),
                      Input(C.HOLD_CREATE, "n_clicks"), Input(C.HOLD_RELEASE, "n_clicks"),
                      State(C.HOLD_CASE, "value"), State(C.HOLD_REASON, "value"), State(C.HOLD_KIND, "value"),
                      State(C.HOLD_RECORD, "value"), State(C.HOLD_ACCOUNT, "value"),
                      State(C.HOLD_INSTRUMENT, "value"), State(C.HOLD_FROM, "value"), State(C.HOLD_TO, "value"),
                      State(C.HOLDS_GRID, "selectedRows"), prevent_initial_call=True)
    def holds_action(_p, _c, _r, case, reason, kind, record, account, instrument, start, end, selected):
        try:
            item = form_item(kind, record, account, instrument, start, end) if ctx.triggered_id != C.HOLD_RELEASE \
                else None
            message = hold_action(ctx.triggered_id, case, reason, item, selected)
        except ServiceError as exc:
            return refusal(exc), no_update
        return notice(message), (no_update if ctx.triggered_id == C.HOLD_PREVIEW else message)

    # Triggered by the card's own message (initially and after each action): other roles have no card.
    @guarded_callback(Perm.PRIVACY_MANAGE, Output(C.PRIVACY_USER, "options"), Input(C.PRIVACY_MESSAGE, "children"))
    def privacy_users(_message):
        from dashapp.services.governance import privacy

        return [{"label": f"{u['username']} ({u['role']}{', erased' if u['erased'] else ''})", "value": str(u["id"]),
                 "disabled": u["erased"]} for u in privacy.erasable_users()]

    @guarded_callback(Perm.PRIVACY_MANAGE, Output(C.PRIVACY_MESSAGE, "children"), Output(C.PRIVACY_DOWNLOAD, "data"),
                      Output(C.CHANGED, "data", allow_duplicate=True), Input(C.PRIVACY_EXPORT, "n_clicks"),
                      Input(C.PRIVACY_ERASE_CONFIRM, "submit_n_clicks"), State(C.PRIVACY_USER, "value"),
                      State(C.PRIVACY_REASON, "value"), prevent_initial_call=True)
    def privacy_action(_export, _erase, user_id, reason):
        from dashapp.services.governance import privacy

        try:
            if not isinstance(user_id, str) or not user_id.isdigit() or len(user_id) > 12:
                raise ValidationError("choose a user first", field="user_id")
            user_id = int(user_id)
            if ctx.triggered_id == C.PRIVACY_EXPORT:
                data = privacy.export_user(current_username(), user_id)
                name = f"personal-data-{data['subject']['username']}.json"
                return (notice(f"Exported the personal data of {data['subject']['username']} ({name})."),
                        dcc.send_string(json.dumps(data, indent=2, ensure_ascii=False), name), no_update)
            result = privacy.erase_user(current_username(), user_id, reason)
        except ServiceError as exc:
            return refusal(exc), no_update, no_update
        return (notice(f"User {result['user_id']} erased: now {result['pseudonym']}; account disabled, personal "
                       f"fields removed, key destroyed."), no_update, f"erased-{result['user_id']}")
