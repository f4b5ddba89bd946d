"""Health of every part of the cockpit, from evidence in the store and the broker:

- processes (web, Celery workers with their queues, beat, engine supervisor, alerter) from their
  heartbeat rows: up / degraded (late) / down (about three beats missed) / stopped (clean shutdown);
- engines from their own reports (engine_states), as the Command Center reads them;
- the database (probe, this process's pool, slow queries), the broker (probe, waiting messages per
  queue), the push channel (open streams per web process), task rates (task history) and the latency
  of the busiest endpoints (each web process's Prometheus histogram, carried in its heartbeat).

`snapshot()` builds it all once; pages and /metrics read the same snapshot (cached for a moment per
process, so many open pages cost one build).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from dashapp.services.ops import dbstats, heartbeats, task_history
from models import utcnow

PROCESS_SERVICES = (("web", "Web"), ("worker", "Workers"), ("beat", "Beat"),
                    ("engine-supervisor", "Engine supervisor"), ("alerter", "Alerter"))
ALERTER_SETTING = "alerts.runner_heartbeat"  # what the alerts runner writes (alerts contract)
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class InstanceHealth:
    service: str
    instance: str
    state: str  # up | degraded | down | stopped | unknown
    host: str = ""
    pid: int = 0
    version: str = ""
    beat_at: datetime | None = None
    age_s: float | None = None
    uptime_s: float | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    title: str
    state: str
    summary: str
    instances: tuple[InstanceHealth, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    services: tuple[ServiceHealth, ...]
    database: dict
    broker: dict
    queues: dict[str, int | None]
    task_rates: list[dict]
    push: dict
    latency: list[dict]
    timing: heartbeats.Timing

    def service(self, key: str) -> ServiceHealth | None:
        return next((s for s in self.services if s.service == key), None)


def instance_state(age_s: float | None, stopped: bool, timing: heartbeats.Timing) -> str:
    if stopped:
        return "stopped"
    if age_s is None:
        return "unknown"
    if age_s >= timing.down_after:
        return "down"
    if age_s >= timing.degraded_after:
        return "degraded"
    return "up"


def service_state(states: list[str]) -> str:
    """All instances up: up; none up (and some down): down; otherwise degraded. Only clean stops: stopped."""
    live = [s for s in states if s != "stopped"]
    if not states:
        return "unknown"
    if not live:
        return "stopped"
    if all(s == "up" for s in live):
        return "up"
    if not any(s in ("up", "degraded") for s in live):
        return "down"
    return "degraded"


def _instances(now: datetime, timing: heartbeats.Timing) -> dict[str, list[InstanceHealth]]:
    by_service: dict[str, list[InstanceHealth]] = {}
    for row in heartbeats.rows():
        age = max(0.0, (now - row.beat_at).total_seconds())
        if age > timing.forget_after:
            continue
        stopped = row.stopped_at is not None
        state = instance_state(age, stopped, timing)
        uptime = None if state in ("down", "stopped") else max(0.0, (now - row.started_at).total_seconds())
        by_service.setdefault(row.service, []).append(InstanceHealth(
            row.service, row.instance, state, row.host, row.pid, row.version, row.beat_at, age, uptime,
            dict(row.detail or {})))
    return by_service


def _alerter_from_setting(now: datetime, timing: heartbeats.Timing) -> list[InstanceHealth]:
    """The alerts runner's own heartbeat (an AppSetting) when it writes no heartbeat row."""
    from dashapp.services import app_settings

    value = app_settings.get(ALERTER_SETTING)
    stamp = value.get("at") or value.get("beat_at") if isinstance(value, dict) else value
    try:
        beat_at = datetime.fromisoformat(str(stamp)) if stamp else None
    except ValueError:
        beat_at = None
    if beat_at is None:
        return []
    if beat_at.tzinfo is None:
        from datetime import timezone
        beat_at = beat_at.replace(tzinfo=timezone.utc)
    age = max(0.0, (now - beat_at).total_seconds())
    # The runner ticks every second or so but may beat less often than the processes: twice the slack.
    slow = heartbeats.Timing(timing.interval, 2 * timing.degraded_after, 2 * timing.down_after, timing.forget_after)
    detail = value if isinstance(value, dict) else {}
    return [InstanceHealth("alerter", str(detail.get("instance") or detail.get("host") or "alerter"),
                           instance_state(age, False, slow), str(detail.get("host", "")), int(detail.get("pid") or 0),
                           heartbeats.version(), beat_at, age, None, dict(detail))]


def _summary(service: str, instances: list[InstanceHealth]) -> str:
    if not instances:
        return "no heartbeat seen yet"
    counts: dict[str, int] = {}
    for inst in instances:
        counts[inst.state] = counts.get(inst.state, 0) + 1
    order = ("up", "degraded", "down", "stopped", "unknown")
    parts = [f"{counts[state]} {state}" for state in order if state in counts]
    if service == "worker":
        queues = sorted({q for inst in instances if inst.state in ("up", "degraded")
                         for q in inst.detail.get("queues") or []})
        if queues:
            parts.append("queues " + ", ".join(queues))
    return "; ".join(parts)


