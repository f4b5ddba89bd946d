"""Approvals page callbacks: list pending requests and recent decisions, approve / reject / cancel.
The page may be opened by every role; what each user may decide is the service's call
(services/approvals.py: never your own request, only with the action's approve permission)."""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import approvals, snapshots
from dashapp.services.approvals import Actor
from dashapp.services.errors import ServiceError, ValidationError
from layouts.ids_governance import Approvals
from layouts.mfa_prompt import refusal


def _short(ts: str | None) -> str:
    return (ts or "")[:19].replace("T", " ")


def pending_rows(actor) -> list[dict]:
    rows = []
    for row in approvals.pending(actor):
        d = approvals.to_dict(row)
        rows.append({**d, "requested_at": _short(d["requested_at"]), "expires_at": _short(d["expires_at"]),
                     "yours": "yes" if approvals.can_approve(row, actor) else
                     ("your request" if row.requested_by == actor.username else "no")})
    return rows


def history_rows(limit: int = 100) -> list[dict]:
    out = []
    for row in approvals.history(limit=limit):
        if row.state == "pending":
            continue
        d = approvals.to_dict(row)
        result = row.result or {}
        outcome = result.get("outcome") or result.get("error") or row.decision_note or ""
        out.append({**d, "decided_at": _short(d["decided_at"]), "outcome": str(outcome)[:200]})
    return out


def _actor() -> Actor:
    return Actor(current_user.username, current_user.role_name)


def _chosen(selected) -> int:
    if not selected:
        raise ValidationError("no request selected: click a row in the pending grid first", field="request_id")
    return int(selected[0]["id"])


def register() -> None:
    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(Approvals.PENDING_GRID, "rowData"),
                      Output(Approvals.HISTORY_GRID, "rowData"), Input(Approvals.INTERVAL, "n_intervals"),
                      Input(Approvals.CHANGED, "data"))
    def load(_n, _changed):
        return pending_rows(_actor()), history_rows()

    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(Approvals.MESSAGE, "children"), Output(Approvals.CHANGED, "data"),
                      Input(Approvals.APPROVE, "n_clicks"), Input(Approvals.REJECT, "n_clicks"),
                      Input(Approvals.CANCEL, "n_clicks"), State(Approvals.PENDING_GRID, "selectedRows"),
                      State(Approvals.REASON, "value"), prevent_initial_call=True)
    def decide(_a, _r, _c, selected, reason):
        try:
            request_id = _chosen(selected)
            if ctx.triggered_id == Approvals.APPROVE:
                row = approvals.approve(request_id, _actor())
                said = f"Approved #{row.id}: {(row.result or {}).get('outcome', row.state)}"
                snapshots.invalidate("command_center.status")  # a reset or LIVE shows on every page at once
            elif ctx.triggered_id == Approvals.REJECT:
                said = f"Rejected #{approvals.reject(request_id, _actor(), reason or '').id}."
            else:
                said = f"Cancelled #{approvals.cancel(request_id, _actor()).id}."
        except ServiceError as err:
            return refusal(err, "approvals-error"), time.time()
        return dbc.Alert(said, color="success", className="py-1 mb-0", id="approvals-ok"), time.time()
