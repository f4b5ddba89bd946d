"""The job service without a worker: launching (validation, permission, idempotency, audit), the
state machine (terminal states are final), cancel, the worker-side calls, and the reaper. Runs on
SQLite and PostgreSQL through conftest's `server` fixture."""
from __future__ import annotations

from datetime import timedelta

import pydantic
import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import job_recovery, jobs
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from models import AuditRecord, Job, utcnow


class FakePort:
    def __init__(self, active=None, broken=False):
        self.submitted, self.revoked, self.active, self.broken = [], [], active, broken
        self.asked = 0

    def submit(self, job_id, queue, soft_time_limit, time_limit):
        if self.broken:
            raise ConnectionError("broker refused the connection")
        self.submitted.append((job_id, queue, soft_time_limit, time_limit))

    def revoke(self, job_id):
        self.revoked.append(job_id)

    def active_job_ids(self):
        self.asked += 1
        return self.active

    def active_jobs_by_worker(self):
        self.asked += 1
        return None if self.active is None else {"w1": self.active}

    def known_job_ids(self):
        self.asked += 1
        return self.active


@pytest.fixture
def port():
    return FakePort()


@pytest.fixture
def job_types():
    """Register throw-away job types for a test; removed afterwards."""
    added = []

    def _add(name, handler, **options):
        class Params(pydantic.BaseModel):
            model_config = pydantic.ConfigDict(extra="forbid")

        added.append(name)
        return jobs.register(jobs.JobType(name, name.title(), Params, handler, **options))

    yield _add
    for name in added:
        jobs.REGISTRY.pop(name, None)


def _audit(action):
    return list(db.session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)).scalars())


def _count_jobs():
    return db.session.execute(sa.select(sa.func.count()).select_from(Job)).scalar_one()


def _launch(port, **params):
    return jobs.launch("trader1", "trader", "health_check", params, port=port)


def _fresh(job_id):
    db.session.expire_all()
    return jobs.get_job(job_id)


# --- launching -------------------------------------------------------------------------------


def test_launch_stores_a_queued_job_submits_it_and_audits(server, port):
    job = _launch(port, sleep_seconds=2)
    assert job.state == "queued" and job.progress == 0 and job.attempts == 0
    assert job.params == {"sleep_seconds": 2.0, "hold": "reporting"}  # defaults are stored too
    assert job.created_by == "trader1" and job.queue == "jobs"
    assert port.submitted == [(job.id, "jobs", 150, 180)]
    [record] = _audit("job.launch")
    assert record.actor == "trader1" and record.target == f"job:{job.id}" and record.outcome == "ok"
    assert "queued by trader1" in job.log


@pytest.mark.parametrize(("params", "field"), [
    ({"sleep_seconds": -1}, "params.sleep_seconds"),
    ({"sleep_seconds": 121}, "params.sleep_seconds"),
    ({"sleep_seconds": "soon"}, "params.sleep_seconds"),
    ({"hold": "forever"}, "params.hold"),
    ({"drop_tables": True}, "params.drop_tables"),
])
def test_bad_params_are_refused_with_422_naming_the_field(server, port, params, field):
    with pytest.raises(ValidationError) as caught:
        _launch(port, **params)
    assert caught.value.http_status == 422 and caught.value.field == field
    assert field.split(".")[1] in caught.value.message
    assert _count_jobs() == 0 and port.submitted == []


def test_unknown_job_type_is_refused(server, port):
    with pytest.raises(ValidationError) as caught:
        jobs.launch("trader1", "trader", "rm_rf", {}, port=port)
    assert caught.value.field == "job_type" and "health_check" in caught.value.message
    assert _count_jobs() == 0


@pytest.mark.parametrize("role", ["viewer", None, "superuser"])
def test_role_without_jobs_launch_is_denied_and_audited(server, port, role):
    with pytest.raises(PermissionDenied) as caught:
        jobs.launch("someone", role, "health_check", {}, port=port)
    assert caught.value.http_status == 403 and "jobs:launch" in caught.value.message
    assert _count_jobs() == 0 and port.submitted == []
    [record] = _audit("job.launch")
    assert record.outcome == "denied" and record.actor == "someone"


def test_same_idempotency_key_returns_the_same_job(server, port):
    first = jobs.launch("trader1", "trader", "health_check", {}, "click-1", port=port)
    again = jobs.launch("trader1", "trader", "health_check", {}, "click-1", port=port)
    assert again.id == first.id
    assert _count_jobs() == 1 and len(port.submitted) == 1
    other_person = jobs.launch("risk1", "risk", "health_check", {}, "click-1", port=port)
    assert other_person.id != first.id  # keys are per person


