"""What each user chose for how the screens behave, remembered on the server (any browser, any
machine): the auto-refresh of each page (live / 5 s / 30 s / 60 s / off) and the global time range
of the pages that show history. Values are checked here; a bad one is a ValidationError naming the
field, so the shell's callback and any future REST edge answer the same way."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import UserPreference

# choice -> milliseconds between polls (None: the page's own cadence plus pushed events; 0: off)
REFRESH_CHOICES = {"live": None, "5s": 5_000, "30s": 30_000, "60s": 60_000, "off": 0}
REFRESH_LABELS = {"live": "Live", "5s": "5 s", "30s": "30 s", "60s": "60 s", "off": "Off"}
DEFAULT_REFRESH = "live"
TIME_RANGES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "4h": timedelta(hours=4),
               "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
TIME_RANGE_LABELS = {"15m": "15 min", "1h": "1 h", "4h": "4 h", "24h": "24 h", "7d": "7 days", "30d": "30 days"}
DEFAULT_TIME_RANGE = "24h"
TIME_RANGE_KEY = "time_range"
PAGE_KEY_MAX = 32


def _refresh_key(page: str) -> str:
    if not page or len(page) > PAGE_KEY_MAX or not page.replace("_", "").isalnum():
        raise ValidationError(f"page must be a page key (letters, digits, _), not {page!r}", field="page")
    return f"refresh:{page}"


def _put(user_id: int, key: str, value: str) -> None:
    with unit_of_work() as session:
        row = session.get(UserPreference, (user_id, key))
        if row is None:
            session.add(UserPreference(user_id=user_id, key=key, value=value))
        else:
            row.value = value


def set_refresh(user_id: int, page: str, choice: str) -> None:
    key = _refresh_key(page)
    if choice not in REFRESH_CHOICES:
        raise ValidationError(f"refresh must be one of {', '.join(REFRESH_CHOICES)}, not {choice!r}", field="refresh")
    _put(user_id, key, choice)


def set_time_range(user_id: int, value: str) -> None:
    if value not in TIME_RANGES:
        raise ValidationError(f"time_range must be one of {', '.join(TIME_RANGES)}, not {value!r}",
                              field="time_range")
    _put(user_id, TIME_RANGE_KEY, value)


def for_user(user_id: int) -> dict:
    """{"refresh": {page: choice}, "time_range": value}: what the shell loads with each page."""
    rows = db.session.execute(sa.select(UserPreference.key, UserPreference.value).where(
        UserPreference.user_id == user_id)).all()
    stored = dict(rows)
    refresh = {key.removeprefix("refresh:"): value for key, value in stored.items()
               if key.startswith("refresh:") and value in REFRESH_CHOICES}
    time_range = stored.get(TIME_RANGE_KEY)
    return {"refresh": refresh, "time_range": time_range if time_range in TIME_RANGES else DEFAULT_TIME_RANGE}


def refresh_for(prefs: dict, page: str) -> str:
    return (prefs or {}).get("refresh", {}).get(page, DEFAULT_REFRESH)


def time_range_delta(value: str | None) -> timedelta:
    return TIME_RANGES.get(value or DEFAULT_TIME_RANGE, TIME_RANGES[DEFAULT_TIME_RANGE])


def window_start(value: str | None, now: datetime | None = None) -> datetime:
    """Where the history a page shows starts for the chosen time range (an unknown value reads as
    the default), clipped to the desk's accepted span (services/bounds.py), so pages filter alike."""
    from dashapp.services.bounds import time_window

    now = now or datetime.now(timezone.utc)
    start, _ = time_window(now=now).clip(now - time_range_delta(value), now)
    return start
