"""The desk's risk state: ONE definition, read by the Command Center's card, the Risk War Room's
badge, the risk monitor, exports and reports alike.

It used to be computed twice: the Command Center raised WARNING for any risk-gate block in the last
five minutes (the pre-trade gate refusing an order over the rate limit is the gate doing its job,
and the paper engine hits it all day) while the War Room looked at limits only, so the two pages
disagreed for good. Here the level comes from what is a risk condition, and the rest are notes:

* CRITICAL: the kill switch is on, or a limit is in breach (measured now or an open breach record);
* WARNING: a limit is past its warning threshold;
* OK otherwise. Risk-gate blocks and a monitor's order block are listed as notes, never a level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from models import LimitBreach, RiskDecision, utcnow

LEVELS = ("OK", "WARNING", "CRITICAL")
GATE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class RiskState:
    level: str
    reasons: list[str] = field(default_factory=list)  # why the level is what it is
    notes: list[str] = field(default_factory=list)  # context that does not change the level


def assess(utilisation: list) -> RiskState:
    """The state for limit measurements `utilisation` (services.risk.limits.Utilisation) and the
    stored facts: the kill switch, open breach records, recent risk-gate decisions."""
    from dashapp.services import controls

    reasons, level = [], "OK"
    switch = controls.kill_switch()
    if switch.active:
        reasons.append(f"kill switch on: {switch.reason}")
        level = "CRITICAL"
    measured = {u.limit_id for u in utilisation if u.status == "BREACH"}
    for u in utilisation:
        if u.status == "BREACH":
            reasons.append(f"limit breach: {u.kind} {u.scope} at {u.utilisation:.0%}")
            level = "CRITICAL"
    for limit_id, detail in db.session.execute(sa.select(LimitBreach.limit_id, LimitBreach.detail).where(
            LimitBreach.closed_at.is_(None))).all():
        if limit_id not in measured:
            reasons.append(f"limit breach: {detail}")
            level = "CRITICAL"
    warnings = [u for u in utilisation if u.status == "WARNING"]
    if warnings and level == "OK":
        level = "WARNING"
    reasons += [f"limit warning: {u.kind} {u.scope} at {u.utilisation:.0%}" for u in warnings]
    return RiskState(level, reasons, _notes())


def _notes() -> list[str]:
    from dashapp.services.risk.monitor import block_reason

    notes = []
    if block_reason():
        notes.append("new orders blocked by the risk monitor")
    blocks = db.session.execute(sa.select(sa.func.count()).select_from(RiskDecision).where(
        RiskDecision.decision == "block", RiskDecision.ts >= utcnow() - GATE_WINDOW)).scalar()
    if blocks:
        notes.append(f"{blocks} orders refused by the pre-trade gate in the last 5 minutes (the gate working; "
                     "not a risk level)")
    return notes


def current() -> RiskState:
    """Measure the limits now (no breach actions: a page observes) and assess."""
    from dashapp.services.risk import monitor

    return monitor.evaluate(apply_actions=False).state
