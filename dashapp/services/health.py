"""Infrastructure health as the cockpit shows it: one tile per part of the system.

Worker and beat prove themselves with a heartbeat task: beat sends it every few seconds with the
time it was sent, a worker runs it and stamps both times (see workers.tasks.stamp_heartbeat). A
fresh stamp proves both are alive; a stale one says which side stopped answering, as far as it can."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    def colour(self) -> str:
        return {"ok": "success", "down": "danger", "stale": "warning"}.get(self.state, "secondary")


def record_worker_heartbeat(sent_at: str, hostname: str) -> None:
    from dashapp.extensions import db

    app_settings.put(HEARTBEAT_KEY, {"sent_at": sent_at, "ran_at": utcnow().isoformat(), "hostname": hostname},
                     "worker")
    db.session.commit()


def _age(iso: str | None) -> float | None:
    if not iso:
        return None
    return (utcnow() - datetime.fromisoformat(iso)).total_seconds()


def _worker_tiles() -> list[Tile]:
    beat = app_settings.get(HEARTBEAT_KEY) or {}
    ran, sent = _age(beat.get("ran_at")), _age(beat.get("sent_at"))
    if ran is None:
        return [Tile("worker", "Worker", "unknown", "no heartbeat yet"), Tile("beat", "Beat", "unknown",
                                                                              "no heartbeat yet")]
    fresh = ran <= STALE_AFTER_S
    worker = Tile("worker", "Worker", "ok" if fresh else "stale", f"{beat.get('hostname', '?')}, {ran:.0f} s ago")
    beat_tile = Tile("beat", "Beat", "ok" if fresh else "stale", f"last tick sent {sent:.0f} s ago")
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