def _engines(now: datetime) -> ServiceHealth:
    import sqlalchemy as sa

    from dashapp.extensions import db
    from dashapp.services.controls import HEARTBEAT_STALE_AFTER, engine_view
    from models import EngineState

    instances = []
    for engine_id in db.session.execute(sa.select(EngineState.engine_id).order_by(EngineState.engine_id)).scalars():
        view = engine_view(engine_id)
        age = view.heartbeat_age_s
        if view.actual == "running":
            state = "up" if age is not None and age <= HEARTBEAT_STALE_AFTER.total_seconds() / 2 else "degraded"
        elif view.desired == "stopped" and view.actual in ("stopped", "unknown", "stale"):
            state = "stopped"
        else:
            state = "down"
        instances.append(InstanceHealth("engine", engine_id, state, "", view.pid or 0, view.version, view.heartbeat_at,
                                        age, None, {"desired": view.desired, "actual": view.actual, "stage": view.stage}))
    return ServiceHealth("engine", "Engines", service_state([i.state for i in instances]),
                         _summary("engine", instances) if instances else "no engine has reported", tuple(instances))


def _web_details(web: list[InstanceHealth]) -> tuple[dict, list[dict]]:
    push = {"total": 0, "by_instance": {}}
    latency: list[dict] = []
    for inst in web:
        if inst.state not in ("up", "degraded"):
            continue
        streams = int(inst.detail.get("push_connections") or 0)
        push["by_instance"][inst.instance] = streams
        push["total"] += streams
        for row in inst.detail.get("latency") or []:
            latency.append({**row, "instance": inst.instance})
    latency.sort(key=lambda r: -(r.get("count") or 0))
    return push, latency[:12]


def process_service(key: str, now: datetime | None = None) -> ServiceHealth:
    """One process service from heartbeat rows only (cheap: what the Command Center tiles read)."""
    now = now or utcnow()
    timing = heartbeats.timing(current_app.config["COCKPIT_SETTINGS"])
    instances = _instances(now, timing).get(key, [])
    return ServiceHealth(key, dict(PROCESS_SERVICES).get(key, key), service_state([i.state for i in instances]),
                         _summary(key, instances), tuple(instances))


def build(queue_depths: Callable[[], dict] | None = None, now: datetime | None = None) -> Snapshot:
    from dashapp.observability import check_broker, check_database

    settings = current_app.config["COCKPIT_SETTINGS"]
    now = now or utcnow()
    timing = heartbeats.timing(settings)
    db_error = check_database()
    by_service = _instances(now, timing) if not db_error else {}
    if not by_service.get("alerter") and not db_error:
        by_service["alerter"] = _alerter_from_setting(now, timing)
    services = []
    for key, title in PROCESS_SERVICES:
        instances = by_service.get(key, [])
        services.append(ServiceHealth(key, title, service_state([i.state for i in instances]) if not db_error
                                      else "unknown", _summary(key, instances) if not db_error else "database down",
                                      tuple(instances)))
    if not db_error:
        services.append(_engines(now))
    push, latency = _web_details(by_service.get("web", []))
    web_state = services[0].state
    services.append(ServiceHealth("push", "Push channel", web_state if web_state != "unknown" else "unknown",
                                  f"{push['total']} open stream(s)"))
    broker_error = check_broker(settings)
    depths = (queue_depths or _default_queue_depths)() if not broker_error else {}
    database = {"state": "down" if db_error else "up", "kind": settings.sqlalchemy_url.split("://")[0].split("+")[0],
                "error": db_error or "", "pool": dbstats.pool_stats(),
                "slow": dbstats.slow_queries() if not db_error else {"available": False, "rows": [], "note": "down"}}
    broker = {"state": "down" if broker_error else "up", "kind": settings.broker_kind, "error": broker_error or ""}
    services.append(ServiceHealth("database", "Database", database["state"], db_error or database["kind"]))
    services.append(ServiceHealth("broker", "Broker", broker["state"], broker_error or settings.broker_kind))
    rates = task_history.rates(300.0, now) if not db_error else []
    return Snapshot(now, tuple(services), database, broker, depths, rates, push, latency, timing)


def _default_queue_depths() -> dict:
    from workers.celery_app import QUEUES, current_celery
    from workers.queue_depth import queue_depths

    return queue_depths(current_celery(), QUEUES)


_cache: dict[int, tuple[float, Snapshot]] = {}
_cache_lock = threading.Lock()


def snapshot(max_age_s: float = CACHE_SECONDS) -> Snapshot:
    """The current snapshot, built at most once per `max_age_s` per process (single flight)."""
    key = id(current_app._get_current_object())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        snap = build()
        _cache[key] = (time.monotonic(), snap)
        return snap
