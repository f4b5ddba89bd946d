"""Notification dispatch: the runner calls `run(now)` after each evaluation pass.

One pass, in one transaction:
1. take the dispatch lock (PostgreSQL: a transaction-level advisory lock, tried, not waited for, so a
   second runner skips the pass; SQLite: the write lock, taken by touching the cursor row first);
2. read the AlertEvents after the durable cursor (AppSetting `alerts.dispatch_cursor`), at most
   BATCH of them, to know which alerts changed and which were acknowledged;
3. route every alert that is firing (or resolved recently) through the policy tree into groups and
   flush the groups that are due (grouping.py), queue PagerDuty "acknowledge" for new acks, escalate
   what is due (escalation.py); every decision is a `notifications` row;
4. move the cursor.
After the commit, delivery.py sends what is due (queued rows, and retries whose time has come) on a
small thread pool, so slow channels never hold the runner; `wait=True` sends inline (tests, CLI)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import delivery, escalation, grouping
from dashapp.services.unit_of_work import unit_of_work
from models import AppSetting
from models.alerts import AlertEvent

CURSOR_KEY = "alerts.dispatch_cursor"
BATCH = 2000  # events per pass; a backlog drains over the next passes
TRANSITIONS = ("pending", "firing", "recovering", "normal", "nodata", "error", "resolve", "silence", "snooze",
               "unack")
_PG_LOCK = 0x414C5254  # "ALRT"


@dataclass
class DispatchReport:
    events: int = 0  # alert events consumed after the cursor
    queued: int = 0  # notification rows queued for delivery
    suppressed: int = 0  # notification rows recorded as suppressed (with a reason)
    sent: int = 0  # deliveries that succeeded (only counted when run with wait=True)
    failed: int = 0  # deliveries that gave up (wait=True)
    retrying: int = 0  # deliveries that will be tried again (wait=True)
    submitted: int = 0  # deliveries handed to the thread pool
    escalated: int = 0
    cursor: int = 0
    skipped: bool = False  # another dispatcher held the lock
    reasons: dict[str, int] = field(default_factory=dict)


def _ensure_cursor_row() -> None:
    if db.session.get(AppSetting, CURSOR_KEY) is not None:
        return
    try:
        with unit_of_work() as session:
            session.add(AppSetting(key=CURSOR_KEY, value={"id": 0}, updated_by="alerter"))
    except sa.exc.IntegrityError:  # another dispatcher created it first
        db.session.rollback()


def _lock(session) -> bool:
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_LOCK}).scalar())
    session.execute(sa.update(AppSetting).where(AppSetting.key == CURSOR_KEY).values(updated_by="alerter")
                    .execution_options(synchronize_session=False))
    return True


def cursor() -> int:
    row = db.session.get(AppSetting, CURSOR_KEY)
    return int((row.value or {}).get("id", 0)) if row is not None and isinstance(row.value, dict) else 0


def run(now: datetime, *, wait: bool = False, deliver: bool = True) -> DispatchReport:
    """One dispatch pass at `now` (aware UTC). Safe to call after every evaluation pass, and from two
    processes at once. `wait=True` delivers inline and counts outcomes; `deliver=False` only decides."""
    report = DispatchReport()
    _ensure_cursor_row()
    with unit_of_work() as session:
        if not _lock(session):
            report.skipped = True
            return report
        session.expire_all()  # read the cursor and the alerts as they are now that the lock is ours
        start = cursor()
        events = list(session.execute(sa.select(AlertEvent.id, AlertEvent.instance_id, AlertEvent.kind)
                                      .where(AlertEvent.id > start).order_by(AlertEvent.id).limit(BATCH)))
        changed = {e.instance_id for e in events if e.kind in TRANSITIONS}
        acked = [e.instance_id for e in events if e.kind == "ack"]
        instances = grouping.candidates(session, now)
        ctx = grouping.load_context(session, now, instances)
        grouping.run_groups(session, ctx, instances, changed)
        by_id = {i.id: i for i in instances}
        grouping.run_acks(session, ctx, by_id, acked)
        report.escalated = escalation.run(session, ctx, instances)
        report.cursor = events[-1].id if events else start
        if events:
            session.get(AppSetting, CURSOR_KEY).value = {"id": report.cursor}
        report.events = len(events)
        report.queued = ctx.counts.get("queued", 0)
        report.suppressed = ctx.counts.get("suppressed", 0)
        report.reasons = {k.split(":", 1)[1]: v for k, v in ctx.counts.items() if k.startswith("reason:")}
    if deliver:
        outcome = delivery.process_due(now, wait=wait)
        report.submitted = outcome.submitted
        report.sent, report.failed, report.retrying = outcome.sent, outcome.failed, outcome.retrying
    return report
