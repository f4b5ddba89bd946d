"""Four-eyes, one mechanism: request -> approval by a different person holding the right permission
(with a fresh second factor when the action says so) -> execution, with expiry.

Every action that needs a second person registers an `ActionSpec`. Its `execute` is the only code
that changes the guarded state, and it starts with `require_executing(name)`: called any other way
(a UI callback, REST, the CLI, a job) it refuses. Only `approve()` sets the marker, after checking
that the approver is not the requester, holds `approve_perm`, the request is pending and unexpired,
and (for `mfa` actions) the approver's session proved a code within the window. The request's state
moves with conditional UPDATEs, so two concurrent approvals execute once.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit, mfa
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationError
from dashapp.services.fields import NO_CONTROL
from dashapp.services.unit_of_work import _depth, unit_of_work
from models import ApprovalRequest, utcnow

_NO_CONTROL = re.compile(NO_CONTROL)
STATES = ("pending", "approved", "rejected", "expired", "cancelled", "executed", "failed")
MAX_TTL_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ActionSpec:
    """`execute(params, requested_by, approved_by) -> dict` runs inside the approval's transaction and
    writes its own audit record; `describe(params) -> str` is the one line people see."""

    name: str
    title: str
    request_perm: Perm
    approve_perm: Perm
    params_model: type[BaseModel]
    execute: Callable[[dict, str, str], dict]
    describe: Callable[[dict], str] = field(default=lambda params: "")
    ttl_minutes: int = 60
    mfa: bool = True


@dataclass(frozen=True)
class Actor:
    """Who acts, for callers that hold a name and a role rather than a User row (CLI, services)."""

    username: str
    role_name: str


_REGISTRY: dict[str, ActionSpec] = {}
_executing: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("approval_executing",
                                                                                     default=None)


def register_action(spec: ActionSpec) -> ActionSpec:
    if not (0 < spec.ttl_minutes <= MAX_TTL_MINUTES):
        raise ValueError(f"ttl_minutes of {spec.name} must be 1..{MAX_TTL_MINUTES}")
    _REGISTRY[spec.name] = spec
    return spec


def action(name: str) -> ActionSpec:
    spec = _REGISTRY.get(name)
    if spec is None:
        raise NotFound(f"unknown four-eyes action {name!r}", field="action")
    return spec


def actions() -> dict[str, ActionSpec]:
    return dict(_REGISTRY)


def require_executing(name: str) -> None:
    """The choke point: the guarded state changes only inside `approve()` of a request for `name`."""
    running = _executing.get()
    if running is None or running[0] != name:
        raise PermissionDenied(f"four-eyes: {name} runs only through an approved request (ask a second person to "
                               "approve it on the Security page)", field="approval")


def executing_request_id() -> int | None:
    running = _executing.get()
    return running[1] if running else None


@contextlib.contextmanager
def _running(name: str, request_id: int):
    token = _executing.set((name, request_id))
    try:
        yield
    finally:
        _executing.reset(token)


def _reason(reason: str | None) -> str:
    reason = (reason if isinstance(reason, str) else "").strip()
    if len(reason) < 5:
        raise ValidationError("a reason of at least 5 characters is required", field="reason")
    if len(reason) > 300:
        raise ValidationError("reason is longer than 300 characters", field="reason")
    if not _NO_CONTROL.match(reason):
        raise ValidationError("reason must not contain control characters", field="reason")
    return reason


def _params(spec: ActionSpec, params: dict) -> dict:
    if not isinstance(params, dict):
        raise ValidationError("params must be an object", field="params")
    try:
        return spec.params_model.model_validate(params).model_dump(mode="json")
    except PydanticError as err:
        first = err.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"]) or "params"
        raise ValidationError(f"{name}: {first['msg']}", field=name) from None


def _get(request_id) -> ApprovalRequest:
    if not isinstance(request_id, int) or isinstance(request_id, bool) or not 0 < request_id < 2**31:
        raise ValidationError("request id must be a positive integer", field="request_id")
    row = db.session.get(ApprovalRequest, request_id)
    if row is None:
        raise NotFound(f"no approval request #{request_id}", field="request_id")
    return row


def _set_state(row: ApprovalRequest, old: str, new: str, **values: Any) -> bool:
    """Move one request from `old` to `new` in one conditional UPDATE; False when it had moved on."""
    done = db.session.execute(sa.update(ApprovalRequest).where(ApprovalRequest.id == row.id,
                                                               ApprovalRequest.state == old)
                              .values(state=new, **values).execution_options(synchronize_session=False)).rowcount
    if done == 1:
        for key, value in {"state": new, **values}.items():
            setattr(row, key, value)
    return done == 1


def request(action_name: str, params: dict, actor, reason: str) -> ApprovalRequest:
    """Record a request (validated params, reason) that waits for a second person."""
    spec = action(action_name)
    if not has_permission(actor.role_name, spec.request_perm):
        raise PermissionDenied(f"role {actor.role_name!r} may not request {spec.title} "
                               f"(needs {spec.request_perm.value})", field="action")
    reason, clean = _reason(reason), _params(spec, params)
    expire_stale()
    with unit_of_work() as s:
        twin = s.execute(sa.select(ApprovalRequest).where(ApprovalRequest.action == spec.name,
                                                          ApprovalRequest.state == "pending")).scalars().all()
        twin = next((r for r in twin if r.params == clean), None)
        if twin is not None:
            raise Conflict(f"request #{twin.id} by {twin.requested_by} for the same thing is already pending: "
                           "approve, reject or cancel it first", field="action")
        now = utcnow()
        row = ApprovalRequest(action=spec.name, params=clean, summary=(spec.describe(clean) or spec.title)[:300],
                              reason=reason, requested_by=actor.username, requested_at=now,
                              expires_at=now + timedelta(minutes=spec.ttl_minutes), state="pending",
                              decision_note="")
        s.add(row)
        s.flush()
        audit.record(actor.username, "approval.request", f"approval:{row.id}",
                     {"action": spec.name, "params": clean, "reason": reason})
        return row


def _refuse(row: ApprovalRequest, actor, why: str, error: ServiceError):
    """Audit a refused decision (committed, even though the caller gets an error) and raise it."""
    with unit_of_work():
        audit.record(actor.username, "approval.approve", f"approval:{row.id}",
                     {"action": row.action, "reason": why}, "denied")
    raise error


def check_approvable(request_id: int, actor) -> ApprovalRequest:
    """Every refusal `approve` would give, before anything is claimed (audited when refused)."""
    row = _get(request_id)
    spec = action(row.action)
    if row.state == "pending" and row.expires_at <= utcnow():
        _expire(row)
    if row.state != "pending":
        raise Conflict(f"request #{row.id} is {row.state}, not pending", field="request_id")
    if row.requested_by == actor.username:
        _refuse(row, actor, "own request", PermissionDenied(
            f"four-eyes: {actor.username} requested this ({spec.title}) and cannot also approve it",
            field="request_id"))
    if not has_permission(actor.role_name, spec.approve_perm):
        _refuse(row, actor, "role", PermissionDenied(
            f"role {actor.role_name!r} may not approve {spec.title} (needs {spec.approve_perm.value})",
            field="request_id"))
    if spec.mfa:
        mfa.require_fresh(actor, f"approving {spec.title}")
    return row


def approve(request_id: int, actor) -> ApprovalRequest:
    """Approve and execute. The result (or the error, with state 'failed') is stored on the request."""
    row = check_approvable(request_id, actor)
    spec = action(row.action)
    nested = _depth.get() > 0
    try:
        with unit_of_work():
            if not _set_state(row, "pending", "approved", decided_by=actor.username, decided_at=utcnow()):
                raise Conflict(f"request #{row.id} was decided meanwhile", field="request_id")
            with _running(spec.name, row.id):
                result = spec.execute(dict(row.params), row.requested_by, actor.username)
            _set_state(row, "approved", "executed", result=result if isinstance(result, dict) else {})
            audit.record(actor.username, "approval.approve", f"approval:{row.id}",
                         {"action": spec.name, "requested_by": row.requested_by, "result": row.result})
    except ServiceError as err:
        if not nested:  # an outer transaction owns the outcome; on our own we keep the failure on record
            _failed(row, actor, err.message)
        raise
    return row


def _failed(row: ApprovalRequest, actor, message: str) -> None:
    db.session.refresh(row)
    if row.state != "pending":
        return  # someone else decided it; the error was ours alone
    with unit_of_work():
        _set_state(row, "pending", "failed", decided_by=actor.username, decided_at=utcnow(),
                   result={"error": message[:500]})
        audit.record(actor.username, "approval.approve", f"approval:{row.id}",
                     {"action": row.action, "error": message[:500]}, "failed")


def reject(request_id: int, actor, reason: str) -> ApprovalRequest:
    row = _get(request_id)
    spec = action(row.action)
    if row.requested_by == actor.username:
        raise PermissionDenied("reject is for a second person: cancel your own request instead", field="request_id")
    if not has_permission(actor.role_name, spec.approve_perm):
        raise PermissionDenied(f"role {actor.role_name!r} may not decide {spec.title}", field="request_id")
    reason = _reason(reason)
    with unit_of_work():
        if not _set_state(row, "pending", "rejected", decided_by=actor.username, decided_at=utcnow(),
                          decision_note=reason):
            raise Conflict(f"request #{row.id} is {row.state}, not pending", field="request_id")
        audit.record(actor.username, "approval.reject", f"approval:{row.id}", {"action": row.action, "reason": reason})
    return row


def cancel(request_id: int, actor) -> ApprovalRequest:
    row = _get(request_id)
    if row.requested_by != actor.username:
        raise PermissionDenied("only the requester can cancel a request", field="request_id")
    with unit_of_work():
        if not _set_state(row, "pending", "cancelled", decided_by=actor.username, decided_at=utcnow()):
            raise Conflict(f"request #{row.id} is {row.state}, not pending", field="request_id")
        audit.record(actor.username, "approval.cancel", f"approval:{row.id}", {"action": row.action})
    return row


def _expire(row: ApprovalRequest) -> None:
    with unit_of_work():
        if _set_state(row, "pending", "expired", decided_at=utcnow()):
            audit.record("system", "approval.expire", f"approval:{row.id}", {"action": row.action})


def expire_stale() -> int:
    rows = db.session.execute(sa.select(ApprovalRequest).where(ApprovalRequest.state == "pending",
                                                               ApprovalRequest.expires_at <= utcnow())).scalars().all()
    for row in rows:
        _expire(row)
    return len(rows)


def can_approve(row: ApprovalRequest, actor) -> bool:
    spec = _REGISTRY.get(row.action)
    return (spec is not None and row.state == "pending" and row.requested_by != actor.username
            and has_permission(actor.role_name, spec.approve_perm))


def pending(actor, action_name: str | None = None) -> list[ApprovalRequest]:
    """Pending requests the actor may see: actions whose request or approve permission the role holds."""
    expire_stale()
    stmt = sa.select(ApprovalRequest).where(ApprovalRequest.state == "pending")
    if action_name:
        stmt = stmt.where(ApprovalRequest.action == action_name)
    rows = db.session.execute(stmt.order_by(ApprovalRequest.requested_at.desc()).limit(500)).scalars().all()
    return [r for r in rows if (spec := _REGISTRY.get(r.action)) is not None
            and (has_permission(actor.role_name, spec.approve_perm) or has_permission(actor.role_name, spec.request_perm))]


def history(limit: int = 200, action_name: str | None = None, state: str | None = None,
            requested_by: str | None = None) -> list[ApprovalRequest]:
    if state is not None and state not in STATES:
        raise ValidationError(f"state must be one of {', '.join(STATES)}", field="state")
    limit = max(1, min(int(limit), 1000))
    stmt = sa.select(ApprovalRequest)
    if action_name:
        stmt = stmt.where(ApprovalRequest.action == action_name)
    if state:
        stmt = stmt.where(ApprovalRequest.state == state)
    if requested_by:
        stmt = stmt.where(ApprovalRequest.requested_by == requested_by)
    return list(db.session.execute(stmt.order_by(ApprovalRequest.id.desc()).limit(limit)).scalars())


def to_dict(row: ApprovalRequest) -> dict:
    spec = _REGISTRY.get(row.action)
    return {"id": row.id, "action": row.action, "title": spec.title if spec else row.action, "summary": row.summary,
            "params": row.params, "reason": row.reason, "requested_by": row.requested_by,
            "requested_at": row.requested_at.isoformat() if row.requested_at else None,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None, "state": row.state,
            "decided_by": row.decided_by, "decided_at": row.decided_at.isoformat() if row.decided_at else None,
            "decision_note": row.decision_note, "result": row.result}
