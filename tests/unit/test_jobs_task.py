"""workers.tasks.run_job executed in-process (Celery's eager `apply`): how Celery's own signals
(soft time limit, hard time limit, transient DB errors) become job states. The real worker process
is exercised in tests/integration/test_worker_jobs.py."""
from __future__ import annotations

import logging
import threading
import time

import pydantic
import pytest
import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from dashapp.extensions import db
from dashapp.services import jobs
from tests.conftest import make_settings
import workers.tasks  # noqa: F401  (registers the tasks on every Celery app)
from workers.celery_app import (LAUNCH_SCHEDULED_JOB, MONITOR_RISK, QUEUES, REAP_STALE_JOBS, RUN_JOB,
                                RUN_REPORT_SCHEDULES, create_celery)


class NullPort:
    def submit(self, *args):
        pass

    def revoke(self, job_id):
        pass

    def active_job_ids(self):
        return set()


@pytest.fixture
def settings(tmp_path, database_url):
    return make_settings(tmp_path, database_url, extra={"job_heartbeat_seconds": "0.2"})


@pytest.fixture
def celery_app(settings):
    return create_celery(settings)


@pytest.fixture
def handler_type():
    names = []

    def _register(name, handler):
        class Params(pydantic.BaseModel):
            pass

        names.append(name)
        jobs.register(jobs.JobType(name, name, Params, handler))

    yield _register
    for name in names:
        jobs.REGISTRY.pop(name, None)


def _run(celery_app, job_type):
    job = jobs.launch("trader1", "trader", job_type, {}, port=NullPort())
    outcome = celery_app.tasks[RUN_JOB].apply(args=[job.id])
    db.session.expire_all()
    return outcome, jobs.get_job(job.id)


def test_configuration_is_what_operations_rely_on(celery_app, settings):
    conf = celery_app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    assert [q.name for q in conf.task_queues] == list(QUEUES)
    assert all(q.routing_key == q.name and q.exchange.name == q.name for q in conf.task_queues)
    assert conf.task_routes[RUN_JOB] == {"queue": "jobs"}
    assert {entry["task"] for entry in conf.beat_schedule.values()} == {REAP_STALE_JOBS, LAUNCH_SCHEDULED_JOB,
                                                                        RUN_REPORT_SCHEDULES, MONITOR_RISK}
    assert conf.broker_url.startswith("filesystem://") and conf.result_backend.startswith("db+sqlite:///")
    assert conf.broker_transport == "workers.broker:Transport"


def test_redis_settings_use_redis_for_broker_and_results(tmp_path):
    settings = make_settings(tmp_path, "sqlite://", redis_url="redis://127.0.0.1:6399/3",
                             extra={"redis_key_prefix": "desk-a:"})
    conf = create_celery(settings).conf
    assert conf.broker_url == conf.result_backend == "redis://127.0.0.1:6399/3"
    assert conf.broker_transport is None
    assert conf.broker_transport_options["global_keyprefix"] == "desk-a:"


def test_run_job_succeeds_and_skips_a_second_delivery(server, celery_app):
    outcome, job = _run(celery_app, "health_check")
    assert outcome.result == "succeeded" and job.state == "succeeded" and job.attempts == 1
    again = celery_app.tasks[RUN_JOB].apply(args=[job.id])
    assert again.result == "skipped"


def test_soft_time_limit_becomes_timed_out(server, celery_app, handler_type):
    def slow(ctx, params):
        ctx.progress(20, "crunching")
        raise SoftTimeLimitExceeded()

    handler_type("slow", slow)
    outcome, job = _run(celery_app, "slow")
    assert outcome.result == "timed_out" and job.state == "timed_out"
    assert "soft time limit of 300 s" in job.error


def test_hard_time_limit_reported_by_the_worker_becomes_timed_out(server, celery_app):
    job = jobs.launch("trader1", "trader", "health_check", {}, port=NullPort())
    jobs.mark_running(job.id, "w1")
    task = celery_app.tasks[RUN_JOB]
    task.on_failure(TimeLimitExceeded(180), job.id, (job.id,), {}, None)
    db.session.expire_all()
    job = jobs.get_job(job.id)
    assert job.state == "timed_out" and "hard time limit of 180" in job.error


def test_transient_database_error_is_retried_then_succeeds(server, celery_app, handler_type):
    calls = []

    def flaky(ctx, params):
        calls.append(ctx.attempt)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE jobs", {}, Exception("database is locked"))
        return {"calls": len(calls)}

    handler_type("flaky", flaky)
    outcome, job = _run(celery_app, "flaky")
    assert job.state == "succeeded", job.error
    assert calls == [1, 2] and job.attempts == 2 and job.result == {"calls": 2}