def test_reused_idempotency_key_with_other_params_conflicts(server, port):
    jobs.launch("trader1", "trader", "health_check", {}, "click-1", port=port)
    with pytest.raises(Conflict) as caught:
        jobs.launch("trader1", "trader", "health_check", {"sleep_seconds": 5}, "click-1", port=port)
    assert caught.value.http_status == 409 and caught.value.field == "idempotency_key"


def test_malformed_idempotency_key_is_refused(server, port):
    with pytest.raises(ValidationError) as caught:
        jobs.launch("trader1", "trader", "health_check", {}, "x" * 200, port=port)
    assert caught.value.field == "idempotency_key"


def test_broker_down_fails_the_job_and_says_so(server):
    with pytest.raises(jobs.QueueUnavailable) as caught:
        _launch(FakePort(broken=True))
    assert caught.value.http_status == 503 and "broker refused" in caught.value.message
    [job] = jobs.list_jobs()
    assert job.state == "failed" and "could not queue the job" in job.error and job.finished_at


def test_scheduled_launch_runs_once_per_slot(server, port):
    first = jobs.launch_scheduled("health_check", None, "20261122T0100", port=port)
    again = jobs.launch_scheduled("health_check", None, "20261122T0100", port=port)
    later = jobs.launch_scheduled("health_check", None, "20261122T0105", port=port)
    assert first.id == again.id != later.id and first.created_by == jobs.SCHEDULER
    assert [j.id for j in jobs.list_jobs(include_scheduled=False)] == []
    assert {j.id for j in jobs.list_jobs()} == {first.id, later.id}


# --- the state machine -----------------------------------------------------------------------


def test_a_job_runs_reports_progress_and_succeeds_once(server, port):
    job = _launch(port)
    running = jobs.mark_running(job.id, "w1@host pid 7")
    assert running.state == "running" and running.attempts == 1 and running.heartbeat_at
    jobs.report_progress(job.id, 40, "half way", attempt=1)
    jobs.append_log(job.id, "a line from the handler", attempt=1)
    job = _fresh(job.id)
    assert job.progress == 40 and job.message == "half way" and "a line from the handler" in job.log
    assert jobs.succeed(job.id, {"answer": 42}, attempt=1)
    job = _fresh(job.id)
    assert job.state == "succeeded" and job.progress == 100 and job.result == {"answer": 42} and job.finished_at
    # Terminal is final: nothing moves it again.
    assert not jobs.fail(job.id, "late failure")
    assert not jobs.time_out(job.id, "late timeout")
    assert not jobs.succeed(job.id, {"answer": 0})
    with pytest.raises(jobs.JobAborted):
        jobs.report_progress(job.id, 50)
    with pytest.raises(Conflict):
        jobs.cancel("trader1", job.id, port=port)
    assert jobs.mark_running(job.id, "w2") is None
    assert _fresh(job.id).state == "succeeded" and _fresh(job.id).result == {"answer": 42}


def test_progress_is_clamped_to_0_100(server, port):
    job = _launch(port)
    jobs.mark_running(job.id)
    jobs.report_progress(job.id, 250)
    assert _fresh(job.id).progress == 100
    jobs.report_progress(job.id, -5)
    assert _fresh(job.id).progress == 0


def test_cancel_a_queued_job_then_it_never_starts(server, port):
    job = _launch(port)
    canceled = jobs.cancel("trader1", job.id, port=port, role="trader")
    assert canceled.state == "canceled" and canceled.finished_at and port.revoked == [job.id]
    assert jobs.mark_running(job.id, "w1") is None
    assert _fresh(job.id).state == "canceled"
    [record] = _audit("job.cancel")
    assert record.actor == "trader1" and "queued" in record.details


def test_cancel_a_running_job_stops_its_handler(server, port):
    job = _launch(port)
    jobs.mark_running(job.id, "w1")
    jobs.cancel("risk1", job.id, port=port, role="risk")
    assert port.revoked == [job.id]
    with pytest.raises(jobs.JobAborted):
        jobs.report_progress(job.id, 60, attempt=1)
    assert not jobs.succeed(job.id, {"late": True}, attempt=1)
    job = _fresh(job.id)
    assert job.state == "canceled" and job.result is None and "canceled by risk1" in job.log
    with pytest.raises(Conflict) as caught:
        jobs.cancel("risk1", job.id, port=port)
    assert "already canceled" in caught.value.message


