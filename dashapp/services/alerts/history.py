"""History search over `alert_events` (every transition and every human action) joined with their
instances: a bounded time window, rule, label matchers, state (the event's new state or its kind),
actor; newest first, paginated. Label matchers are applied to the instances first (a small table),
then the events are read by instance id in SQL, so pages and totals stay exact."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import inbox
from dashapp.services.errors import ValidationError
from models import AlertEvent, AlertInstance, AlertRule, utcnow

MAX_WINDOW = timedelta(days=92)
DEFAULT_WINDOW = timedelta(days=7)
MAX_PAGE_SIZE = 500
MAX_MATCHED_INSTANCES = 5000
EVENT_KINDS = ("pending", "firing", "recovering", "normal", "nodata", "error", "ack", "unack", "assign", "snooze",
               "silence", "resolve", "note", "escalate")


@dataclass
class HistoryPage:
    rows: list[dict]
    total: int
    page: int
    page_size: int
    start: datetime
    end: datetime

    def to_dict(self) -> dict:
        return {"rows": self.rows, "total": self.total, "page": self.page, "page_size": self.page_size,
                "start": self.start.isoformat(timespec="seconds"), "end": self.end.isoformat(timespec="seconds")}


def _moment(value, field_name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
    else:
        moment = None
    if moment is None:
        raise ValidationError(f"{field_name}: not a date and time (ISO 8601, e.g. 2026-12-01T09:30)", field=field_name)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _int(value, field_name: str, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not str(value).strip().isdigit() or not low <= int(str(value).strip()) <= high:
        raise ValidationError(f"{field_name}: a whole number from {low} to {high}", field=field_name)
    return int(str(value).strip())


def search(start=None, end=None, rule=None, labels=None, state=None, actor=None, page=1, page_size=100,
           now: datetime | None = None) -> HistoryPage:
    """One page of matching events, newest first. `rule` is a rule id or name; `state` an event kind."""
    now = now or utcnow()
    end_at = _moment(end, "end") or now
    start_at = _moment(start, "start") or end_at - DEFAULT_WINDOW
    if start_at >= end_at:
        raise ValidationError("start: must be before end", field="start")
    if end_at - start_at > MAX_WINDOW:
        raise ValidationError(f"start: the window is at most {MAX_WINDOW.days} days", field="start")
    page = _int(page, "page", 1, 1, 100_000)
    size = _int(page_size, "page_size", 100, 1, MAX_PAGE_SIZE)
    stmt = sa.select(AlertEvent).where(AlertEvent.at >= start_at, AlertEvent.at <= end_at)
    if state not in (None, ""):
        if state not in EVENT_KINDS:
            raise ValidationError(f"state: one of {', '.join(EVENT_KINDS)}", field="state")
        stmt = stmt.where(AlertEvent.kind == state)
    actor = inbox._bounded_text(actor, "actor", 64)
    if actor:
        stmt = stmt.where(AlertEvent.actor == actor)
    rule_id = _rule_id(rule)
    if rule_id is not None:
        stmt = stmt.where(AlertEvent.rule_id == rule_id)
    matchers = inbox.parse_matchers(labels)
    if matchers:
        candidates = sa.select(AlertInstance.id, AlertInstance.labels)
        if rule_id is not None:
            candidates = candidates.where(AlertInstance.rule_id == rule_id)
        ids = [i for i, lab in db.session.execute(candidates.limit(MAX_MATCHED_INSTANCES)).all()
               if all(m.matches(lab or {}) for m in matchers)]
        stmt = stmt.where(AlertEvent.instance_id.in_(ids or [-1]))
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar() or 0
    events = db.session.execute(stmt.order_by(AlertEvent.at.desc(), AlertEvent.id.desc())
                                .offset((page - 1) * size).limit(size)).scalars().all()
    return HistoryPage(_rows(events), int(total), page, size, start_at, end_at)


def _rule_id(rule) -> int | None:
    if rule in (None, ""):
        return None
    if isinstance(rule, int) and not isinstance(rule, bool):
        return rule
    text = inbox._bounded_text(rule, "rule", 80)
    if text.isdigit():
        return int(text)
    found = db.session.execute(sa.select(AlertRule.id).where(AlertRule.name == text)).scalar()
    if found is None:
        raise ValidationError(f"rule: no rule called {text!r}", field="rule")
    return found


def _rows(events: list[AlertEvent]) -> list[dict]:
    ids = {e.instance_id for e in events}
    instances = {i.id: i for i in db.session.execute(
        sa.select(AlertInstance).where(AlertInstance.id.in_(ids or [-1]))).scalars()}
    names = inbox._rule_names()
    out = []
    for event in events:
        instance = instances.get(event.instance_id)
        out.append({"id": event.id, "at": event.at.isoformat(timespec="seconds"), "kind": event.kind,
                    "rule": names.get(event.rule_id, ""), "alert_id": event.instance_id,
                    "labels": inbox.labels_text(instance.labels if instance else {}),
                    "from_state": event.from_state or "", "to_state": event.to_state or "",
                    "episode": event.episode, "value": event.value, "actor": event.actor, "note": event.note,
                    "severity": instance.severity if instance else ""})
    return out


def events_for(instance_id: int, limit: int = 200) -> list[dict]:
    """The newest events of one alert (the inbox's detail panel)."""
    events = db.session.execute(sa.select(AlertEvent).where(AlertEvent.instance_id == instance_id)
                                .order_by(AlertEvent.at.desc(), AlertEvent.id.desc()).limit(limit)).scalars().all()
    return _rows(events)
