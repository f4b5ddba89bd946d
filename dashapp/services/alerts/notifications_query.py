"""The notification history: every notification sent, tried or suppressed, searchable by time, rule,
labels, status, reason, event and contact point (the Alerts page's notification log, the REST API).

Reads are bounded: a time window clipped to the store's bounds (default: the last 7 days), at most
MAX_LIMIT rows, newest first. Label matchers are applied to the alert's labels after the SQL filters,
over at most SCAN rows."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import matchers as matcher_lib
from dashapp.services.errors import ValidationError
from models import utcnow
from models.alerts import NOTIFICATION_STATUSES, AlertInstance, AlertRule, ContactPoint, Notification

REASONS = ("grouped", "inhibited", "silenced", "muted", "snoozed", "acknowledged", "repeat_interval", "no_route")
EVENTS = ("firing", "resolved", "acknowledged", "escalation", "test")
DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=366)
MAX_LIMIT, SCAN = 1000, 5000


def _choices(value, allowed: tuple[str, ...], field: str) -> tuple[str, ...]:
    if value in (None, "", []):
        return ()
    values = (value,) if isinstance(value, str) else tuple(value)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(f"{field}: {str(unknown[0])[:30]!r} is not one of {', '.join(allowed)}", field=field)
    return values


def search(start: datetime | None = None, end: datetime | None = None, rule=None, labels=None, status=None,
           reason=None, event=None, contact_point=None, instance_id: int | None = None, limit: int = 200,
           now: datetime | None = None) -> list[dict]:
    """Rows (dicts, the page's column names) newest first. `rule`: id or name; `labels`: matchers
    (`desk=equities, venue=~"X.*"`); `status`, `reason`, `event`: one value or a list; `contact_point`:
    id or name."""
    now = now or utcnow()
    end = end or now
    start = start or end - DEFAULT_WINDOW
    if end < start:
        raise ValidationError("the end of the window is before its start", field="end")
    if end - start > MAX_WINDOW:
        raise ValidationError(f"the window is at most {MAX_WINDOW.days} days", field="start")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be 1-{MAX_LIMIT}", field="limit")
    wanted = matcher_lib.parse(labels, "labels")
    stmt = (sa.select(Notification, AlertInstance.labels, AlertInstance.rule_id, AlertRule.name, ContactPoint.name,
                      ContactPoint.kind)
            .outerjoin(AlertInstance, AlertInstance.id == Notification.instance_id)
            .outerjoin(AlertRule, AlertRule.id == AlertInstance.rule_id)
            .outerjoin(ContactPoint, ContactPoint.id == Notification.contact_point_id)
            .where(Notification.created_at >= start, Notification.created_at <= end)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))
    for column, values in ((Notification.status, _choices(status, NOTIFICATION_STATUSES, "status")),
                           (Notification.reason, _choices(reason, REASONS, "reason")),
                           (Notification.event, _choices(event, EVENTS, "event"))):
        if values:
            stmt = stmt.where(column.in_(values))
    if rule not in (None, ""):
        stmt = stmt.where(AlertRule.id == rule if isinstance(rule, int) else AlertRule.name == str(rule)[:80])
    if contact_point not in (None, ""):
        stmt = stmt.where(ContactPoint.id == contact_point if isinstance(contact_point, int)
                          else ContactPoint.name == str(contact_point)[:80])
    if instance_id is not None:
        stmt = stmt.where(Notification.instance_id == int(instance_id))
    rows = []
    for note, alert_labels, rule_id, rule_name, cp_name, cp_kind in db.session.execute(
            stmt.limit(SCAN if wanted else limit)):
        if wanted and not matcher_lib.matches(wanted, alert_labels or {}):
            continue
        rows.append(row_dict(note, alert_labels or {}, rule_id, rule_name, cp_name, cp_kind))
        if len(rows) >= limit:
            break
    return rows


def row_dict(note: Notification, labels: dict, rule_id, rule_name, cp_name, cp_kind) -> dict:
    return {"id": note.id, "created_at": note.created_at.isoformat() if note.created_at else None,
            "event": note.event, "status": note.status, "reason": note.reason, "contact_point": cp_name or "",
            "kind": cp_kind or "", "rule": rule_name or "", "rule_id": rule_id, "alert_id": note.instance_id,
            "labels_text": ", ".join(f"{k}={v}" for k, v in sorted(labels.items())), "attempts": note.attempts,
            "last_error": note.last_error, "sent_at": note.sent_at.isoformat() if note.sent_at else None,
            "next_attempt_at": note.next_attempt_at.isoformat() if note.next_attempt_at else None,
            "group": note.group_id, "dedup_key": note.dedup_key}


def counts(since: datetime, now: datetime | None = None) -> dict[str, int]:
    """Notifications by status (and suppressions by reason) since `since`: the page's summary line."""
    out: dict[str, int] = {}
    for status, reason, n in db.session.execute(
            sa.select(Notification.status, Notification.reason, sa.func.count())
            .where(Notification.created_at >= since, Notification.created_at <= (now or utcnow()))
            .group_by(Notification.status, Notification.reason)):
        key = f"suppressed:{reason}" if status == "suppressed" else status
        out[key] = out.get(key, 0) + int(n)
    return out
