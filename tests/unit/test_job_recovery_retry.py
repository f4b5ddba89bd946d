"""The reaper's retry of a job whose worker was killed, and its quick re-send of a queued job whose
message a worker dropped (a Redis reconnect): job_recovery without a worker, on SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import job_recovery, jobs
from models import AuditRecord, Job, utcnow


class Port:
    def __init__(self, active=(), waiting=None, broken=False):
        self.active, self.waiting, self.broken = set(active), waiting, broken
        self.submitted: list[str] = []

    def submit(self, job_id, queue, soft_time_limit, time_limit):
        if self.broken:
            raise ConnectionError("broker refused the connection")
        self.submitted.append(job_id)

    def revoke(self, job_id):
        pass

    def active_job_ids(self):
        return self.active

    def active_jobs_by_worker(self):
        return None if self.active is None else {"w1": self.active}

    def known_job_ids(self):
        return self.active

    def queued_job_ids(self):
        return self.waiting


def _launch(port) -> str:
    return jobs.launch("trader1", "trader", "health_check", {}, port=port).id


def _age(job_id, seconds, column="heartbeat_at"):
    with jobs.unit_of_work():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values({column: utcnow() - timedelta(seconds=seconds)}))


def _fresh(job_id) -> Job:
    db.session.expire_all()
    return jobs.get_job(job_id)


def _orphan(port) -> str:
    job_id = _launch(port)
    jobs.mark_running(job_id, "w1 pid 1")
    _age(job_id, 40)
    return job_id


def _reap(port):
    return job_recovery.reap_stale(utcnow(), active_jobs=port.active_jobs_by_worker,
                                   orphan_grace=timedelta(seconds=30), port=port)


def test_a_safe_job_whose_worker_died_is_requeued_once_then_failed(server):
    port = Port()
    job_id = _orphan(port)
    port.submitted.clear()
    assert _reap(port) == [job_id]
    job = _fresh(job_id)
    assert job.state == "queued" and port.submitted == [job_id]
    assert "re-queued once by the reaper: its worker is gone" in job.log
    assert [r.action for r in db.session.execute(sa.select(AuditRecord).where(
        AuditRecord.target == f"job:{job_id}")).scalars()][-1] == "job.retry"
    # The re-sent message starts attempt 2; if that worker dies too, the job fails with both reasons.
    assert jobs.mark_running(job_id, "w2 pid 2").attempts == 2
    _age(job_id, 40)
    assert _reap(port) == [job_id]
    job = _fresh(job_id)
    assert job.state == "failed" and "its worker is gone" in job.error
    assert "already retried once" in job.error and port.submitted == [job_id]


def test_an_unsafe_job_whose_worker_died_fails_and_says_why(server, monkeypatch):
    jobs.job_types()
    monkeypatch.setitem(jobs.REGISTRY, "health_check", replace(jobs.REGISTRY["health_check"], retry_when_lost=False))
    port = Port()
    job_id = _orphan(port)
    port.submitted.clear()
    assert _reap(port) == [job_id]
    job = _fresh(job_id)
    assert job.state == "failed" and "not safe to run twice, launch it again" in job.error
    assert port.submitted == []


def test_a_retry_while_the_broker_is_down_stays_queued_for_the_requeue(server):
    port = Port()
    job_id = _orphan(port)
    port.submitted.clear()
    port.broken = True
    assert _reap(port) == [job_id]
    assert _fresh(job_id).state == "queued"
    port.broken, port.waiting = False, set()
    _age(job_id, 25)  # past the short grace, and the broker says its message is not waiting
    assert job_recovery.requeue_lost(utcnow(), port=port) == [job_id]
    assert port.submitted == [job_id]


def test_a_dropped_message_is_sent_again_after_the_short_grace_only_when_not_waiting(server):
    port = Port()
    dropped, waiting, held, young = (_launch(port) for _ in range(4))
    for job_id in (dropped, waiting, held):
        _age(job_id, 60, column="created_at")
    port.submitted.clear()
    port.active, port.waiting = {held}, {waiting}
    assert job_recovery.requeue_lost(utcnow(), port=port) == [dropped]
    assert port.submitted == [dropped]
    # A broker that cannot be read: only the long grace applies.
    port.waiting = None
    _age(dropped, 60)
    assert job_recovery.requeue_lost(utcnow(), port=port) == []
    assert job_recovery.requeue_lost(utcnow() + timedelta(minutes=6), port=port) == [dropped, waiting, young]