def test_cancel_needs_jobs_cancel(server, port):
    job = _launch(port)
    with pytest.raises(PermissionDenied):
        jobs.cancel("viewer1", job.id, port=port, role="viewer")
    assert _fresh(job.id).state == "queued" and port.revoked == []


def test_unknown_job_is_404(server, port):
    with pytest.raises(jobs.NotFound):
        jobs.get_job("no-such-job")
    with pytest.raises(jobs.NotFound):
        jobs.cancel("trader1", "no-such-job", port=port)


# --- running handlers ------------------------------------------------------------------------


def test_run_health_check_handler_succeeds_with_checks_and_log(server, port):
    job = jobs.mark_running(_launch(port).id, "w1")
    assert jobs.run(job) == "succeeded"
    job = _fresh(job.id)
    assert job.result["checks"]["database"]["ok"] and job.result["checks"]["broker"]["ok"]
    assert job.result["broker_kind"] == "filesystem"
    assert "database: ok" in job.log and "broker: ok" in job.log and job.progress == 100


def test_run_maps_handler_outcomes_to_terminal_states(server, port, job_types):
    class SoftLimit(Exception):
        pass

    def boom(ctx, params):
        raise ValueError("bad input file")

    def partial(ctx, params):
        raise jobs.JobFailed("2 of 3 checks failed", {"done": 1})

    def slow(ctx, params):
        ctx.progress(30, "working")
        raise SoftLimit()

    outcomes = {}
    for name, handler in (("boom", boom), ("partial", partial), ("slow", slow)):
        job_types(name, handler)
        job = jobs.mark_running(jobs.launch("trader1", "trader", name, {}, port=port).id, "w1")
        outcomes[name] = (jobs.run(job, timeout_errors=(SoftLimit,)), _fresh(job.id))
    state, job = outcomes["boom"]
    assert state == "failed" and job.error == "ValueError: bad input file"
    state, job = outcomes["partial"]
    assert state == "failed" and job.error == "2 of 3 checks failed" and job.result == {"done": 1}
    state, job = outcomes["slow"]
    assert state == "timed_out" and "soft time limit" in job.error and job.progress == 30


def test_run_lets_transient_database_errors_through_for_a_retry(server, port, job_types):
    def flaky(ctx, params):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    job_types("flaky", flaky)
    job = jobs.mark_running(jobs.launch("trader1", "trader", "flaky", {}, port=port).id, "w1")
    with pytest.raises(sa.exc.OperationalError):
        jobs.run(job)
    assert _fresh(job.id).state == "running"  # the task retries the attempt


def test_handler_stops_when_its_job_is_canceled(server, port, job_types):
    seen = []

    def obedient(ctx, params):
        jobs.cancel("trader1", ctx.job_id, port=port)
        seen.append("before")
        ctx.progress(50)  # raises JobAborted: the job is no longer running
        seen.append("after")

    job_types("obedient", obedient)
    job = jobs.mark_running(jobs.launch("trader1", "trader", "obedient", {}, port=port).id, "w1")
    assert jobs.run(job) == "canceled" and seen == ["before"]


# --- redelivery ------------------------------------------------------------------------------


def _age_heartbeat(job_id, seconds):
    with jobs.unit_of_work():
        db.session.execute(sa.update(Job).where(Job.id == job_id)
                           .values(heartbeat_at=utcnow() - timedelta(seconds=seconds)))


def test_redelivered_job_restarts_as_a_new_attempt_then_gives_up(server, port):
    job = _launch(port)
    jobs.mark_running(job.id, "w1 pid 1")
    _age_heartbeat(job.id, 60)
    second = jobs.mark_running(job.id, "w2 pid 2", liveness_wait=5)
    assert second.attempts == 2 and "restarted as attempt 2" in second.log
    # The replaced attempt can no longer write.
    with pytest.raises(jobs.JobAborted):
        jobs.report_progress(job.id, 10, attempt=1)
    assert not jobs.succeed(job.id, {}, attempt=1)
    _age_heartbeat(job.id, 60)
    assert jobs.mark_running(job.id, "w3").attempts == 3
    _age_heartbeat(job.id, 60)
    assert jobs.mark_running(job.id, "w4") is None
    job = _fresh(job.id)
    assert job.state == "failed" and "gave up after 3 attempts" in job.error


