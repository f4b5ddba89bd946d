"""Service level objectives from recorded request outcomes.

The web processes classify each request (`classify`), add the outcome to an in-memory per-minute tally
(`Recorder`), and their heartbeat thread writes the tally to `slo_samples` in one batch every few
seconds (an upsert that adds to the minute's row), never per request. `status(now)` reads the samples:
error budget used over the SLO window, burn rates over the standard alert windows (the numba kernels in
dashapp/kernels/burn_rate.py), which multi-window pairs fire, and time to exhaustion at the current
burn (the 1-hour burn rate).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.kernels import burn_rate as br
from dashapp.services.unit_of_work import unit_of_work
from models import SloSample, utcnow

CONTROL_LATENCY_S = 1.0
API_LATENCY_S = 0.5
PUSH_OPEN_S = 1.0
HISTORY_MINUTES = max(p[1] for p in br.STANDARD_PAIRS)  # 3 days: the longest alert window


@dataclass(frozen=True)
class Slo:
    key: str
    title: str
    kind: str  # availability | latency
    objective: float
    description: str


SLOS: tuple[Slo, ...] = (
    Slo("api-availability", "API availability", "availability", 0.999,
        "REST requests under /api/ answered without a server error (5xx)"),
    Slo("api-latency", "API latency", "latency", 0.99,
        f"REST requests under /api/ answered within {API_LATENCY_S * 1000:.0f} ms (of those without 5xx)"),
    Slo("control-availability", "Control actions availability", "availability", 0.999,
        "control actions (ingest, engine control, kill switch, the control buttons' callbacks) without 5xx"),
    Slo("control-latency", "Control actions latency", "latency", 0.99,
        f"control actions answered within {CONTROL_LATENCY_S:g} s (of those without 5xx)"),
    Slo("push-availability", "Push channel availability", "availability", 0.995,
        "live streams (/events/stream) opened without a server error or a capacity refusal (503)"),
    Slo("push-latency", "Push channel latency", "latency", 0.99,
        f"live streams opened (first byte) within {PUSH_OPEN_S:g} s"),
)
BY_KEY = {slo.key: slo for slo in SLOS}


def window_days(settings=None) -> float:
    raw = (getattr(settings, "extra", {}) or {}).get("slo_window_days") or os.environ.get("COCKPIT_SLO_WINDOW_DAYS")
    try:
        days = float(raw) if raw else 30.0
    except ValueError:
        days = 30.0
    return min(max(days, 1.0), 366.0)


def classify(path: str, request_class: str, status: int, elapsed_s: float) -> list[tuple[str, bool]]:
    """The (slo, good) outcomes one request counts for; [] when it counts for none (pages, assets)."""
    out: list[tuple[str, bool]] = []
    server_ok = status < 500
    if path.startswith("/api/"):
        out.append(("api-availability", server_ok))
        if server_ok:
            out.append(("api-latency", elapsed_s <= API_LATENCY_S))
    if request_class == "control":
        out.append(("control-availability", server_ok))
        if server_ok:
            out.append(("control-latency", elapsed_s <= CONTROL_LATENCY_S))
    elif request_class == "stream":
        out.append(("push-availability", server_ok))
        if status == 200:
            out.append(("push-latency", elapsed_s <= PUSH_OPEN_S))
    return out


class Recorder:
    """Per-process tally of outcomes per (slo, minute); `flush()` writes and clears it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, datetime], list[int]] = {}
        self._last_prune = 0.0

    def add(self, outcomes: list[tuple[str, bool]], now: datetime | None = None) -> None:
        if not outcomes:
            return
        minute = (now or utcnow()).replace(second=0, microsecond=0)
        with self._lock:
            for slo, good in outcomes:
                cell = self._pending.setdefault((slo, minute), [0, 0])
                cell[0] += 1 if good else 0
                cell[1] += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write the tally (adding to rows other processes wrote); on failure the counts are put back."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        try:
            add_counts([(slo, minute, good, total) for (slo, minute), (good, total) in batch.items()])
        except Exception:
            with self._lock:
                for key, (good, total) in batch.items():
                    cell = self._pending.setdefault(key, [0, 0])
                    cell[0] += good
                    cell[1] += total
            raise
        if time.monotonic() - self._last_prune > 600:
            self._last_prune = time.monotonic()
            housekeeping()
        return len(batch)


RECORDER = Recorder()


