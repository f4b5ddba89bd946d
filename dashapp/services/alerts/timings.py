"""Named time intervals, used by notification policies as mute timings (no notification inside) or
active timings (notifications only inside).

A `TimeInterval.spec` is one of:
- explicit windows: `{"timezone": "Europe/London", "windows": [{"weekdays": ["mon", "fri"],
  "start": "07:00", "end": "09:30"}, ...]}` (no weekdays = every day; `end` may be "24:00");
- an exchange calendar: `{"calendar": "XNYS", "when": "closed"}` ("open" = during a session, "closed"
  = outside sessions: nights, weekends and the exchange's holidays), from `exchange-calendars`.

Calendars are built once per (exchange, year) and kept (a small LRU), each spanning the year with a
month of margin on each side; instants outside 2000-2099 are refused at the edge and treated as
"closed" when read."""
from __future__ import annotations

import functools
import re
import warnings
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import NotificationPolicy, TimeInterval

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOWS = 20
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _calendar_names() -> frozenset[str]:
    import exchange_calendars

    return frozenset(exchange_calendars.get_calendar_names(include_aliases=True))


@functools.lru_cache(maxsize=16)
def _calendar(name: str, year: int):
    import exchange_calendars

    with warnings.catch_warnings():  # the library's own pandas deprecation notices
        warnings.simplefilter("ignore")
        return exchange_calendars.get_calendar(name, start=f"{year - 1}-12-01", end=f"{year + 1}-01-31")


def session_open(name: str, at: datetime) -> bool:
    """Whether exchange `name` is in a trading session at `at` (UTC, minute resolution)."""
    import pandas as pd

    if not FIRST_YEAR <= at.year <= LAST_YEAR:
        return False
    calendar = _calendar(name, at.year)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(calendar.is_open_on_minute(pd.Timestamp(at.astimezone(timezone.utc)).floor("min")))
    except Exception:  # a minute outside the calendar's span: no session there
        return False


def _clock(value, field: str) -> str:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ValidationError(f"{field} must be a time of day HH:MM (00:00 to 24:00)", field=field)
    return value


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def validate_spec(spec) -> dict:
    """A clean spec, or a ValidationError naming the field."""
    if not isinstance(spec, dict):
        raise ValidationError("spec must be an object with either 'windows' or 'calendar'", field="spec")
    if "calendar" in spec:
        name = spec.get("calendar")
        if not isinstance(name, str) or name not in _calendar_names():
            raise ValidationError(f"calendar {str(name)[:20]!r} is not a known exchange calendar (e.g. XNYS, XLON)",
                                  field="calendar")
        when = spec.get("when", "closed")
        if when not in ("open", "closed"):
            raise ValidationError("when must be 'open' or 'closed'", field="when")
        return {"calendar": name, "when": when}
    tz = spec.get("timezone", "UTC")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"timezone {str(tz)[:40]!r} is not an IANA time zone (e.g. Europe/London)",
                              field="timezone") from None
    windows = spec.get("windows")
    if not isinstance(windows, list) or not windows:
        raise ValidationError("windows must be a non-empty list", field="windows")
    if len(windows) > MAX_WINDOWS:
        raise ValidationError(f"at most {MAX_WINDOWS} windows", field="windows")
    clean = []
    for index, window in enumerate(windows):
        if not isinstance(window, dict):
            raise ValidationError(f"windows[{index}] must be an object", field="windows")
        days = window.get("weekdays") or []
        if not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
            raise ValidationError(f"windows[{index}].weekdays must be a list of {', '.join(WEEKDAYS)}",
                                  field="weekdays")
        start = _clock(window.get("start", "00:00"), "start")
        end = _clock(window.get("end", "24:00"), "end")
        if _minutes(end) <= _minutes(start):
            raise ValidationError(f"windows[{index}]: end {end} must be after start {start} (split a window "
                                  "that crosses midnight in two)", field="end")
        clean.append({"weekdays": [d for d in WEEKDAYS if d in days], "start": start, "end": end})
    return {"timezone": str(tz), "windows": clean}


def contains(spec: dict, at: datetime) -> bool:
    """Whether the instant `at` (aware) falls inside the interval `spec` (validated)."""
    if "calendar" in spec:
        is_open = session_open(spec["calendar"], at)
        return is_open if spec.get("when") == "open" else not is_open
    local = at.astimezone(ZoneInfo(spec.get("timezone", "UTC")))
    day, minute = WEEKDAYS[local.weekday()], local.hour * 60 + local.minute
    for window in spec.get("windows", ()):
        if window["weekdays"] and day not in window["weekdays"]:
            continue
        if _minutes(window["start"]) <= minute < _minutes(window["end"]):
            return True
    return False


# --- CRUD (audited) ------------------------------------------------------------------------------


def list_intervals() -> list[TimeInterval]:
    return list(db.session.execute(sa.select(TimeInterval).order_by(TimeInterval.name)).scalars())


def _name(value) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not NAME.match(name):
        raise ValidationError("name must be 1-80 letters, digits, spaces, '.', '_' or '-'", field="name")
    return name


def save_interval(actor: str, data: dict, interval_id: int | None = None) -> TimeInterval:
    """Create (no id) or update a named interval: `data = {"name": ..., "spec": {...}}`."""
    name, spec = _name(data.get("name")), validate_spec(data.get("spec"))
    with unit_of_work() as session:
        clash = session.execute(sa.select(TimeInterval).where(TimeInterval.name == name)).scalar_one_or_none()
        if clash is not None and clash.id != interval_id:
            raise Conflict(f"a time interval named {name!r} exists", field="name")
        if interval_id is None:
            row = TimeInterval(name=name, spec=spec, updated_by=actor, updated_at=utcnow())
            session.add(row)
            session.flush()
        else:
            row = session.get(TimeInterval, interval_id)
            if row is None:
                raise NotFound(f"time interval {interval_id} not found")
            if row.name != name and _users(row.name):
                raise Conflict(f"time interval {row.name!r} is used by a policy: rename it there first",
                               field="name")
            row.name, row.spec, row.updated_by, row.updated_at = name, spec, actor, utcnow()
        audit.record(actor, "alerts.time_interval.save", f"time_interval:{row.id}", {"name": name, "spec": spec})
    return row


def delete_interval(actor: str, interval_id: int) -> None:
    with unit_of_work() as session:
        row = session.get(TimeInterval, interval_id)
        if row is None:
            raise NotFound(f"time interval {interval_id} not found")
        users = _users(row.name)
        if users:
            raise Conflict(f"time interval {row.name!r} is used by policies {', '.join(users)}", field="name")
        session.delete(row)
        audit.record(actor, "alerts.time_interval.delete", f"time_interval:{interval_id}", {"name": row.name})


def _users(name: str) -> list[str]:
    policies = db.session.execute(sa.select(NotificationPolicy)).scalars()
    return [p.name or f"#{p.id}" for p in policies if name in (p.mute_timings or []) or name in (p.active_timings or [])]


def intervals_by_name() -> dict[str, dict]:
    return {row.name: row.spec for row in list_intervals()}
