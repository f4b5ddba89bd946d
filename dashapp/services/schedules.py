"""Report schedules: validated and audited changes, the next-run arithmetic, and the due-slot
launcher that beat calls.

Time. A schedule lives in its own IANA zone: "daily at 07:00 Europe/London" means 07:00 on the
London wall clock, winter and summer. `next_run` walks wall-clock times in that zone (daily,
weekly and monthly cadences are cron expressions too) and stores the instant in UTC. Around a
DST change: a wall time that does not exist that day (spring forward, 02:30 in New York) runs when
the clocks have moved, shifted by the gap (03:30 local, the same instant as 02:30 in the old
offset); a wall time that happens twice (fall back, 01:30) runs once, at its first occurrence.

Idempotency. Each due slot launches one `report` job through `jobs.launch_scheduled` with a key
made of the schedule id and the slot's UTC instant, so two beats, or a tick retried after a
crash, find the job already launched; then `next_run_at` moves on with a conditional UPDATE
(`WHERE next_run_at = <the slot>`), which only one of them wins. Slots missed while beat was down
are coalesced: one report for the oldest, then the schedule continues from now.

"Run now" is idempotent on the page's request key alone: its job parameters are a function of the
schedule and that key, never of the clock (the report's as-of time is taken when the job runs), so a
click retried a second or a minute later finds the first click's job instead of a Conflict.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from flask import current_app
from sqlalchemy.exc import IntegrityError

from dashapp.extensions import db
from dashapp.reports import REPORT_KINDS
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit, jobs
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import ReportRun, ReportSchedule, utcnow

CADENCES = ("daily", "weekly", "monthly", "cron")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKBACK_HOURS = {"daily": 24, "weekly": 24 * 7, "monthly": 24 * 30, "cron": 24}
MIN_INTERVAL = timedelta(minutes=5)  # a cron that fires more often would flood inboxes and the archive
MAX_RECIPIENTS = 50
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
EMAIL_PATTERN = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                 r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_EMAIL_RE = re.compile(EMAIL_PATTERN)
_STEP_LIMIT = 5000
TIMING_FIELDS = ("cadence", "cron", "time_of_day", "weekday", "day_of_month", "timezone")
EDITABLE = ("name", "report_type", *TIMING_FIELDS, "recipients", "formats")


# --- the calendar ------------------------------------------------------------------------------


def cron_expression(cadence: str, time_of_day: str = "07:00", weekday: int | None = None,
                    day_of_month: int | None = None, cron: str | None = None) -> str:
    """The five-field cron expression (minute hour day month weekday) a cadence stands for."""
    if cadence == "cron":
        return " ".join((cron or "").split())
    hour, minute = (int(part) for part in time_of_day.split(":"))
    if cadence == "daily":
        return f"{minute} {hour} * * *"
    if cadence == "weekly":
        return f"{minute} {hour} * * {_CRON_DAYS[weekday]}"
    if cadence == "monthly":
        return f"{minute} {hour} {day_of_month} * *"
    raise ValueError(f"unknown cadence {cadence!r}")


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time is its first occurrence; a missing one takes the offset from
    # before the gap, which lands it after the gap by the gap's length (PEP 495).
    return wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def next_run(expression: str, zone_name: str, after: datetime) -> datetime:
    """The first run strictly after `after` (aware), in UTC. See the module doc for DST."""
    zone = ZoneInfo(zone_name)
    after = after.astimezone(timezone.utc)
    # Walk wall-clock times from a little before `after` (a DST shift moves at most a few hours),
    # keeping the first whose instant is later than `after`.
    start = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=3)
    walker = croniter(expression, start)
    for _ in range(_STEP_LIMIT):
        instant = _instant(walker.get_next(datetime), zone)
        if instant > after:
            return instant
    raise ValidationError(f"cron {expression!r} finds no run after {after:%Y-%m-%d %H:%M} UTC", field="cron")


def upcoming(expression: str, zone_name: str, after: datetime, count: int) -> list[datetime]:
    runs, at = [], after
    for _ in range(count):
        at = next_run(expression, zone_name, at)
        runs.append(at)
    return runs


def schedule_expression(schedule) -> str:
    return cron_expression(schedule.cadence, schedule.time_of_day, schedule.weekday, schedule.day_of_month,
                           schedule.cron)


def slot_key(schedule_id: int, at: datetime) -> str:
    return f"s{schedule_id}-{at.astimezone(timezone.utc):%Y%m%dT%H%MZ}"


# --- validation --------------------------------------------------------------------------------


def _split(value) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value or ""))
    return [str(item).strip() for item in items if str(item).strip()]


def _int_or_none(value, field: str, errors: list) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.append((field, f"{value!r} is not a whole number"))
        return None


def validate(data: dict) -> dict:
    """Clean column values from form or API input, or ValidationError naming every bad field."""
    errors: list[tuple[str, str]] = []
    clean: dict = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors.append(("name", "give the schedule a name"))
    elif len(name) > 120:
        errors.append(("name", "at most 120 characters"))
    clean["name"] = name
    report_type = data.get("report_type")
    kind = REPORT_KINDS.get(report_type)
    if kind is None:
        errors.append(("report_type", f"unknown report type {report_type!r}: choose {', '.join(REPORT_KINDS)}"))
    clean["report_type"] = report_type
    cadence = data.get("cadence")
    if cadence not in CADENCES:
        errors.append(("cadence", f"unknown cadence {cadence!r}: choose {', '.join(CADENCES)}"))
    clean["cadence"] = cadence
    time_of_day = str(data.get("time_of_day") or "07:00").strip()
    if len(time_of_day) == 4 and time_of_day[1] == ":":
        time_of_day = "0" + time_of_day
    if not _TIME_RE.match(time_of_day):
        errors.append(("time_of_day", f"{time_of_day!r} is not a time of day as HH:MM (00:00 to 23:59)"))
    clean["time_of_day"] = time_of_day
    weekday = _int_or_none(data.get("weekday"), "weekday", errors)
    day_of_month = _int_or_none(data.get("day_of_month"), "day_of_month", errors)
    clean["weekday"] = weekday if cadence == "weekly" else None
    clean["day_of_month"] = day_of_month if cadence == "monthly" else None
    if cadence == "weekly" and (weekday is None or not 0 <= weekday <= 6):
        errors.append(("weekday", "a weekly schedule needs a weekday (0 = Monday ... 6 = Sunday)"))
    if cadence == "monthly" and (day_of_month is None or not 1 <= day_of_month <= 28):
        errors.append(("day_of_month", "a monthly schedule needs a day of the month from 1 to 28"))
    cron = " ".join(str(data.get("cron") or "").split())
    clean["cron"] = cron if cadence == "cron" else None
    if cadence == "cron":
        _check_cron(cron, errors)
    zone = str(data.get("timezone") or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(("timezone", f"unknown time zone {zone!r}: use an IANA name such as Europe/London"))
    clean["timezone"] = zone
    recipients = list(dict.fromkeys(r.lower() for r in _split(data.get("recipients"))))
    bad = [r for r in recipients if not _EMAIL_RE.match(r) or len(r) > 254]
    if not recipients:
        errors.append(("recipients", "add at least one e-mail address"))
    elif bad:
        errors.append(("recipients", f"not an e-mail address: {', '.join(bad)}"))
    elif len(recipients) > MAX_RECIPIENTS:
        errors.append(("recipients", f"at most {MAX_RECIPIENTS} addresses"))
    clean["recipients"] = ",".join(recipients)
    formats = list(dict.fromkeys(f.lower() for f in _split(data.get("formats"))))
    allowed = kind.formats if kind else ("pdf", "xlsx")
    if not formats:
        errors.append(("formats", f"choose at least one format: {', '.join(allowed)}"))
    elif [f for f in formats if f not in allowed]:
        errors.append(("formats", f"{', '.join(f for f in formats if f not in allowed)} not available for this "
                                  f"report: choose from {', '.join(allowed)}"))
    clean["formats"] = ",".join(formats)
    if errors:
        raise ValidationError("; ".join(f"{field}: {message}" for field, message in errors), field=errors[0][0],
                              details=[{"field": field, "message": message} for field, message in errors])
    return clean


def _check_cron(cron: str, errors: list) -> None:
    if len(cron.split()) != 5:
        errors.append(("cron", f"{cron!r} is not a cron expression of five fields (minute hour day month weekday)"))
        return
    try:
        if not croniter.is_valid(cron):
            raise CroniterBadCronError(cron)
        runs = upcoming(cron, "UTC", utcnow(), 12)
    except (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError, ValidationError):
        errors.append(("cron", f"{cron!r} is not a valid cron expression, or it never runs"))
        return
    if any(later - earlier < MIN_INTERVAL for earlier, later in zip(runs, runs[1:])):
        errors.append(("cron", f"{cron!r} runs more often than every {MIN_INTERVAL.seconds // 60} minutes"))


# --- changes (role-checked, audited) -----------------------------------------------------------


def _require(actor: str, role: str | None, action: str, target: str) -> None:
    if not has_permission(role, Perm.REPORTS_MANAGE):
        audit.record(actor, action, target, {"role": role}, outcome="denied")
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.REPORTS_MANAGE.value} "
                               "needed to change report schedules")


def get(schedule_id) -> ReportSchedule:
    schedule = db.session.get(ReportSchedule, int(schedule_id)) if str(schedule_id).isdigit() else None
    if schedule is None:
        raise NotFound(f"no report schedule with id {schedule_id}", field="schedule_id")
    return schedule


def _name_taken(name: str, exclude_id: int | None = None) -> None:
    stmt = sa.select(ReportSchedule.id).where(sa.func.lower(ReportSchedule.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(ReportSchedule.id != exclude_id)
    if db.session.execute(stmt).first():
        raise Conflict(f"name: a schedule called {name!r} exists already", field="name")


def create(actor: str, role: str | None, data: dict, now: datetime | None = None) -> ReportSchedule:
    _require(actor, role, "report_schedule.create", "report_schedule:new")
    clean = validate(data)
    _name_taken(clean["name"])
    now = now or utcnow()
    schedule = ReportSchedule(**clean, active=bool(data.get("active", True)), created_by=actor, created_at=now,
                              updated_at=now)
    schedule.next_run_at = next_run(schedule_expression(schedule), schedule.timezone, now) if schedule.active else None
    try:
        with unit_of_work() as session:
            session.add(schedule)
            session.flush()
            audit.record(actor, "report_schedule.create", f"report_schedule:{schedule.id}",
                         {**clean, "active": schedule.active, "next_run_at": _iso(schedule.next_run_at)})
    except IntegrityError:
        raise Conflict(f"name: a schedule called {clean['name']!r} exists already", field="name") from None
    return schedule


def update(actor: str, role: str | None, schedule_id, data: dict, now: datetime | None = None) -> ReportSchedule:
    _require(actor, role, "report_schedule.update", f"report_schedule:{schedule_id}")
    schedule = get(schedule_id)
    clean = validate(data)
    _name_taken(clean["name"], exclude_id=schedule.id)
    changes = {key: [getattr(schedule, key), value] for key, value in clean.items() if getattr(schedule, key) != value}
    if not changes:
        return schedule
    try:
        with unit_of_work():
            for key, (_, value) in changes.items():
                setattr(schedule, key, value)
            if schedule.active and any(key in TIMING_FIELDS for key in changes):
                schedule.next_run_at = next_run(schedule_expression(schedule), schedule.timezone, now or utcnow())
                changes["next_run_at"] = _iso(schedule.next_run_at)
            schedule.updated_at = now or utcnow()
            audit.record(actor, "report_schedule.update", f"report_schedule:{schedule.id}",
                         {"name": schedule.name, "changes": changes})
    except IntegrityError:  # a concurrent rename took the name
        raise Conflict(f"name: a schedule called {clean['name']!r} exists already", field="name") from None
    return schedule


def set_active(actor: str, role: str | None, schedule_id, active: bool, now: datetime | None = None) -> ReportSchedule:
    action = "report_schedule.resume" if active else "report_schedule.pause"
    _require(actor, role, action, f"report_schedule:{schedule_id}")
    schedule = get(schedule_id)
    if schedule.active == active:
        return schedule  # idempotent: already in the state asked for
    with unit_of_work():
        schedule.active = active
        # Resuming starts from now: the slots that passed while paused are not run.
        schedule.next_run_at = next_run(schedule_expression(schedule), schedule.timezone, now or utcnow()) \
            if active else None
        schedule.updated_at = now or utcnow()
        audit.record(actor, action, f"report_schedule:{schedule.id}",
                     {"name": schedule.name, "next_run_at": _iso(schedule.next_run_at)})
    return schedule


def delete(actor: str, role: str | None, schedule_id) -> str:
    _require(actor, role, "report_schedule.delete", f"report_schedule:{schedule_id}")
    schedule = get(schedule_id)
    name = schedule.name
    with unit_of_work() as session:
        # Archived reports stay (and keep their schedule's name through their job); the link goes.
        session.execute(sa.update(ReportRun).where(ReportRun.schedule_id == schedule.id).values(schedule_id=None))
        audit.record(actor, "report_schedule.delete", f"report_schedule:{schedule.id}",
                     {"name": name, "report_type": schedule.report_type, "recipients": schedule.recipients})
        session.delete(schedule)
    return name


# --- running -----------------------------------------------------------------------------------


def job_params(schedule: ReportSchedule, slot_at: datetime | None, slot: str) -> dict:
    """The `report` job's parameters for one slot: all it needs, so a later edit or delete of the
    schedule does not change a report already launched. `slot_at` is the calendar slot (None for
    "Run now": nothing here may depend on the clock, or a retry would look like another job)."""
    return {"report_type": schedule.report_type, "formats": schedule.formats.split(","),
            "recipients": [r for r in schedule.recipients.split(",") if r], "schedule_id": schedule.id,
            "schedule_name": schedule.name, "slot": slot, "scheduled_for": _iso(slot_at),
            "timezone": schedule.timezone, "lookback_hours": LOOKBACK_HOURS.get(schedule.cadence, 24)}


def run_due(now: datetime | None = None, *, port: jobs.JobPort, limit: int = 100) -> list[str]:
    """Launch one report job per due schedule slot and move each schedule on; returns the job ids."""
    now = now or utcnow()
    due = list(db.session.execute(
        sa.select(ReportSchedule).where(ReportSchedule.active.is_(True), ReportSchedule.next_run_at <= now)
        .order_by(ReportSchedule.next_run_at).limit(limit)).scalars())
    launched = []
    for schedule in due:
        slot_at, slot = schedule.next_run_at, slot_key(schedule.id, schedule.next_run_at)
        expression, zone, schedule_id = schedule_expression(schedule), schedule.timezone, schedule.id
        try:
            launched.append(jobs.launch_scheduled("report", job_params(schedule, slot_at, slot), slot, port=port).id)
        except Conflict:
            pass  # a racing tick launched this slot with the schedule as it was before an edit
        except jobs.QueueUnavailable as exc:  # the job row records the failure; retry the slot next tick
            current_app.logger.warning("report schedule %s slot %s not queued: %s", schedule.id, slot, exc)
            db.session.rollback()
            continue
        following = next_run(expression, zone, max(now, slot_at))
        with unit_of_work() as session:
            session.execute(sa.update(ReportSchedule)
                            .where(ReportSchedule.id == schedule_id, ReportSchedule.next_run_at == slot_at)
                            .values(next_run_at=following, last_run_at=slot_at)
                            .execution_options(synchronize_session=False))
    db.session.expire_all()
    return launched


def run_now(actor: str, role: str | None, schedule_id, request_key: str, *, port: jobs.JobPort):
    """Produce (and deliver) a schedule's report now, outside its calendar. `request_key` makes a
    retried click return the job of the first."""
    schedule = get(schedule_id)
    slot = f"s{schedule.id}-now-{hashlib.sha256(request_key.encode()).hexdigest()[:12]}"
    # No "now" in the parameters (see the module doc): the job's created_at records when it was asked for.
    return jobs.launch(actor, role, "report", job_params(schedule, None, slot), f"report-now-{slot}", port=port)


# --- reading -----------------------------------------------------------------------------------


def list_schedules() -> list[ReportSchedule]:
    return list(db.session.execute(sa.select(ReportSchedule).order_by(ReportSchedule.name)).scalars())


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def describe(schedule) -> str:
    if schedule.cadence == "daily":
        return f"daily at {schedule.time_of_day}"
    if schedule.cadence == "weekly":
        return f"weekly on {WEEKDAYS[schedule.weekday]} at {schedule.time_of_day}"
    if schedule.cadence == "monthly":
        return f"monthly on day {schedule.day_of_month} at {schedule.time_of_day}"
    return f"cron {schedule.cron}"


def local_time(value: datetime | None, zone_name: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def summary(schedule: ReportSchedule) -> dict:
    """One schedules-grid row (plus the raw fields the edit form is filled from)."""
    return {"id": schedule.id, "name": schedule.name, "report": REPORT_KINDS[schedule.report_type].label,
            "when": describe(schedule), "timezone": schedule.timezone,
            "next_run": local_time(schedule.next_run_at, schedule.timezone) if schedule.active else "paused",
            "next_run_utc": schedule.next_run_at.strftime("%Y-%m-%d %H:%M") if schedule.next_run_at else "",
            "last_run": local_time(schedule.last_run_at, schedule.timezone),
            "recipients": schedule.recipients.replace(",", ", "),
            "formats": schedule.formats.upper().replace(",", ", "),
            "state": "active" if schedule.active else "paused", "created_by": schedule.created_by,
            "report_type": schedule.report_type, "cadence": schedule.cadence, "cron": schedule.cron or "",
            "time_of_day": schedule.time_of_day, "weekday": schedule.weekday, "day_of_month": schedule.day_of_month,
            "tz": schedule.timezone, "recipient_list": schedule.recipients, "format_list": schedule.formats.split(","),
            "active": schedule.active}
