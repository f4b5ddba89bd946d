"""Thin Celery tasks: they take ids and JSON values, and call dashapp.services.jobs."""
from __future__ import annotations

import os
import time
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from flask import current_app
from sqlalchemy.exc import OperationalError

from dashapp.log_files import log_context
from dashapp.services import job_recovery, jobs
from models import utcnow
from workers.celery_app import (LAUNCH_SCHEDULED_JOB, MONITOR_RISK, REAP_STALE_JOBS, RUN_JOB, RUN_REPORT_SCHEDULES,
                                CeleryJobPort, FlaskTask, cancel_grace_seconds, flask_server,
                                heartbeat_seconds, requeue_after_seconds, risk_period)
from workers.heartbeat import Heartbeat


class JobTask(FlaskTask):
    """run_job's class. on_failure runs when an error escaped the task (in the pool child) or when
    the hard time limit killed it (in the worker's main process): either way the job gets its end."""

    abstract = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from flask import has_app_context

        if has_app_context():
            return self._record_failure(exc, task_id)
        with flask_server(self.app).app_context():
            self._record_failure(exc, task_id)

    @staticmethod
    def _record_failure(exc, task_id):
        if isinstance(exc, TimeLimitExceeded):
            limit = exc.args[0] if exc.args else "?"
            jobs.time_out(task_id, f"exceeded its hard time limit of {limit} s; the worker killed it")
        elif isinstance(exc, SoftTimeLimitExceeded):  # it struck after the handler, while recording
            jobs.time_out(task_id, "exceeded its soft time limit")
        else:
            jobs.fail(task_id, f"{type(exc).__name__}: {exc}"[:2000])


def _settings():
    return current_app.config["COCKPIT_SETTINGS"]


@shared_task(bind=True, base=JobTask, name=RUN_JOB, max_retries=3)
def run_job(self, job_id: str, retried: bool = False) -> str:
    # A redelivered message waits to see whether another attempt is still alive; our own retry need not.
    wait = 0.0 if retried else 2.5 * heartbeat_seconds(_settings())
    try:
        job = jobs.mark_running(job_id, f"{self.request.hostname} pid {os.getpid()}", liveness_wait=wait,
                                node=self.request.hostname)
        if job is None:
            return "skipped"
        # Read before the run: an interrupted run discards the session, detaching `job`.
        job_type, attempt = job.job_type, job.attempts
        with Heartbeat(current_app._get_current_object(), job_id, attempt, heartbeat_seconds(_settings()),
                       cancel_grace=cancel_grace_seconds(_settings())) as watch:
            with log_context(job_id=job_id, user=job.created_by):  # every line the handler logs names its job
                current_app.logger.info("job %s (%s) started, attempt %s", job_id, job_type, attempt)
                state = jobs.run(job, timeout_errors=(SoftTimeLimitExceeded,), interruptible=watch.interruptible)
                current_app.logger.info("job %s (%s) ended: %s", job_id, job_type, state)
                return state
    except OperationalError as exc:  # the database blinked: try the attempt again, backing off
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 30), kwargs={"retried": True})


@shared_task(bind=True, base=FlaskTask, name=REAP_STALE_JOBS)
def reap_stale_jobs(self) -> dict:
    """Beat's reaper: end running jobs whose worker is gone (re-queued once when safe), re-send queued
    ones whose message was lost, and delete the temporary files of export jobs that were killed."""
    from dashapp.exports.service import clean_orphan_files

    port, now, settings = CeleryJobPort(self.app), utcnow(), _settings()
    grace = timedelta(seconds=3 * heartbeat_seconds(settings))
    reaped = job_recovery.reap_stale(now, active_jobs=port.active_jobs_by_worker, orphan_grace=grace, port=port)
    requeue_after = timedelta(seconds=requeue_after_seconds(settings))
    return {"reaped": reaped, "requeued": job_recovery.requeue_lost(now, port=port, grace=requeue_after),
            "files_removed": clean_orphan_files()}


@shared_task(bind=True, base=FlaskTask, name=LAUNCH_SCHEDULED_JOB)
def launch_scheduled_job(self, job_type: str, params: dict | None = None, every_seconds: float = 60) -> str:
    slot = f"{every_seconds:g}s-{int(time.time() // every_seconds)}"  # a tick delivered twice launches once
    return jobs.launch_scheduled(job_type, params, slot, port=CeleryJobPort(self.app)).id


@shared_task(bind=True, base=FlaskTask, name=RUN_REPORT_SCHEDULES)
def run_report_schedules(self) -> dict:
    """Beat's report tick: launch a report job per due schedule slot, then retry due deliveries."""
    from dashapp.services import delivery, schedules

    now = utcnow()
    launched = schedules.run_due(now, port=CeleryJobPort(self.app))
    return {"launched": launched, "deliveries": delivery.retry_due(now)}


@shared_task(bind=True, base=FlaskTask, name=MONITOR_RISK)
def monitor_risk(self) -> str:
    """Beat's risk tick: measure every active limit and carry out breach actions (block new orders,
    kill switch, alert). Returns the desk's risk level."""
    from dashapp.services import health
    from dashapp.services.risk import monitor

    # Beat sends this tick every few seconds and a worker runs it: the Worker and Beat tiles' heartbeat.
    health.record_worker_heartbeat(health.sent_at_from_expiry(self.request.expires, risk_period(_settings())),
                                   self.request.hostname or "worker")
    return monitor.evaluate().level
