"""Every long-lived process says it is alive: one `service_heartbeats` row per (service, instance),
stamped every `interval` seconds from a daemon thread. The age of that stamp is the truth the
Operations page and the Command Center tiles show (services/ops/health.py): a killed process stops
stamping and shows "down" within a few intervals; a clean shutdown stamps `stopped_at`.

Writes are one upsert on a unique key, in their own short transaction, so a heartbeat never joins
(or waits for) the process's real work.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.unit_of_work import unit_of_work
from models import ServiceHeartbeat, utcnow

log = logging.getLogger("cockpit.ops.heartbeat")
SERVICES = ("web", "worker", "beat", "engine-supervisor", "alerter")
DETAIL_MAX_CHARS = 20_000  # a heartbeat carries a summary, never a dump


@dataclass(frozen=True)
class Timing:
    interval: float  # seconds between beats
    degraded_after: float  # age at which a service is late
    down_after: float  # age at which it is down (about three missed beats)
    forget_after: float  # instances stopped or silent this long are no longer listed


def timing(settings=None) -> Timing:
    """From COCKPIT_OPS_HEARTBEAT_SECONDS (2), COCKPIT_OPS_DEGRADED_AFTER (2.5 beats) and
    COCKPIT_OPS_DOWN_AFTER (4 beats: three missed beats plus one of slack), COCKPIT_OPS_FORGET_AFTER (1 day)."""
    extra = getattr(settings, "extra", {}) or {}

    def value(name: str, default: float) -> float:
        raw = extra.get(name) or os.environ.get(f"COCKPIT_{name.upper()}")
        try:
            number = float(raw) if raw not in (None, "") else default
        except ValueError:
            number = default
        return number if number > 0 else default

    interval = value("ops_heartbeat_seconds", 2.0)
    return Timing(interval, value("ops_degraded_after", 2.5 * interval), value("ops_down_after", 4 * interval),
                  value("ops_forget_after", 86400.0))


@lru_cache(maxsize=1)
def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as package_version

    try:
        return package_version("trading-desk-cockpit")[:40]
    except PackageNotFoundError:
        return "unknown"


def host() -> str:
    return socket.gethostname()[:128]


def record(service: str, instance: str, detail: dict | None = None, started_at=None, stopped: bool = False) -> None:
    """Upsert this process's heartbeat row (one statement, its own transaction)."""
    now = utcnow()
    detail = _bounded(detail or {})
    with unit_of_work() as session:
        row = session.execute(sa.select(ServiceHeartbeat).where(ServiceHeartbeat.service == service,
                                                                ServiceHeartbeat.instance == instance)
                              ).scalar_one_or_none()
        if row is None:
            row = ServiceHeartbeat(service=service, instance=instance[:160], started_at=started_at or now)
            session.add(row)
        elif started_at is not None and row.started_at != started_at:
            row.started_at = started_at  # a restarted process under the same instance name
        row.host, row.pid, row.version = host(), os.getpid(), version()
        row.beat_at, row.detail = now, detail
        row.stopped_at = now if stopped else None


def _bounded(detail: dict) -> dict:
    import json

    text = json.dumps(detail, default=str)
    if len(text) <= DETAIL_MAX_CHARS:
        return json.loads(text)
    return {"truncated": True, "size": len(text)}


def rows() -> list[ServiceHeartbeat]:
    return list(db.session.execute(sa.select(ServiceHeartbeat).order_by(ServiceHeartbeat.service,
                                                                        ServiceHeartbeat.instance)).scalars())


def forget_old(older_than_s: float) -> int:
    """Delete instances not heard of for `older_than_s` (renamed or retired processes)."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with unit_of_work() as session:
        return session.execute(sa.delete(ServiceHeartbeat).where(ServiceHeartbeat.beat_at < cutoff)).rowcount or 0


class HeartbeatThread:
    """A daemon thread that calls `record(service, instance, detail_fn())` every `interval` seconds
    inside `app`'s context, plus `on_beat()` (e.g. flushing batched SLO counts). Failures are logged
    (once per streak) and retried on the next beat; they never reach the process's work."""

    def __init__(self, app, service: str, instance: str, interval: float,
                 detail_fn: Callable[[], dict] | None = None, on_beat: Callable[[], None] | None = None):
        self.app, self.service, self.instance, self.interval = app, service, instance, interval
        self.detail_fn, self.on_beat = detail_fn, on_beat
        self.started_at = utcnow()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{service}", daemon=True)
        self._failing = False

    def start(self) -> "HeartbeatThread":
        self._thread.start()
        return self

    def beat_once(self, stopped: bool = False) -> None:
        with self.app.app_context():
            try:
                detail = self.detail_fn() if self.detail_fn else {}
                record(self.service, self.instance, detail, started_at=self.started_at, stopped=stopped)
                if self.on_beat is not None:
                    self.on_beat()
                if self._failing:
                    log.info("heartbeat of %s %s written again", self.service, self.instance)
                self._failing = False
            except Exception as exc:  # the database may be down: say so once, keep trying
                if not self._failing:
                    log.warning("heartbeat of %s %s not written: %s", self.service, self.instance,
                                f"{type(exc).__name__}: {exc}".splitlines()[0][:200])
                self._failing = True
            finally:
                db.session.remove()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat_once()
            self._stop.wait(self.interval)

    def stop(self, mark_stopped: bool = True) -> None:
        """Stop beating; with `mark_stopped` write a last beat saying this was a clean stop."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.interval + 5)
        if mark_stopped:
            self.beat_once(stopped=True)