def add_counts(rows: list[tuple[str, datetime, int, int]]) -> None:
    """Upsert-add per-minute counts: one statement per row on a unique (slo, minute) key."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = SloSample.__table__
    with unit_of_work() as session:
        for slo, minute, good, total in rows:
            stmt = insert(table).values(slo=slo, minute=minute, good=good, total=total)
            stmt = stmt.on_conflict_do_update(index_elements=["slo", "minute"],
                                              set_={"good": table.c.good + stmt.excluded.good,
                                                    "total": table.c.total + stmt.excluded.total})
            session.execute(stmt)


def housekeeping() -> None:
    """Every 10 minutes from a web process: samples older than the window (+1 day), task runs older than
    `COCKPIT_OPS_TASK_HISTORY_DAYS` (30), heartbeat rows of instances silent past the forget age."""
    from dashapp.services.ops import heartbeats, task_history

    prune(window_days() + 1)
    try:
        days = float(os.environ.get("COCKPIT_OPS_TASK_HISTORY_DAYS") or 30)
    except ValueError:
        days = 30.0
    task_history.prune(max(days, 1.0))
    heartbeats.forget_old(heartbeats.timing().forget_after)


def prune(older_than_days: float) -> int:
    cutoff = utcnow() - timedelta(days=older_than_days)
    with unit_of_work() as session:
        return session.execute(sa.delete(SloSample).where(SloSample.minute < cutoff)).rowcount or 0


@dataclass
class SloStatus:
    slo: Slo
    window_days: float
    good: int
    total: int
    budget_used: float  # share of the window's error budget spent
    burn: dict[str, float]  # window label -> burn rate (NaN: no requests in it)
    firing: list[str] = field(default_factory=list)  # "page 1h/5m", ...
    seconds_to_exhaustion: float | None = None

    @property
    def attainment(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def budget_remaining(self) -> float:
        return max(0.0, 1.0 - self.budget_used)


def _minute_arrays(now: datetime, minutes: int) -> tuple[datetime, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Dense per-minute good/total arrays per SLO over the last `minutes` (oldest first, last = now)."""
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(minutes=minutes - 1)
    rows = db.session.execute(sa.select(SloSample.slo, SloSample.minute, SloSample.good, SloSample.total)
                              .where(SloSample.minute >= start, SloSample.minute <= end)).all()
    arrays = {slo.key: (np.zeros(minutes), np.zeros(minutes)) for slo in SLOS}
    for key, minute, good, total in rows:
        if key not in arrays:
            continue
        i = int((minute - start).total_seconds() // 60)
        if 0 <= i < minutes:
            arrays[key][0][i] += good
            arrays[key][1][i] += total
    return start, arrays


def _window_sums(now: datetime, windows: list[int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per SLO: (good, total) summed over each trailing window, in one aggregate query (no row per minute
    leaves the database). Window w covers the current minute and the w - 1 before it."""
    end = now.replace(second=0, microsecond=0)
    cols = []
    for w in windows:
        since = end - timedelta(minutes=w - 1)
        cols += [sa.func.sum(sa.case((SloSample.minute >= since, SloSample.good), else_=0)),
                 sa.func.sum(sa.case((SloSample.minute >= since, SloSample.total), else_=0))]
    start = end - timedelta(minutes=max(windows) - 1)
    rows = db.session.execute(sa.select(SloSample.slo, *cols).where(SloSample.minute >= start, SloSample.minute <= end)
                              .group_by(SloSample.slo)).all()
    out = {slo.key: (np.zeros(len(windows)), np.zeros(len(windows))) for slo in SLOS}
    for key, *sums in rows:
        if key in out:
            out[key] = (np.array([float(v or 0) for v in sums[0::2]]), np.array([float(v or 0) for v in sums[1::2]]))
    return out


def status(now: datetime | None = None, days: float | None = None) -> list[SloStatus]:
    """Budget over the SLO window, burn rates over the alert windows, firing pairs, time to exhaustion.

    The windows' sums come from SQL; the kernel then works on bands (the minutes between consecutive
    window starts, oldest first), so the trailing k bands are exactly the k-th shortest window."""
    now = now or utcnow()
    days = days or window_days()
    pairs = br.alert_pairs(days)
    windows = sorted({m for p in pairs for m in (p.long_minutes, p.short_minutes)})
    sums = _window_sums(now, windows)
    since = now - timedelta(days=days)
    totals = dict((k, (int(g or 0), int(t or 0))) for k, g, t in db.session.execute(
        sa.select(SloSample.slo, sa.func.sum(SloSample.good), sa.func.sum(SloSample.total))
        .where(SloSample.minute >= since).group_by(SloSample.slo)).all())
    bands_back = np.arange(len(windows), 0, -1)  # window i (shortest first) = the last i + 1 bands
    out = []
    for slo in SLOS:
        good, total = sums[slo.key]
        # cumulative (shortest first) -> bands, oldest band first
        band_good = np.diff(np.concatenate(([0.0], good)))[::-1].copy()
        band_total = np.diff(np.concatenate(([0.0], total)))[::-1].copy()
        rates = br.burn_rates(band_good, band_total, bands_back[::-1], slo.objective)
        burn = {br.window_label(w): float(r) for w, r in zip(windows, rates)}
        g, t = totals.get(slo.key, (0, 0))
        used = br.budget_used(t - g, t, slo.objective)
        firing = [f"{p.severity} {p.name}" for p in pairs
                  if br.pair_firing(burn[br.window_label(p.long_minutes)], burn[br.window_label(p.short_minutes)],
                                    p.threshold)]
        out.append(SloStatus(slo, days, g, t, used, burn, firing,
                             br.seconds_to_exhaustion(used, burn.get("1h", float("nan")), days)))
    return out


def burn_series(key: str, window_minutes: int = 60, hours: int = 24, now: datetime | None = None):
    """(minute timestamps, rolling burn rate over `window_minutes`) for the last `hours` of one SLO."""
    slo = BY_KEY[key]
    now = now or utcnow()
    minutes = hours * 60 + window_minutes
    start, arrays = _minute_arrays(now, minutes)
    good, total = arrays[key]
    series = br.rolling_burn_rate(good, total, window_minutes, slo.objective)[window_minutes:]
    times = [start + timedelta(minutes=window_minutes + i) for i in range(series.shape[0])]
    return times, series


_status_cache: dict[int, tuple[float, list[SloStatus]]] = {}
_status_lock = threading.Lock()


def cached_status(max_age_s: float = 5.0) -> list[SloStatus]:
    """`status()` built at most once per `max_age_s` per process and app (pages, /metrics, alert sources)."""
    from flask import current_app

    key = id(current_app._get_current_object())
    with _status_lock:
        hit = _status_cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < max_age_s:
            return hit[1]
        value = status()
        _status_cache[key] = (time.monotonic(), value)
        return value