def test_duplicate_delivery_while_the_first_attempt_beats_is_skipped(server, port, monkeypatch):
    job = _launch(port)
    jobs.mark_running(job.id, "w1")
    # While the second delivery watches, the first attempt's heartbeat moves.
    monkeypatch.setattr(jobs.time, "sleep", lambda _s: (_age_heartbeat(job.id, -1)))
    assert jobs.mark_running(job.id, "w2", liveness_wait=3) is None
    assert _fresh(job.id).attempts == 1


# --- the reaper ------------------------------------------------------------------------------


def _running(port, heartbeat_age):
    job = _launch(port)
    jobs.mark_running(job.id, "w1")
    _age_heartbeat(job.id, heartbeat_age)
    return job.id


@pytest.fixture
def unsafe_health_check(monkeypatch):
    """health_check as a type that is not safe to run twice, so the reaper fails it (the retry of a
    safe type is tested in test_job_recovery_retry.py)."""
    from dataclasses import replace

    jobs.job_types()
    monkeypatch.setitem(jobs.REGISTRY, "health_check", replace(jobs.REGISTRY["health_check"], retry_when_lost=False))


def test_reaper_fails_a_job_quiet_for_longer_than_its_hard_limit(server, port, unsafe_health_check):
    dead = _running(port, 180 + 61)
    alive = _running(port, 5)
    assert job_recovery.reap_stale(utcnow()) == [dead]
    assert _fresh(dead).state == "failed" and "hard time limit" in _fresh(dead).error
    assert _fresh(alive).state == "running"
    [record] = _audit("job.reap")
    assert record.actor == job_recovery.REAPER and record.target == f"job:{dead}"
    assert job_recovery.reap_stale(utcnow()) == []  # and only once


def test_reaper_fails_a_job_no_live_worker_runs(server, unsafe_health_check):
    port = FakePort(active=set())
    orphan = _running(port, 40)
    fresh = _running(port, 1)
    port.active = {fresh}
    assert job_recovery.reap_stale(utcnow(), active_jobs=port.active_jobs_by_worker, orphan_grace=timedelta(seconds=30)) == [orphan]
    job = _fresh(orphan)
    assert job.state == "failed" and "its worker is gone" in job.error and job.finished_at


def test_reaper_keeps_jobs_a_live_worker_runs_or_when_it_cannot_ask(server):
    port = FakePort()
    quiet = _running(port, 40)  # e.g. a numba kernel holding the GIL: no heartbeat, but still active
    port.active = {quiet}
    assert job_recovery.reap_stale(utcnow(), active_jobs=port.active_jobs_by_worker) == []
    port.active = None  # the broker could not be asked: heartbeats alone decide
    assert job_recovery.reap_stale(utcnow(), active_jobs=port.active_jobs_by_worker) == []
    assert _fresh(quiet).state == "running"


def _claimed_by(port, node: str, heartbeat_age: float) -> str:
    job = _launch(port)
    jobs.mark_running(job.id, f"{node} pid 1", node=node)
    _age_heartbeat(job.id, heartbeat_age)
    return job.id


def test_reaper_asks_the_node_that_claimed_the_job_and_waits_when_it_does_not_answer(server, unsafe_health_check):
    """After a database outage every heartbeat is stale at once: a live job whose node is too busy
    to answer the inspect in time must not be reaped (it would run twice). Only the claiming node's
    answer counts; a node silent for the longer grace is taken as gone."""
    port = FakePort()
    busy = _claimed_by(port, "worker-2@host", 40)
    gone = _claimed_by(port, "worker-3@host", 200)
    dropped = _claimed_by(port, "worker-1@host", 40)
    answers = {"worker-1@host": set()}  # only worker-1 answered, and it does not run `dropped`
    reaped = job_recovery.reap_stale(utcnow(), active_jobs=lambda: answers, orphan_grace=timedelta(seconds=30))
    assert sorted(reaped) == sorted([gone, dropped])
    assert _fresh(busy).state == "running"
    assert "worker-1@host answers that it does not run this job" in _fresh(dropped).error
    assert "worker-3@host has not answered" in _fresh(gone).error
    assert job_recovery.reap_stale(utcnow(), active_jobs=lambda: {}, orphan_grace=timedelta(seconds=30)) == []
    assert _fresh(busy).state == "running"  # no answer at all says nothing about it either


