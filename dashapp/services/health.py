"""Infrastructure health as the cockpit shows it: one tile per part of the system.

Worker and beat prove themselves with evidence they leave in the store. The tiles said UNKNOWN
for hours while jobs ran because the heartbeat they read was never written: nothing called
`record_worker_heartbeat`. Now beat's risk-monitor tick (sent every 5 s, run by a worker) stamps
it (workers.tasks.monitor_risk), and a worker's job activity (a running job's heartbeat, a job's
end) counts as a sign of life too, so a worker busy with a long job is UP, not UNKNOWN.
Since the Operations console (D63), every worker and beat writes its own heartbeat row every 2 s;
the tiles read those first and fall back to the older evidence only when no process has beaten."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from flask import current_app

from dashapp.observability import check_broker, check_database
from dashapp.services import app_settings
from models import utcnow

HEARTBEAT_KEY = "heartbeat.worker"
STALE_AFTER_S = 60


@dataclass(frozen=True)
class Tile:
    key: str
    name: str
    state: str  # ok | down | stale | unknown
    detail: str

    @property
    def label(self) -> str:
        """What the tile reads: UP, DOWN, STALE or UNKNOWN."""
        return {"ok": "UP"}.get(self.state, self.state.upper())

    @property
    def colour(self) -> str:
        return {"ok": "success", "down": "danger", "stale": "warning"}.get(self.state, "secondary")


def record_worker_heartbeat(sent_at: str | None, hostname: str) -> None:
    """A beat-sent task ran on a worker: `sent_at` is when beat sent it (ISO; None when unknown)."""
    from dashapp.extensions import db

    ran_at = utcnow().isoformat()
    app_settings.put(HEARTBEAT_KEY, {"sent_at": sent_at or ran_at, "ran_at": ran_at, "hostname": hostname},
                     "worker")
    db.session.commit()


def sent_at_from_expiry(expires, period_s: float) -> str | None:
    """When beat sent a task whose schedule entry sets `expires=period_s`: Celery turns that into an
    absolute expiry at send time, so the send time is the expiry minus the period."""
    if not expires:
        return None
    try:
        stamp = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return (stamp - timedelta(seconds=period_s)).isoformat()


def _age(iso) -> float | None:
    if not iso:
        return None
    stamp = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return max(0.0, (utcnow() - stamp).total_seconds())


def _last_job_activity():
    """The newest sign of a worker at work: a running job's heartbeat or start, or a job's end."""
    from dashapp.extensions import db
    from models import Job

    values = db.session.execute(sa.select(sa.func.max(Job.heartbeat_at), sa.func.max(Job.started_at),
                                          sa.func.max(Job.finished_at))).one()
    stamps = [v for v in values if v is not None]
    return max(stamps) if stamps else None


_TILE_STATE = {"up": "ok", "degraded": "stale", "down": "down", "stopped": "down"}


def _heartbeat_tile(key: str, name: str, service) -> Tile | None:
    """A tile from the processes' own heartbeats (services/ops/health.py), when any was seen."""
    if service is None or not service.instances:
        return None
    newest = min((i.age_s for i in service.instances if i.age_s is not None), default=None)
    when = f", last heartbeat {newest:.0f} s ago" if newest is not None else ""
    return Tile(key, name, _TILE_STATE.get(service.state, "unknown"), f"{service.summary}{when}")


def _worker_tiles() -> list[Tile]:
    from dashapp.services.ops import health as ops_health

    try:
        tiles = [_heartbeat_tile("worker", "Worker", ops_health.process_service("worker")),
                 _heartbeat_tile("beat", "Beat", ops_health.process_service("beat"))]
    except Exception:  # an older schema or a failing probe: fall back to the evidence below
        from dashapp.extensions import db

        db.session.rollback()
        tiles = [None, None]
    fallback = _evidence_tiles() if None in tiles else [None, None]
    return [tile or old for tile, old in zip(tiles, fallback)]


def _evidence_tiles() -> list[Tile]:
    """Before any process heartbeats: beat's risk tick stamp and job activity (the older evidence)."""
    beat = app_settings.get(HEARTBEAT_KEY) or {}
    stamp_age, sent = _age(beat.get("ran_at")), _age(beat.get("sent_at"))
    job_age = _age(_last_job_activity())
    ages = [a for a in (stamp_age, job_age) if a is not None]
    ran = min(ages) if ages else None
    if ran is None:
        worker = Tile("worker", "Worker", "unknown", "no heartbeat and no job activity yet")
    else:
        source = beat.get("hostname", "?") if ran == stamp_age else "job activity"
        worker = Tile("worker", "Worker", "ok" if ran <= STALE_AFTER_S else "stale", f"{source}, {ran:.0f} s ago")
    if sent is None:
        beat_tile = Tile("beat", "Beat", "unknown", "no scheduled tick seen yet")
    else:
        beat_tile = Tile("beat", "Beat", "ok" if sent <= STALE_AFTER_S else "stale", f"last tick sent {sent:.0f} s ago")
    return [worker, beat_tile]


def _engine_tile() -> Tile:
    from dashapp.services.controls import engine_view

    view = engine_view()
    if view.actual == "running":
        return Tile("engine", "Engine", "ok", f"{view.engine_id} {view.stage or ''}".strip())
    if view.desired == "stopped" and view.actual in ("stopped", "unknown", "stale"):
        return Tile("engine", "Engine", "unknown", "stopped on purpose")
    state = "down" if view.actual in ("crashed", "stale", "stopped") else "unknown"
    return Tile("engine", "Engine", state, f"desired {view.desired}, actual {view.actual}")


def infra_status() -> list[Tile]:
    settings = current_app.config["COCKPIT_SETTINGS"]
    db_err = check_database()
    broker_err = check_broker(settings)
    tiles = [Tile("web", "Web", "ok", "serving this page")]
    tiles += _worker_tiles() if not db_err else []
    tiles.append(_engine_tile() if not db_err else Tile("engine", "Engine", "unknown", "database down"))
    tiles += [
        Tile("database", "Database", "down" if db_err else "ok", db_err or settings.sqlalchemy_url.split("://")[0]),
        Tile("broker", "Broker", "down" if broker_err else "ok", broker_err or settings.broker_kind),
    ]
    return tiles
