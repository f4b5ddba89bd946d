"""Scheduled reports end to end with real processes: `celery beat` (report tick shortened through the
environment) finds the due schedule, a real `celery worker` builds the report, archives it and
e-mails it to a real SMTP server (aiosmtpd on 127.0.0.1); with the SMTP server down, the delivery
is retried by beat's tick with backoff, visible as 'retrying' and then 'failed' with the error."""
from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.reports.archive import archive_root
from dashapp.services import jobs, schedules
from models import ReportRun, utcnow
from tests.integration.test_reports import SCHEDULE, desk, free_port, smtp_server  # noqa: F401  (desk: fixture)
from tests.support.worker import celery_beat, celery_worker, wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]

SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)


def fast(settings, **extra):
    """Beat's report tick every second; the other periodic entries out of the way."""
    knobs = {"report_schedules_every_seconds": "1", "health_check_every_seconds": "3600", "reap_every_seconds": "60",
             **extra}
    return replace(settings, extra={**settings.extra, **knobs})


def smtp_env(monkeypatch, port: int) -> None:
    """What an operator puts in .env; the worker inherits it (tests/support/worker.worker_env)."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    monkeypatch.setenv("SMTP_FROM", "cockpit@desk.example.com")


def due_schedule(**changes):
    schedule = schedules.create("rita", "risk", {**SCHEDULE, **changes})
    schedule.next_run_at = (utcnow() - timedelta(minutes=1)).replace(second=0, microsecond=0)
    db.session.commit()
    return schedule.id, schedule.next_run_at


def runs() -> list[ReportRun]:
    db.session.rollback()
    db.session.expire_all()
    return list(db.session.execute(sa.select(ReportRun).order_by(ReportRun.id)).scalars())


def wait_for_run(predicate, what: str, timeout: float, worker, beat) -> ReportRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [run for run in runs() if predicate(run)]
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no report run {what} within {timeout:.0f} s; runs: "
                f"{[(r.id, r.delivery_state, r.delivery_attempts, r.last_error) for r in runs()]}\n"
                f"jobs: {[(j.id[:8], j.state, j.error) for j in jobs.list_jobs(job_type_name='report')]}\n"
                f"worker log:\n{worker.log_tail(60)}\nbeat log:\n{beat.log_tail(20)}")


@pytest.mark.parametrize("db_backend", [SQLITE, POSTGRES])
def test_beat_runs_a_due_schedule_and_the_report_arrives_by_email(server, settings, desk, monkeypatch, db_backend):
    schedule_id, slot_at = due_schedule()
    with smtp_server() as mailbox:
        smtp_env(monkeypatch, mailbox.port)
        quick = fast(settings)
        with celery_worker(quick) as worker, celery_beat(quick) as beat:
            run = wait_for_run(lambda r: r.delivery_state == "delivered", "delivered", 150, worker, beat)
            [message] = mailbox.wait_for(1, timeout=10)
            time.sleep(3)  # three more beat ticks: the slot is not launched again
            assert len(runs()) == 1 and len(mailbox.messages) == 1
            assert len(jobs.list_jobs(job_type_name="report")) == 1
    assert run.schedule_id == schedule_id and run.slot == schedules.slot_key(schedule_id, slot_at)
    job = wait_for_job(run.job_id, "succeeded", worker=worker)
    assert job.created_by == jobs.SCHEDULER and job.queue == "reports"
    # The schedule moved on to its next 07:00 in London.
    schedule = schedules.get(schedule_id)
    assert schedule.last_run_at == slot_at and schedule.next_run_at > utcnow()
    assert schedules.summary(schedule)["next_run"].endswith("07:00 GMT")

    assert set(mailbox.envelopes[0].rcpt_tos) == {"risk@example.com", "cro@example.com"}
    attached = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert len(attached) == 2 and "Daily risk report · Morning risk" in message["Subject"]
    for item in run.files:
        archived = (archive_root() / item["name"]).read_bytes()
        assert attached[item["name"].rsplit("/", 1)[-1]] == archived
        assert hashlib.sha256(archived).hexdigest() == item["sha256"]


@pytest.mark.parametrize("db_backend", [SQLITE])
def test_smtp_down_is_retried_by_beat_then_failed_with_the_error(server, settings, desk, monkeypatch):
    smtp_env(monkeypatch, free_port())  # nothing listens there
    due_schedule(formats=["pdf"])
    quick = fast(settings, report_retry_base_seconds="2", report_delivery_max_attempts="3")
    with celery_worker(quick) as worker, celery_beat(quick) as beat:
        retrying = wait_for_run(lambda r: r.delivery_state == "retrying", "retrying", 150, worker, beat)
        assert "ConnectionRefusedError" in retrying.last_error and "/3" in retrying.last_error
        assert retrying.next_attempt_at is not None
        failed = wait_for_run(lambda r: r.delivery_state == "failed", "failed", 60, worker, beat)
    assert failed.id == retrying.id and failed.delivery_attempts == 3
    assert failed.last_error.startswith("attempt 3/3: ConnectionRefusedError")
    assert (archive_root() / failed.file_name).is_file()  # the report itself is kept
    assert jobs.get_job(failed.job_id).state == "succeeded"  # producing it succeeded; only delivery failed
