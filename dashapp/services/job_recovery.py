"""Beat's reaper: no job stays `running` or `queued` forever because a worker or a broker message
was lost.

* `reap_stale` fails a running job whose worker is gone (kill -9, a crashed host).
* `requeue_lost` sends again the message of a queued job that no live worker holds. The embedded
  broker keeps a message a worker has reserved only in that worker's memory, so a killed worker
  loses it. A copy of a message that was not lost does no harm: the first delivery claims the job
  and the other is skipped (`jobs.mark_running`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.jobs import JobPort, fail, job_types, mark_requeued
from dashapp.services.unit_of_work import unit_of_work
from models import Job, JobState, utcnow

REAPER = "reaper"
HARD_LIMIT_GRACE = timedelta(seconds=60)


def reap_stale(now: datetime | None = None, *, active_job_ids: Callable[[], set[str] | None] | None = None,
               orphan_grace: timedelta = timedelta(seconds=30)) -> list[str]:
    """Fail running jobs whose worker is gone, so a killed worker never leaves a job 'running':
    * no heartbeat for longer than the type's hard time limit + grace (no live attempt can be that
      quiet: the worker would have killed it), or
    * no heartbeat for `orphan_grace` and no live worker lists it among its active tasks
      (`active_job_ids()`; None means the broker could not be asked, and this rule is skipped)."""
    now = now or utcnow()
    running = list(db.session.execute(sa.select(Job).where(Job.state == JobState.RUNNING.value)).scalars())
    active: set[str] | None = None
    asked = False
    reaped = []
    for job in running:
        quiet = now - (job.heartbeat_at or job.started_at or job.created_at)
        spec = job_types().get(job.job_type)
        hard = timedelta(seconds=spec.time_limit if spec else 3600)
        if quiet > hard + HARD_LIMIT_GRACE:
            reason = f"no heartbeat for {int(quiet.total_seconds())} s, longer than its hard time limit " \
                     f"({int(hard.total_seconds())} s) + grace: its worker was lost or killed"
        elif quiet > orphan_grace and active_job_ids is not None:
            if not asked:
                active, asked = active_job_ids(), True
            if active is None or job.id in active:
                continue
            reason = f"its worker is gone: no live worker runs this job and it sent no heartbeat for " \
                     f"{int(quiet.total_seconds())} s (worker killed or restarted)"
        else:
            continue
        with unit_of_work():
            if fail(job.id, reason):
                audit.record(REAPER, "job.reap", f"job:{job.id}", {"job_type": job.job_type, "reason": reason})
                reaped.append(job.id)
    return reaped


def requeue_lost(now: datetime | None = None, *, port: JobPort, grace: timedelta = timedelta(minutes=5)) -> list[str]:
    """Send again each queued job that has waited `grace` since it was queued (or last re-queued)
    and that no live worker is running or holds reserved. The workers are asked only when such a
    job exists; when they cannot be asked, nothing is sent (the next tick tries again)."""
    now = now or utcnow()
    waited_since = sa.func.coalesce(Job.heartbeat_at, Job.created_at)  # heartbeat_at: last re-queue
    stmt = sa.select(Job).where(Job.state == JobState.QUEUED.value, waited_since < now - grace)
    waiting = list(db.session.execute(stmt.order_by(Job.created_at)).scalars())
    known = port.known_job_ids() if waiting else None
    if known is None:
        return []
    requeued = []
    for job in waiting:
        spec = job_types().get(job.job_type)
        if job.id in known or spec is None:
            continue
        minutes = (now - (job.heartbeat_at or job.created_at)).total_seconds() / 60
        line = f"re-queued: no live worker held it after {minutes:.1f} min (its broker message was lost)"
        with unit_of_work():
            moved = mark_requeued(job.id, line, now)
            if moved:
                audit.record(REAPER, "job.requeue", f"job:{job.id}", {"job_type": job.job_type})
        if moved:
            port.submit(job.id, job.queue, spec.soft_time_limit, spec.time_limit)
            requeued.append(job.id)
    return requeued
