"""Notification dispatch: the runner calls `run(now)` after each evaluation pass.

It consumes AlertEvents after the durable cursor (AppSetting `alerts.dispatch_cursor`), routes each
alert through the notification policy tree, groups, suppresses (recording why) and queues sends.
This first version only advances the cursor; the full pipeline follows in the same module."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.unit_of_work import unit_of_work
from models import AppSetting
from models.alerts import AlertEvent

CURSOR_KEY = "alerts.dispatch_cursor"


@dataclass
class DispatchReport:
    events: int = 0  # alert events consumed after the cursor
    queued: int = 0  # notification rows queued for delivery
    suppressed: int = 0  # notification rows recorded as suppressed (with a reason)
    sent: int = 0  # deliveries that succeeded in this pass
    failed: int = 0  # deliveries that gave up in this pass
    escalated: int = 0
    cursor: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def run(now: datetime) -> DispatchReport:
    """One dispatch pass at `now` (UTC). Safe to call after every evaluation pass."""
    report = DispatchReport()
    with unit_of_work() as session:
        row = session.get(AppSetting, CURSOR_KEY)
        cursor = int((row.value or {}).get("id", 0)) if row is not None and isinstance(row.value, dict) else 0
        last = session.execute(sa.select(sa.func.max(AlertEvent.id)).where(AlertEvent.id > cursor)).scalar()
        if last is not None:
            report.events = session.execute(
                sa.select(sa.func.count()).select_from(AlertEvent).where(AlertEvent.id > cursor)).scalar() or 0
            if row is None:
                session.add(AppSetting(key=CURSOR_KEY, value={"id": int(last)}, updated_by="alerter"))
            else:
                row.value = {"id": int(last)}
            cursor = int(last)
    report.cursor = cursor
    return report