def test_other_errors_fail_the_job_without_retry(server, celery_app, handler_type):
    calls = []

    def broken(ctx, params):
        calls.append(1)
        raise KeyError("price")

    handler_type("broken", broken)
    outcome, job = _run(celery_app, "broken")
    assert job.state == "failed" and job.error == "KeyError: 'price'" and calls == [1]


def test_scheduled_task_launches_a_health_check(server, celery_app, monkeypatch):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    job_id = celery_app.tasks[LAUNCH_SCHEDULED_JOB].apply(args=["health_check"]).result
    job = jobs.get_job(job_id)
    assert job.created_by == jobs.SCHEDULER and job.job_type == "health_check"
    assert sent[0][0] == RUN_JOB and sent[0][1]["task_id"] == job_id and sent[0][1]["queue"] == "jobs"


# --- a cancel carried out inside the worker (workers/heartbeat.py, DECISIONS D22) ----------------


def _cancel_when_running(server, job_id: str, errors: list) -> threading.Thread:
    """Cancel the job from another thread (its own app context, as a web request would) once the
    handler has started."""
    def cancel():
        try:
            with server.app_context():
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    db.session.expire_all()
                    if jobs.get_job(job_id).state == "running":
                        time.sleep(0.3)  # well inside the handler
                        jobs.cancel("trader1", job_id, port=NullPort(), role="trader")
                        return
                    time.sleep(0.05)
                errors.append("the job never started running")
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(repr(exc))

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(60)
@pytest.mark.parametrize("busy", ["python", "database"])
def test_a_cancel_interrupts_a_handler_that_never_reports(server, celery_app, handler_type, busy):
    """The handler loops without a progress report (in pure Python, or in back-to-back queries
    where the interrupt most likely lands inside the driver); the side thread interrupts it, the
    job stays canceled, and the process's database connections still work afterwards."""
    seen = {}

    def never_reports(ctx, params):
        seen["entered"] = True
        try:
            while True:
                if busy == "database":
                    db.session.execute(sa.text("SELECT 1")).scalar_one()
                else:
                    time.sleep(0.005)
        finally:
            seen["left"] = True

    handler_type("never_reports", never_reports)
    job = jobs.launch("trader1", "trader", "never_reports", {}, port=NullPort())
    errors: list = []
    canceller = _cancel_when_running(server, job.id, errors)
    outcome = celery_app.tasks[RUN_JOB].apply(args=[job.id])  # returns only once interrupted
    canceller.join(timeout=20)
    assert not errors, errors
    assert outcome.result == "canceled" and seen == {"entered": True, "left": True}
    db.session.expire_all()
    assert jobs.get_job(job.id).state == "canceled"
    # The next job in this process uses the database normally.
    after, job_after = _run(celery_app, "health_check")
    assert after.result == "succeeded" and job_after.state == "succeeded", job_after.error


def test_an_interrupt_never_escapes_the_handler_window(server):
    """Once the handler has returned, a late interrupt is dropped; a window opened after the
    attempt was found dead refuses to start."""
    from workers.heartbeat import Heartbeat

    watch = Heartbeat(server, "no-such-job", 1, interval=60)
    with watch.interruptible():
        pass
    watch._interrupt()  # the handler is gone: nothing is raised anywhere
    time.sleep(0.05)
    with pytest.raises(jobs.JobAborted):
        with watch.interruptible():
            pytest.fail("a dead attempt's handler must not start")


def test_a_stuck_handler_outside_a_pool_child_is_never_killed(server):
    """The kill is for a prefork pool child the worker replaces. Here (the test process, as in a
    solo worker) the watch only warns; were it to kill, this whole pytest process would die."""
    from workers.heartbeat import Heartbeat

    finished = threading.Event()

    def stuck_handler(watch):
        try:
            with watch.interruptible():
                time.sleep(1.5)  # one native call: the interrupt waits for it
        except jobs.JobInterrupted:
            pass  # delivered once the sleep returned
        finished.set()

    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append  # (the app's logging setup replaces the root handlers caplog uses)
    logger = logging.getLogger("workers.heartbeat")
    logger.addHandler(capture)
    try:
        with Heartbeat(server, "no-such-job", 1, interval=0.2, cancel_grace=0.3) as watch:
            handler = threading.Thread(target=stuck_handler, args=(watch,))
            handler.start()
            handler.join(timeout=20)
    finally:
        logger.removeHandler(capture)
    assert finished.is_set()
    assert any("not a pool child that can be replaced" in record.getMessage() for record in records)