def test_reaper_does_not_ask_the_broker_when_nothing_is_stale(server):
    port = FakePort(active=set())
    _running(port, 1)
    assert job_recovery.reap_stale(utcnow(), active_jobs=port.active_jobs_by_worker) == []
    assert port.asked == 0


def _queued_since(port, age_seconds):
    job = _launch(port)
    db.session.execute(sa.update(Job).where(Job.id == job.id)
                       .values(created_at=utcnow() - timedelta(seconds=age_seconds)))
    db.session.commit()
    return job.id


def test_requeue_sends_again_a_queued_job_no_worker_holds_once_per_grace(server):
    port = FakePort(active=set())
    lost = _queued_since(port, 400)
    held = _queued_since(port, 400)  # reserved by a live worker: its message is not lost
    young = _queued_since(port, 10)
    port.active, port.submitted = {held}, []
    grace = timedelta(minutes=5)
    assert job_recovery.requeue_lost(utcnow(), port=port, grace=grace) == [lost]
    assert [s[0] for s in port.submitted] == [lost] and port.submitted[0][1] == "jobs"
    job = _fresh(lost)
    assert job.state == "queued" and "re-queued: no live worker held it after 6.7 min" in job.log
    [record] = _audit("job.requeue")
    assert record.actor == job_recovery.REAPER and record.target == f"job:{lost}"
    # The next tick leaves it alone until another grace has passed since the re-queue.
    assert job_recovery.requeue_lost(utcnow(), port=port, grace=grace) == []
    assert job_recovery.requeue_lost(utcnow() + timedelta(minutes=6), port=port, grace=grace) == [lost, young]
    assert _fresh(held).log.count("re-queued") == 0


def test_requeue_sends_nothing_when_the_workers_cannot_be_asked_or_nothing_waits(server):
    port = FakePort(active=None)
    lost = _queued_since(port, 400)
    port.submitted = []
    assert job_recovery.requeue_lost(utcnow(), port=port) == [] and port.submitted == []
    jobs.cancel("trader1", lost, port=port, role="trader")  # a canceled job is never sent again
    port.active, port.asked = set(), 0
    assert job_recovery.requeue_lost(utcnow(), port=port) == [] and port.asked == 0


# --- reading ---------------------------------------------------------------------------------


def test_list_filters_and_rows(server, port):
    a = _launch(port)
    b = _launch(port)
    jobs.cancel("trader1", b.id, port=port)
    assert [j.id for j in jobs.list_jobs(state="canceled")] == [b.id]
    assert [j.id for j in jobs.list_jobs(state=["queued"])] == [a.id]
    assert [j.id for j in jobs.list_jobs(created_by="nobody")] == []
    row = jobs.summary(jobs.get_job(a.id))
    assert row == {"id": a.id, "job_type": "Health check", "state": "queued", "progress": 0.0, "created_by": "trader1",
                   "created_at": row["created_at"], "finished_at": "", "message": "queued"}
    detail = jobs.detail(jobs.get_job(b.id))
    assert detail["cancelable"] is False and detail["params"] == {"sleep_seconds": 0.0, "hold": "reporting"}


def test_rerun_launches_the_same_type_with_the_same_parameters(server, port):
    first = jobs.launch("tina", "trader", "health_check", {"sleep_seconds": 2}, "k-1", port=port)
    again = jobs.rerun("rita", "risk", first.id, "k-2", port=port)
    assert again.id != first.id and again.job_type == "health_check" and again.params == {"sleep_seconds": 2, "hold": "reporting"}
    assert again.created_by == "rita" and len(port.submitted) == 2
    with pytest.raises(PermissionDenied):
        jobs.rerun("vic", "viewer", first.id, "k-3", port=port)


def test_an_attempt_that_succeeded_stays_live_to_its_side_thread_but_a_canceled_one_does_not(server, port):
    # An export commits its own success, then finishes its last lines inside the handler window: its
    # side thread must not read "no longer running" as a cancel and interrupt it (that deleted the file).
    done = _launch(port)
    jobs.mark_running(done.id, "w1")
    assert jobs.succeed(done.id, {"ok": True}, attempt=1)
    assert jobs.attempt_is_live(done.id, 1) and jobs.heartbeat(done.id, 1)
    assert not jobs.attempt_is_live(done.id, 2)  # another attempt's success is not this one's
    canceled = _launch(port)
    jobs.mark_running(canceled.id, "w1")
    jobs.cancel("test", canceled.id, port=port)
    assert not jobs.attempt_is_live(canceled.id, 1) and not jobs.heartbeat(canceled.id, 1)
