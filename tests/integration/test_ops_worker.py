"""Operations console against REAL processes: a Celery worker and beat that heartbeat into the store,
a killed worker that shows down within seconds, task history that outlives every process, and queue
depth read from the broker (embedded filesystem and Redis with a private key prefix).
No timing assertions: every wait polls with a deadline and fails saying what it saw."""
from __future__ import annotations

import time

import pytest

from dashapp.services import jobs
from dashapp.services.ops import health, task_history
from tests.support.worker import broker_settings, celery_beat, celery_worker, wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]

SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)
FILESYSTEM = pytest.param("filesystem", id="filesystem")
REDIS = pytest.param("redis", id="redis", marks=pytest.mark.redis)
HEARTBEAT = {"ops_heartbeat_seconds": "1", "ops_degraded_after": "2.5", "ops_down_after": "4"}


@pytest.fixture
def broker():
    return "filesystem"


@pytest.fixture
def settings(tmp_path, database_url, broker):
    with broker_settings(tmp_path, database_url, broker, HEARTBEAT) as settings:
        yield settings


@pytest.fixture
def celery_app(settings):
    from workers.celery_app import create_celery

    return create_celery(settings)


def _fresh():
    from dashapp.extensions import db

    db.session.rollback()
    db.session.expire_all()


def _wait_for(what: str, predicate, timeout: float = 40.0, poll: float = 0.2):
    """Poll `predicate()` (which returns (done, seen)) until done; fail with the last thing seen."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        _fresh()
        done, seen = predicate()
        if done:
            return seen
        time.sleep(poll)
    pytest.fail(f"{what}: not reached within {timeout:.0f} s; last seen: {seen!r}")


def _instance(service: str, instance: str | None = None):
    snap = health.build(queue_depths=lambda: {})
    svc = snap.service(service)
    found = [i for i in svc.instances if instance is None or i.instance == instance]
    return svc, (found[0] if found else None)


def _state_is(service: str, instance: str | None, wanted: set[str]):
    def check():
        svc, inst = _instance(service, instance)
        return (inst is not None and inst.state in wanted), (svc.state, inst and (inst.state, inst.age_s))
    return check


def _assert_worker_down_alert_fires(node: str) -> None:
    """The built-in "Worker down" rule, evaluated by the alerts engine, fires for that worker."""
    import sqlalchemy as sa

    from dashapp.extensions import db
    from dashapp.services.alerts import evaluation, sources_ops
    from models import AlertInstance, AlertRule

    sources_ops.ensure_builtin_rules()
    rule = db.session.execute(sa.select(AlertRule).where(AlertRule.name == "Worker down")).scalar_one()
    evaluation.evaluate_all(force=True, rule_ids=[rule.id])
    _fresh()
    firing = [(i.labels.get("instance"), i.state) for i in db.session.execute(
        sa.select(AlertInstance).where(AlertInstance.rule_id == rule.id)).scalars()]
    assert (node, "firing") in firing, firing


@pytest.mark.parametrize("db_backend", [SQLITE, POSTGRES])
def test_killed_worker_shows_down_and_task_history_survives_every_restart(server, settings, celery_app, db_backend):
    from workers.celery_app import CeleryJobPort

    port = CeleryJobPort(celery_app)
    with celery_beat(settings):
        with celery_worker(settings, celery_app) as worker:
            _wait_for("worker heartbeat up", _state_is("worker", worker.node, {"up"}))
            _wait_for("beat heartbeat up", _state_is("beat", None, {"up"}))
            svc, inst = _instance("worker", worker.node)
            assert set(inst.detail["queues"]) == {"default", "jobs", "reports"}
            assert inst.version and inst.pid == worker.pid and inst.uptime_s is not None
            assert "queues default, jobs, reports" in svc.summary
            job = jobs.launch("trader1", "trader", "health_check", {}, port=port)
            wait_for_job(job.id, "succeeded", worker=worker)
            run = _wait_for("run_job's history row", lambda: (
                bool(rows := task_history.search(task_history.validate_query(job.id, "succeeded", 1))), rows))[0]
            assert run["name"] == "workers.tasks.run_job" and run["job_id"] == job.id
            assert run["queue"] == "jobs" and run["worker"] == worker.node and run["runtime_s"] is not None
            assert run["produced"].startswith("health_check")
            # beat's risk tick ran on the worker too, and is in the history
            _wait_for("a beat-sent task in the history", lambda: (
                bool(task_history.search(task_history.validate_query("monitor_risk", "", 1))),
                [(r["name"], r["state"]) for r in task_history.search(task_history.validate_query("", "", 1))]))

            worker.kill()  # kill -9, the worker and its pool: no clean shutdown, no last beat
            _wait_for("killed worker shown down", _state_is("worker", worker.node, {"down"}), timeout=30)
            svc, inst = _instance("worker", worker.node)
            assert svc.state == "down" and inst.uptime_s is None
            _assert_worker_down_alert_fires(worker.node)
    # beat stopped (SIGTERM, then kill): it is not up any more
    _wait_for("beat no longer up", _state_is("beat", None, {"stopped", "down"}), timeout=30)

    # Every process was restarted: a new worker, and a freshly created app reads the same history.
    with celery_worker(settings, celery_app) as second:
        _wait_for("second worker up", _state_is("worker", second.node, {"up"}))
        again = jobs.launch("trader1", "trader", "health_check", {}, port=port)
        wait_for_job(again.id, "succeeded", worker=second)
        # the job row ends inside the task; the history row at task_postrun, a moment later
        _wait_for("second run's history row", lambda: (
            bool(task_history.search(task_history.validate_query(again.id, "succeeded", 1))), None))
    from dashapp import create_server

    fresh = create_server(settings)
    with fresh.app_context():
        names = {(r["job_id"], r["state"]) for r in
                 task_history.search(task_history.validate_query("run_job", "", 1))}
        assert {(job.id, "succeeded"), (again.id, "succeeded")} <= names
        from dashapp.extensions import db
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("db_backend", [SQLITE])
@pytest.mark.parametrize("broker", [FILESYSTEM, REDIS])
def test_queue_depth_matches_what_was_queued(server, settings, celery_app, broker, db_backend):
    """Messages sent to a queue no worker consumes wait in the broker; the snapshot counts them."""
    from workers.celery_app import QUEUES
    from workers.queue_depth import queue_depths

    assert queue_depths(celery_app, QUEUES) == {"default": 0, "jobs": 0, "reports": 0}
    for i in range(7):
        celery_app.send_task("workers.tasks.noop_for_depth", args=[i], queue="reports")
    for i in range(3):
        celery_app.send_task("workers.tasks.noop_for_depth", args=[i], queue="default")
    assert queue_depths(celery_app, QUEUES) == {"default": 3, "jobs": 0, "reports": 7}
    snap = health.build()  # the default path: the broker of the serving app's settings
    assert snap.queues == {"default": 3, "jobs": 0, "reports": 7}
    assert snap.service("broker").state == "up"
    if broker == "redis":  # the keys carry the run's private prefix
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        prefix = settings.extra["redis_key_prefix"]
        assert client.llen(f"{prefix}reports") == 7
