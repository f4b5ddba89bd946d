"""Safe controls: desired engine state, the kill switch (four-eyes reset) and the trading mode.

The kill-switch reset and trading mode LIVE are four-eyes actions of the one approvals mechanism
(services/approvals.py): `request_kill_switch_reset` / `set_trading_mode(.., "live")` file a request,
`approve_kill_switch_reset` approves the pending one, and only the approval runs the executors below.

A control action never touches a process. It writes desired state (with a reason, an idempotency
key and an audit record); the engine supervisor and the engine reconcile to it, and the pages show
what the engine itself reports. Every function checks the caller's role against the one matrix
again, so a path that forgot a guard still cannot act.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.dialects import postgresql, sqlite

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import app_settings, approvals, audit, mfa
from dashapp.services.approvals import ActionSpec, Actor
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import ApprovalRequest, ControlAction, EngineControl, EngineState, KillSwitch, utcnow

GLOBAL = "global"
DEFAULT_ENGINE = "paper-1"
HEARTBEAT_STALE_AFTER = timedelta(seconds=10)
ENGINE_ACTIONS = ("start", "stop", "restart")


def _require(role: str, perm: Perm) -> None:
    if not has_permission(role, perm):
        raise PermissionDenied(f"role {role!r} may not do this (needs {perm.value})")


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError("a reason of at least 5 characters is required", field="reason")
    return reason[:300]


def _check_key(key: str | None) -> str:
    if not key or not isinstance(key, str):
        raise ValidationError("an idempotency key is required for control actions", field="idempotency_key")
    if len(key) > 128:
        raise ValidationError("idempotency key is longer than 128 characters", field="idempotency_key")
    return key


def _earlier(key: str, actor: str, action: str, target: str) -> ControlAction | None:
    """The stored outcome of this key. A key that answered another person, action or target is a
    client bug (or a guess at someone else's key): refused, never replayed."""
    row = db.session.execute(sa.select(ControlAction).where(ControlAction.idempotency_key == key)).scalar()
    if row is not None and (row.actor, row.action, row.target) != (actor, action, target):
        raise Conflict("this idempotency key was already used for a different control action",
                       field="idempotency_key")
    return row


def _replayed(key: str | None, actor: str, action: str, target: str) -> ControlAction | None:
    """The earlier outcome of this idempotency key, if it was used: a double click acts once."""
    return _earlier(_check_key(key), actor, action, target)


def _claim(key: str, actor: str, action: str, target: str) -> str | None:
    """Take the key inside the current transaction before acting, or return the outcome of the
    request that holds it. INSERT .. ON CONFLICT DO NOTHING instead of catching IntegrityError: a
    concurrent same-key request waits for the holder's commit (PostgreSQL: the unique index; SQLite:
    the write lock), then sees its row and answers with it; the transaction stays usable, and
    nothing is changed twice. If the holder rolls back (it was refused), the key is free again."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ControlAction.__table__)
    stmt = insert.values(idempotency_key=key, actor=actor, action=action, target=target, outcome="",
                         created_at=utcnow()).on_conflict_do_nothing(index_elements=["idempotency_key"])
    if db.session.execute(stmt.returning(ControlAction.__table__.c.id)).first() is not None:
        return None
    return _earlier(key, actor, action, target).outcome


def _remember(key: str, actor: str, action: str, target: str, outcome: str) -> None:
    db.session.execute(sa.update(ControlAction).where(ControlAction.idempotency_key == key).values(outcome=outcome)
                       .execution_options(synchronize_session=False))


def kill_switch() -> KillSwitch:
    row = db.session.get(KillSwitch, GLOBAL)
    return row if row is not None else KillSwitch(scope=GLOBAL, active=False, reason="")


def _kill_switch_row() -> KillSwitch:
    row = db.session.get(KillSwitch, GLOBAL)
    if row is None:
        row = KillSwitch(scope=GLOBAL, active=False, reason="", updated_at=utcnow())
        db.session.add(row)
    return row


def _control_row(engine_id: str) -> EngineControl:
    row = db.session.get(EngineControl, engine_id)
    if row is None:
        row = EngineControl(engine_id=engine_id, desired_status="running", generation=0, updated_by="system",
                            updated_at=utcnow())
        db.session.add(row)
    return row


def control_engine(actor: str, role: str, engine_id: str, action: str, reason: str, idempotency_key: str) -> str:
    """Start / stop / restart: returns what happened, in words for the page."""
    _require(role, Perm.ENGINE_CONTROL)
    if action not in ENGINE_ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(ENGINE_ACTIONS)}", field="action")
    reason = _reason(reason)
    if (earlier := _replayed(idempotency_key, actor, f"engine.{action}", engine_id)) is not None:
        return earlier.outcome
    if action in ("start", "restart") and kill_switch().active:
        raise Conflict("the kill switch is on: reset it (four-eyes) before starting the engine", field="action")
    with unit_of_work():
        if (outcome := _claim(idempotency_key, actor, f"engine.{action}", engine_id)) is not None:
            return outcome
        row = _control_row(engine_id)
        desired = "stopped" if action == "stop" else "running"
        if action != "restart" and row.desired_status == desired:
            outcome = f"{engine_id} is already {'stopped' if desired == 'stopped' else 'running'} (desired state)"
        else:
            row.desired_status = desired
            row.generation += 1 if action == "restart" else 0
            outcome = f"{engine_id}: {action} requested"
        row.reason, row.updated_by, row.updated_at = reason, actor, utcnow()
        _remember(idempotency_key, actor, f"engine.{action}", engine_id, outcome)
        audit.record(actor, f"engine.{action}", f"engine:{engine_id}", {"reason": reason, "outcome": outcome})
    return outcome


def activate_kill_switch(actor: str, role: str, reason: str, idempotency_key: str) -> str:
    _require(role, Perm.KILL_SWITCH_ACTIVATE)
    reason = _reason(reason)
    if (earlier := _replayed(idempotency_key, actor, "kill_switch.activate", GLOBAL)) is not None:
        return earlier.outcome
    with unit_of_work():
        if (outcome := _claim(idempotency_key, actor, "kill_switch.activate", GLOBAL)) is not None:
            return outcome
        row = _kill_switch_row()
        if row.active:
            outcome = "kill switch is already on"
        else:
            row.active, row.reason, row.activated_by, row.activated_at = True, reason, actor, utcnow()
            row.reset_requested_by = row.reset_requested_at = row.reset_reason = None
            outcome = "kill switch ON: engines cancel working orders and accept no new ones"
        row.updated_at = utcnow()
        _remember(idempotency_key, actor, "kill_switch.activate", GLOBAL, outcome)
        audit.record(actor, "kill_switch.activate", "kill_switch:global", {"reason": reason})
    return outcome


def request_kill_switch_reset(actor: str, role: str, reason: str, idempotency_key: str) -> str:
    _require(role, Perm.KILL_SWITCH_REQUEST_RESET)
    reason = _reason(reason)
    if (earlier := _replayed(idempotency_key, actor, "kill_switch.request_reset", GLOBAL)) is not None:
        return earlier.outcome
    with unit_of_work():
        if (outcome := _claim(idempotency_key, actor, "kill_switch.request_reset", GLOBAL)) is not None:
            return outcome
        row = _kill_switch_row()
        if not row.active:
            raise Conflict("the kill switch is not on: there is nothing to reset", field="kill_switch")
        request = approvals.request(RESET, {}, Actor(actor, role), reason)
        row.reset_requested_by, row.reset_requested_at, row.reset_reason = actor, utcnow(), reason
        row.updated_at = utcnow()
        outcome = (f"reset requested by {actor} (request #{request.id}): waits for a risk or admin user other "
                   f"than {actor}")
        _remember(idempotency_key, actor, "kill_switch.request_reset", GLOBAL, outcome)
        audit.record(actor, "kill_switch.request_reset", "kill_switch:global", {"reason": reason})
    return outcome


def _pending(action: str) -> ApprovalRequest | None:
    return db.session.execute(sa.select(ApprovalRequest).where(
        ApprovalRequest.action == action, ApprovalRequest.state == "pending", ApprovalRequest.expires_at > utcnow())
        .order_by(ApprovalRequest.id.desc()).limit(1)).scalar()


def approve_kill_switch_reset(actor: str, role: str, idempotency_key: str) -> str:
    """Approve the pending reset request (four-eyes, fresh MFA): the approval executes the reset."""
    _require(role, Perm.KILL_SWITCH_APPROVE_RESET)
    if (earlier := _replayed(idempotency_key, actor, "kill_switch.approve_reset", GLOBAL)) is not None:
        return earlier.outcome
    if not kill_switch().active:
        raise Conflict("the kill switch is not on", field="kill_switch")
    pending = _pending(RESET)
    if pending is None:
        raise Conflict("no reset has been requested: a second person must request it first", field="kill_switch")
    who = Actor(actor, role)
    approvals.check_approvable(pending.id, who)  # own request, role, MFA: refused (and audited) before any claim
    with unit_of_work():
        if (outcome := _claim(idempotency_key, actor, "kill_switch.approve_reset", GLOBAL)) is not None:
            return outcome
        outcome = approvals.approve(pending.id, who).result["outcome"]
        _remember(idempotency_key, actor, "kill_switch.approve_reset", GLOBAL, outcome)
    return outcome


def _execute_reset(params: dict, requested_by: str, approved_by: str) -> dict:
    approvals.require_executing(RESET)
    row = _kill_switch_row()
    if not row.active:
        raise Conflict("the kill switch was reset meanwhile", field="kill_switch")
    row.active = False
    row.reason = ""
    row.reset_requested_by = row.reset_requested_at = row.reset_reason = None
    row.updated_at = utcnow()
    audit.record(approved_by, "kill_switch.approve_reset", "kill_switch:global",
                 {"requested_by": requested_by, "approval": approvals.executing_request_id()})
    return {"outcome": f"kill switch reset: requested by {requested_by}, approved by {approved_by}"}


def set_trading_mode(actor: str, role: str, mode: str, reason: str) -> str:
    """PAPER at once (it only makes the desk safer); LIVE is a four-eyes request that another admin
    approves (with a fresh second factor on both sides)."""
    _require(role, Perm.TRADING_MODE_SET)
    if mode not in ("paper", "live"):
        raise ValidationError("mode must be 'paper' or 'live'", field="mode")
    reason = _reason(reason)
    if mode == "live":
        mfa.require_fresh(actor, "requesting LIVE trading")
        request = approvals.request(LIVE, {"mode": "live"}, Actor(actor, role), reason)
        return f"LIVE trading requested (request #{request.id}): another admin must approve it"
    with unit_of_work():
        old = app_settings.get("trading_mode")
        app_settings.put("trading_mode", mode, actor)
        audit.record(actor, "trading_mode.set", "trading_mode", {"from": old, "to": mode, "reason": reason})
    return "trading mode is PAPER"


def _execute_live(params: dict, requested_by: str, approved_by: str) -> dict:
    approvals.require_executing(LIVE)
    old = app_settings.get("trading_mode")
    app_settings.put("trading_mode", "live", approved_by)
    audit.record(approved_by, "trading_mode.set", "trading_mode",
                 {"from": old, "to": "live", "requested_by": requested_by, "approval": approvals.executing_request_id()})
    return {"outcome": "trading mode is LIVE; note: the built-in engine is a paper engine and never sends real orders"}


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _LiveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["live"]


RESET, LIVE = "kill_switch.reset", "trading_mode.live"
approvals.register_action(ActionSpec(
    name=RESET, title="kill-switch reset", request_perm=Perm.KILL_SWITCH_REQUEST_RESET,
    approve_perm=Perm.KILL_SWITCH_APPROVE_RESET, params_model=_NoParams, execute=_execute_reset,
    describe=lambda params: "reset the global kill switch (engines may trade again)", ttl_minutes=60, mfa=True))
approvals.register_action(ActionSpec(
    name=LIVE, title="trading mode LIVE", request_perm=Perm.TRADING_MODE_SET, approve_perm=Perm.TRADING_MODE_SET,
    params_model=_LiveParams, execute=_execute_live, describe=lambda params: "switch the desk to LIVE trading",
    ttl_minutes=60, mfa=True))


@dataclass(frozen=True)
class EngineView:
    engine_id: str
    desired: str
    generation: int
    actual: str
    stage: str
    heartbeat_at: datetime | None
    heartbeat_age_s: float | None
    version: str
    pid: int | None
    kill_switch_active: bool
    kill_switch_reason: str
    reset_requested_by: str | None
    trading_mode: str
    block_new_orders_reason: str = ""  # set by the risk monitor when a limit with that action is breached

    def to_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def engine_view(engine_id: str = DEFAULT_ENGINE) -> EngineView:
    """Desired and actual state side by side. A heartbeat older than 10 s makes the actual 'stale'."""
    control = db.session.get(EngineControl, engine_id)
    state = db.session.get(EngineState, engine_id)
    switch = kill_switch()
    now = utcnow()
    actual, age = "unknown", None
    if state is not None and state.heartbeat_at is not None:
        age = (now - state.heartbeat_at).total_seconds()
        actual = state.status if age <= HEARTBEAT_STALE_AFTER.total_seconds() or state.status in ("stopped", "crashed") \
            else "stale"
    return EngineView(
        engine_id=engine_id, desired=control.desired_status if control else "running",
        generation=control.generation if control else 0, actual=actual, stage=state.stage if state else "",
        heartbeat_at=state.heartbeat_at if state else None, heartbeat_age_s=age,
        version=state.version if state else "", pid=state.pid if state else None,
        kill_switch_active=bool(switch.active), kill_switch_reason=switch.reason or "",
        reset_requested_by=(pending.requested_by if switch.active and (pending := _pending(RESET)) else None),
        trading_mode=app_settings.get("trading_mode") or "paper",
        block_new_orders_reason=app_settings.get("risk.block_new_orders") or "",
    )


def record_engine_down(engine_id: str, status: str, why: str) -> None:
    """Written by the engine supervisor: a stopped or crashed engine cannot report itself."""
    with unit_of_work() as session:
        state = session.get(EngineState, engine_id)
        if state is None:
            state = EngineState(engine_id=engine_id, detail={})
            session.add(state)
        state.status, state.stage, state.heartbeat_at = status, "", utcnow()
        state.detail = {**(state.detail or {}), "supervisor": why}
