"""Silences: matchers + a window [starts_at, ends_at) + a comment. While active, a matching alert's
notifications are suppressed (recorded with reason "silenced"); the alert still shows in the inbox.
A silence can be ended early (`expire_silence`), which keeps it in the history with `expired_by`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, bounds
from dashapp.services.alerts import matchers as matcher_lib
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import Silence

MAX_DURATION = timedelta(days=90)
MAX_COMMENT = 300
MAX_LIST = 500


def _instant(value, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{field} must be an ISO 8601 date and time", field=field) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be a date and time", field=field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def create_silence(actor: str, data: dict, now: datetime | None = None) -> Silence:
    """`data = {"matchers": [...] or "a=b, c=~x", "starts_at": iso|datetime (default now),
    "ends_at": iso|datetime, or "duration_minutes": int, "comment": str}`."""
    now = now or utcnow()
    if not isinstance(data, dict):
        raise ValidationError("a silence is an object", field="silence")
    matchers = matcher_lib.parse(data.get("matchers"))
    if not matchers:
        raise ValidationError("a silence needs at least one matcher (it would silence everything)", field="matchers")
    starts = _instant(data["starts_at"], "starts_at") if data.get("starts_at") else now
    if data.get("ends_at"):
        ends = _instant(data["ends_at"], "ends_at")
    else:
        minutes = data.get("duration_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
            raise ValidationError("give ends_at, or duration_minutes as a positive whole number", field="ends_at")
        ends = starts + timedelta(minutes=min(minutes, int(MAX_DURATION.total_seconds() // 60) + 1))
    if ends <= starts:
        raise ValidationError("ends_at must be after starts_at", field="ends_at")
    if ends <= now:
        raise ValidationError("ends_at is in the past: this silence would never be active", field="ends_at")
    if ends - starts > MAX_DURATION:
        raise ValidationError(f"a silence lasts at most {MAX_DURATION.days} days", field="ends_at")
    if starts > now + timedelta(days=365):
        raise ValidationError("starts_at is more than a year ahead", field="starts_at")
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT or bounds.has_control_characters(comment):
        raise ValidationError(f"comment must be at most {MAX_COMMENT} characters, no control characters",
                              field="comment")
    with unit_of_work() as session:
        row = Silence(matchers=matchers, starts_at=starts, ends_at=ends, comment=comment.strip(), created_by=actor,
                      created_at=now)
        session.add(row)
        session.flush()
        audit.record(actor, "alerts.silence.create", f"silence:{row.id}",
                     {"matchers": matchers, "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
                      "comment": row.comment})
    return row


def expire_silence(actor: str, silence_id: int, now: datetime | None = None) -> Silence:
    """End a silence now (one that has not started yet ends before it starts)."""
    now = now or utcnow()
    with unit_of_work() as session:
        row = session.get(Silence, silence_id)
        if row is None:
            raise NotFound(f"silence {silence_id} not found")
        if row.ends_at <= now or row.expired_by:
            raise Conflict(f"silence {silence_id} has already ended")
        row.ends_at = max(now, row.starts_at + timedelta(microseconds=1))
        row.expired_by = actor
        audit.record(actor, "alerts.silence.expire", f"silence:{silence_id}", {"ended_at": row.ends_at.isoformat()})
    return row


def is_active(silence: Silence, at: datetime) -> bool:
    return silence.starts_at <= at < silence.ends_at


def active_silences(at: datetime) -> list[Silence]:
    rows = db.session.execute(sa.select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at)
                              .order_by(Silence.id).limit(MAX_LIST)).scalars()
    return [row for row in rows if is_active(row, at)]


def list_silences(at: datetime | None = None, include_ended: bool = False, limit: int = 200) -> list[Silence]:
    """Newest first; without include_ended only silences active or still to come at `at`."""
    at = at or utcnow()
    stmt = sa.select(Silence).order_by(Silence.id.desc()).limit(max(1, min(limit, MAX_LIST)))
    if not include_ended:
        stmt = stmt.where(Silence.ends_at > at)
    return list(db.session.execute(stmt).scalars())


def silencing(labels: dict, silences: list[Silence]) -> Silence | None:
    """The first silence whose matchers all hold for `labels`, or None."""
    for silence in silences:
        if matcher_lib.matches(silence.matchers, labels):
            return silence
    return None
