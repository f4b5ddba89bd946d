"""Risk limits: listed, created and edited with validation and an audit record, and measured."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import approvals, audit, mfa
from dashapp.services.errors import NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import RiskLimit, utcnow
from models.risk import BREACH_ACTIONS, LIMIT_KINDS

UNITS = {"gross_exposure": "USD", "net_exposure": "USD", "instrument_notional": "USD", "sector_exposure": "USD",
         "var_99": "USD (1-day historical VaR 99%)", "daily_loss": "USD", "drawdown": "fraction of peak equity"}
DEFAULT_LIMITS = [
    ("gross_exposure", "*", 12_000_000, "alert"), ("net_exposure", "*", 4_000_000, "alert"),
    ("instrument_notional", "*", 2_000_000, "alert"), ("sector_exposure", "*", 3_000_000, "alert"),
    ("var_99", "*", 400_000, "block_new_orders"), ("daily_loss", "*", 500_000, "kill_switch"),
    ("drawdown", "*", 0.10, "alert"),
]


@dataclass(frozen=True)
class Utilisation:
    limit_id: int
    kind: str
    scope: str
    value: float
    limit_value: float
    utilisation: float  # value / limit
    status: str  # OK | WARNING | BREACH
    breach_action: str
    detail: str


def list_limits(active_only: bool = False) -> list[RiskLimit]:
    stmt = sa.select(RiskLimit).order_by(RiskLimit.kind, RiskLimit.scope)
    if active_only:
        stmt = stmt.where(RiskLimit.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def ensure_defaults() -> None:
    """A sensible starting set, so a fresh desk is never unlimited."""
    if db.session.execute(sa.select(sa.func.count()).select_from(RiskLimit)).scalar():
        return
    try:
        with unit_of_work() as session:
            for kind, scope, value, action in DEFAULT_LIMITS:
                session.add(RiskLimit(kind=kind, scope=scope, limit_value=value, warn_at=0.8, breach_action=action,
                                      active=True, updated_by="system"))
    except sa.exc.IntegrityError:
        # Concurrent first requests (found under load, benchmarks/load_sessions.py): another one seeded them.
        db.session.rollback()


def _number(value, field: str, minimum: float = 0.0, maximum: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{field} must be a number, not {value!r}", field=field) from None
    if not (number > minimum) or (maximum is not None and number > maximum) or number != number:
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise ValidationError(f"{field} must be greater than {minimum}{bound}", field=field)
    return number


def save_limit(actor: str, role: str, kind: str, scope: str, limit_value, warn_at=0.8,
               breach_action: str = "alert", active: bool = True, limit_id: int | None = None) -> RiskLimit:
    """Create or update one limit (risk and admin only); every change is audited with old and new.
    Tightening (or a new limit) is immediate; a relaxation (higher value, looser breach action,
    deactivation, another kind or scope for the row) runs only as an approved four-eyes request
    (`request_change`)."""
    if not has_permission(role, Perm.LIMITS_EDIT):
        raise PermissionDenied(f"role {role!r} may not edit limits (needs {Perm.LIMITS_EDIT.value})")
    if kind not in LIMIT_KINDS:
        raise ValidationError(f"unknown limit kind {kind!r}: one of {', '.join(LIMIT_KINDS)}", field="kind")
    if breach_action not in BREACH_ACTIONS:
        raise ValidationError(f"breach action must be one of {', '.join(BREACH_ACTIONS)}", field="breach_action")
    scope = (scope or "*").strip()[:64] or "*"
    value = _number(limit_value, "limit_value", maximum=1.0 if kind == "drawdown" else None)
    warn = _number(warn_at, "warn_at", maximum=1.0)
    mfa.require_fresh(actor, "editing a limit")
    with unit_of_work() as session:
        row = _existing(kind, scope, limit_id)
        if row is not None and relaxes(row, kind, scope, value, breach_action, active):
            approvals.require_executing(RELAX)
        before = None if row is None else {"value": row.limit_value, "warn_at": row.warn_at,
                                           "action": row.breach_action, "active": row.active}
        if row is None:
            row = RiskLimit(kind=kind, scope=scope)
            session.add(row)
        row.kind, row.scope, row.limit_value, row.warn_at = kind, scope, value, warn
        row.breach_action, row.active, row.updated_by, row.updated_at = breach_action, bool(active), actor, utcnow()
        session.flush()
        audit.record(actor, "risk.limit_save", f"limit:{row.id}", {
            "kind": kind, "scope": scope, "before": before,
            "after": {"value": value, "warn_at": warn, "action": breach_action, "active": bool(active)}})
        return row


def _existing(kind: str, scope: str, limit_id: int | None) -> RiskLimit | None:
    row = db.session.get(RiskLimit, limit_id) if limit_id else db.session.execute(
        sa.select(RiskLimit).where(RiskLimit.kind == kind, RiskLimit.scope == scope)).scalar()
    if limit_id and row is None:
        raise NotFound(f"no limit with id {limit_id}", field="limit_id")
    return row


def relaxes(row: RiskLimit, kind: str, scope: str, value: float, breach_action: str, active: bool) -> bool:
    """True when the change lets more through than the stored limit does."""
    return (value > row.limit_value or BREACH_ACTIONS.index(breach_action) < BREACH_ACTIONS.index(row.breach_action)
            or (row.active and not active) or (kind, scope) != (row.kind, row.scope))


class _LimitChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=32)
    scope: str = Field(max_length=64)
    limit_value: float
    warn_at: float
    breach_action: str = Field(max_length=32)
    active: bool
    limit_id: int | None = Field(None, gt=0, lt=2**31)


def request_change(actor, reason: str, kind: str, scope: str, limit_value, warn_at=0.8, breach_action: str = "alert",
                   active: bool = True, limit_id: int | None = None) -> tuple[str, RiskLimit | None]:
    """The Risk page's save: a tightening is saved at once, a relaxation becomes a four-eyes request.
    Returns (what happened, the saved row or None when it waits for approval)."""
    if not has_permission(actor.role_name, Perm.LIMITS_EDIT):
        raise PermissionDenied(f"role {actor.role_name!r} may not edit limits (needs {Perm.LIMITS_EDIT.value})")
    scope_clean = (scope or "*").strip()[:64] or "*"
    value = _number(limit_value, "limit_value", maximum=1.0 if kind == "drawdown" else None)
    row = _existing(kind, scope_clean, limit_id)
    if row is None or breach_action not in BREACH_ACTIONS or not relaxes(row, kind, scope_clean, value, breach_action,
                                                                          bool(active)):
        saved = save_limit(actor.username, actor.role_name, kind, scope, limit_value, warn_at, breach_action, active,
                           limit_id)
        return f"saved {saved.kind} · {saved.scope} = {saved.limit_value:g}", saved
    mfa.require_fresh(actor.username, "editing a limit")
    params = {"kind": kind, "scope": scope_clean, "limit_value": value, "warn_at": _number(warn_at, "warn_at", maximum=1.0),
              "breach_action": breach_action, "active": bool(active), "limit_id": row.id}
    request = approvals.request(RELAX, params, actor, reason)
    return (f"relaxing {kind} · {scope_clean} to {value:g} ({breach_action}) needs a second person: request "
            f"#{request.id} waits for approval"), None


def _execute_relax(params: dict, requested_by: str, approved_by: str) -> dict:
    approvals.require_executing(RELAX)
    from dashapp.services import users  # the approver's role, checked again by save_limit

    approver = users.find_by_username(approved_by)
    role = approver.role_name if approver is not None else "risk"
    row = save_limit(approved_by, role, params["kind"], params["scope"], params["limit_value"], params["warn_at"],
                     params["breach_action"], params["active"], params["limit_id"])
    return {"outcome": f"{row.kind} · {row.scope} = {row.limit_value:g} ({row.breach_action}); requested by "
                       f"{requested_by}, approved by {approved_by}", "limit_id": row.id}


RELAX = "risk.limit_relax"
approvals.register_action(approvals.ActionSpec(
    name=RELAX, title="limit relaxation", request_perm=Perm.LIMITS_EDIT, approve_perm=Perm.LIMITS_EDIT,
    params_model=_LimitChange, execute=_execute_relax,
    describe=lambda p: f"relax {p['kind']} · {p['scope']} to {p['limit_value']:g} ({p['breach_action']}"
                       f"{'' if p['active'] else ', inactive'})", ttl_minutes=240, mfa=True))


def measure(limit: RiskLimit, exposures: dict, var99: float | None, day_pnl: float, drawdown: float) -> Utilisation:
    """How much of one limit is used right now."""
    detail = ""
    if limit.kind == "gross_exposure":
        value = exposures["gross"]
    elif limit.kind == "net_exposure":
        value = abs(exposures["net"])
    elif limit.kind in ("instrument_notional", "sector_exposure"):
        series = exposures["by_instrument" if limit.kind == "instrument_notional" else "by_sector"].abs()
        if limit.scope != "*":
            value = float(series.get(limit.scope, 0.0))
        elif series.empty:
            value = 0.0
        else:
            value, detail = float(series.max()), f"largest: {series.idxmax()}"
    elif limit.kind == "var_99":
        value = var99 or 0.0
    elif limit.kind == "daily_loss":
        value = max(0.0, -day_pnl)
    else:  # drawdown, as a positive fraction
        value = abs(min(0.0, drawdown))
    used = value / limit.limit_value
    status = "BREACH" if used >= 1.0 else ("WARNING" if used >= limit.warn_at else "OK")
    return Utilisation(limit.id, limit.kind, limit.scope, float(value), limit.limit_value, float(used), status,
                       limit.breach_action, detail)
