"""Engine metrics and events for alert rules: heartbeat age per engine (engines meant to be stopped
are left out, so stopping one on purpose raises nothing) and fault events (EngineEvent rows of level
error or critical, as engines report them through ingest)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts.metrics import Event, EventSource, MetricSource, Sample, register_events, register_metric
from models import EngineControl, EngineEvent, EngineState

MAX_EVENTS = 5000  # per query: a storm of faults still counts as "at least N"
FAULT_LEVELS = ("error", "critical")


def _heartbeat_age(now: datetime) -> list[Sample]:
    rows = db.session.execute(
        sa.select(EngineState.engine_id, EngineState.status, EngineState.heartbeat_at, EngineControl.desired_status)
        .outerjoin(EngineControl, EngineControl.engine_id == EngineState.engine_id)).all()
    out = []
    for engine_id, status, heartbeat_at, desired in rows:
        if (desired or "running") != "running" or status == "stopped":
            continue
        age = None if heartbeat_at is None else max(0.0, (now - heartbeat_at).total_seconds())
        out.append(Sample({"engine": engine_id}, age))
    return out


def _faults(start: datetime, end: datetime) -> list[Event]:
    rows = db.session.execute(
        sa.select(EngineEvent.ts, EngineEvent.engine_id, EngineEvent.kind, EngineEvent.level, EngineEvent.message)
        .where(EngineEvent.ts > start, EngineEvent.ts <= end, EngineEvent.level.in_(FAULT_LEVELS))
        .order_by(EngineEvent.ts.desc()).limit(MAX_EVENTS)).all()
    return [Event(ts, {"engine": engine_id, "kind": kind, "level": level}, message[:200])
            for ts, engine_id, kind, level, message in reversed(rows)]


register_metric(MetricSource("engine.heartbeat_age", "Engine heartbeat age", "s", ("engine",), _heartbeat_age))
register_events(EventSource("engine.fault", "Engine fault (error or critical event)", ("engine", "kind", "level"),
                            _faults))
