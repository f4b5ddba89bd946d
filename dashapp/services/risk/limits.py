"""Risk limits: listed, created and edited with validation and an audit record, and measured."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit
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
    """Create or update one limit (risk and admin only); every change is audited with old and new."""
    if not has_permission(role, Perm.LIMITS_EDIT):
        raise PermissionDenied(f"role {role!r} may not edit limits (needs {Perm.LIMITS_EDIT.value})")
    if kind not in LIMIT_KINDS:
        raise ValidationError(f"unknown limit kind {kind!r}: one of {', '.join(LIMIT_KINDS)}", field="kind")
    if breach_action not in BREACH_ACTIONS:
        raise ValidationError(f"breach action must be one of {', '.join(BREACH_ACTIONS)}", field="breach_action")
    scope = (scope or "*").strip()[:64] or "*"
    value = _number(limit_value, "limit_value", maximum=1.0 if kind == "drawdown" else None)
    warn = _number(warn_at, "warn_at", maximum=1.0)
    with unit_of_work() as session:
        row = session.get(RiskLimit, limit_id) if limit_id else session.execute(
            sa.select(RiskLimit).where(RiskLimit.kind == kind, RiskLimit.scope == scope)).scalar()
        if limit_id and row is None:
            raise NotFound(f"no limit with id {limit_id}", field="limit_id")
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
