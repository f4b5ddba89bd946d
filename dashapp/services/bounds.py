"""The desk's domain bounds, in one place: what a stored value may be, whoever checks it.

The write side (ingest schemas, API and page inputs) refuses values outside these bounds; the read
side (page queries, figures, exports) clips or drops stored rows outside them, so a row that got in
before the bounds existed, or by direct SQL, degrades one point and never a page; the data-quality
check (`services/data_quality.py`) lists such rows for admins. Change a bound here and all three
follow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# Magnitudes. Generous for any real instrument (a price of a billion, a quantity of a trillion) and
# far inside float64's range, so sums and products of bounded values stay finite.
MAX_ABS_PRICE = 1e9
MAX_QTY = 1e12
MAX_ABS_AMOUNT = 1e15  # cash, notional, P&L
# Integer columns: what the narrowest column that stores them can hold.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Text and nested JSON (event data, details, params).
MAX_TEXT = 2000
MAX_JSON_DEPTH = 8
MAX_JSON_BYTES = 16 * 1024
# Read side: however wide the stored data, a time-bucketed figure never draws more than this many
# buckets (a stray year-9999 row must not make a per-minute series of billions of points).
MAX_BUCKETS = 2000

# C0 and C1 control characters and DEL. Tab and newline are refused too: no field here is
# multi-line, and a stray one breaks CSV exports and log lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


@dataclass(frozen=True)
class TimeWindow:
    """The span a stored timestamp may fall in: [earliest, latest]."""

    earliest: datetime
    latest: datetime

    def contains(self, moment: datetime) -> bool:
        return self.earliest <= moment <= self.latest

    def clip(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        """A query window clipped to the real range, so an open or absurd window reads bounded rows."""
        start = self.earliest if start is None else min(max(start, self.earliest), self.latest)
        end = self.latest if end is None else min(max(end, self.earliest), self.latest)
        return start, max(start, end)


def time_window(settings=None, now: datetime | None = None) -> TimeWindow:
    """The accepted span for timestamps: from the data epoch to a few minutes past the server's
    clock (`COCKPIT_DATA_EPOCH`, `COCKPIT_MAX_FUTURE_SECONDS`)."""
    if settings is None:
        from flask import current_app

        settings = current_app.config["COCKPIT_SETTINGS"]
    now = now or datetime.now(timezone.utc)
    epoch = datetime.fromisoformat(settings.data_epoch).replace(tzinfo=timezone.utc)
    return TimeWindow(earliest=epoch, latest=now + timedelta(seconds=settings.max_future_seconds))
