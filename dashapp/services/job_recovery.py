"""Beat's reaper: no job stays `running` or `queued` forever because a worker or a broker message
was lost.

* `reap_stale` ends a running job whose worker is gone (kill -9, a crashed host): a job type that
  declares itself safe to run again (`JobType.retry_when_lost`) is re-queued once, any other is
  failed with the reason.
* `requeue_lost` sends again the message of a queued job that no live worker holds. The embedded
  broker keeps a message a worker has reserved only in that worker's memory, so a killed worker
  loses it; on Redis, a worker that loses its connection drops what it had reserved, and Redis
  hands it back only after the visibility timeout (an hour). When the port can list what waits in
  the broker, a job that is neither there nor held by a live worker is sent again after a short
  grace instead of the long one. A copy of a message that was not lost does no harm: the first
  delivery claims the job and the other is skipped (`jobs.mark_running`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.jobs import JobPort, _line, fail, job_types, mark_requeued
from dashapp.services.unit_of_work import unit_of_work
from models import Job, JobState, utcnow

REAPER = "reaper"
HARD_LIMIT_GRACE = timedelta(seconds=60)


def reap_stale(now: datetime | None = None, *,
               active_jobs: Callable[[], dict[str, set[str]] | None] | None = None,
               orphan_grace: timedelta = timedelta(seconds=30), unanswered_grace: timedelta | None = None,
               port: JobPort | None = None) -> list[str]:
    """End running jobs whose worker is gone (re-queue once when the type is safe to retry, else
    fail), so a killed worker never leaves a job 'running':
    * no heartbeat for longer than the type's hard time limit + grace (no live attempt can be that
      quiet: the worker would have killed it), or
    * no heartbeat for `orphan_grace` and the worker node that claimed the job answers that it does
      not run it (`active_jobs()`: {node: ids} of the nodes that answered; None means the broker
      could not be asked, and this rule is skipped), or
    * no heartbeat for `unanswered_grace` (default: four times `orphan_grace`, at least a minute)
      and that node does not answer at all (stopped for good, or its host is gone).

    Why the claiming node must answer: after a database outage every heartbeat is stale at once,
    and a busy worker that misses the inspect timeout would otherwise have its live jobs reaped
    and run twice. A killed worker comes back under the same node name and answers."""
    now = now or utcnow()
    unanswered_grace = unanswered_grace or max(4 * orphan_grace, timedelta(seconds=60))
    running = list(db.session.execute(sa.select(Job).where(Job.state == JobState.RUNNING.value)).scalars())
    replies: dict[str, set[str]] | None = None
    asked = False
    reaped = []
    for job in running:
        quiet = now - (job.heartbeat_at or job.started_at or job.created_at)
        spec = job_types().get(job.job_type)
        hard = timedelta(seconds=spec.time_limit if spec else 3600)
        if quiet > hard + HARD_LIMIT_GRACE:
            reason = f"no heartbeat for {int(quiet.total_seconds())} s, longer than its hard time limit " \
                     f"({int(hard.total_seconds())} s) + grace: its worker was lost or killed"
        elif quiet > orphan_grace and active_jobs is not None:
            if not asked:
                replies, asked = active_jobs(), True
            reason = _orphaned(job, quiet, replies, unanswered_grace)
            if reason is None:
                continue
        else:
            continue
        if spec is not None and spec.retry_when_lost and job.attempts < min(2, spec.max_attempts):
            if _retry(job, spec, reason, now, port):
                reaped.append(job.id)
            continue
        if spec is not None and spec.retry_when_lost:
            reason += "; it was already retried once after a lost worker"
        elif spec is not None:
            reason += f"; a {spec.name} job is not safe to run twice, launch it again"
        with unit_of_work():
            if fail(job.id, reason):
                audit.record(REAPER, "job.reap", f"job:{job.id}", {"job_type": job.job_type, "reason": reason})
                reaped.append(job.id)
    return reaped


def _orphaned(job: Job, quiet: timedelta, replies: dict[str, set[str]] | None,
              unanswered_grace: timedelta) -> str | None:
    """Why a quiet job is taken to have lost its worker, from the nodes' answers; None to keep it."""
    if replies is None or any(job.id in ids for ids in replies.values()):
        return None
    seconds = int(quiet.total_seconds())
    if job.worker is None:  # claimed before nodes were recorded: any answering node will do
        if not replies:
            return None
        return f"its worker is gone: no live worker runs this job and it sent no heartbeat for {seconds} s " \
               f"(worker killed or restarted)"
    if job.worker in replies:
        return f"its worker is gone: {job.worker} answers that it does not run this job, which sent no " \
               f"heartbeat for {seconds} s (worker killed or restarted)"
    if quiet > unanswered_grace:
        return f"its worker is gone: {job.worker} has not answered and the job sent no heartbeat for " \
               f"{seconds} s (worker stopped or its host lost)"
    return None


def _retry(job: Job, spec, reason: str, now: datetime, port: JobPort | None) -> bool:
    """Move a lost first attempt back to queued (only if it is still that attempt) and send it again.
    Without a port it stays queued, and `requeue_lost` sends it on a later tick."""
    line = f"re-queued once by the reaper: {reason}"
    stmt = (sa.update(Job).where(Job.id == job.id, Job.state == JobState.RUNNING.value, Job.attempts == job.attempts)
            .values(state=JobState.QUEUED.value, heartbeat_at=now, message="re-queued after its worker was lost",
                    log=Job.log + _line(line)).execution_options(synchronize_session=False))
    with unit_of_work() as session:
        moved = session.execute(stmt).rowcount == 1
        if moved:
            audit.record(REAPER, "job.retry", f"job:{job.id}", {"job_type": job.job_type, "reason": reason})
    if moved and port is not None:
        try:
            port.submit(job.id, job.queue, spec.soft_time_limit, spec.time_limit)
        except Exception:  # the broker is down: the job stays queued and requeue_lost sends it later
            pass
    return moved


def requeue_lost(now: datetime | None = None, *, port: JobPort, grace: timedelta = timedelta(minutes=5),
                 short_grace: timedelta = timedelta(seconds=20)) -> list[str]:
    """Send again each queued job that no live worker is running or holds reserved, once it has
    waited `grace` since it was queued (or last re-queued), or only `short_grace` when the port can
    list the messages waiting in the broker and its message is not among them. The workers are
    asked only when such a job exists; when they cannot be asked, nothing is sent (the next tick
    tries again)."""
    now = now or utcnow()
    waited_since = sa.func.coalesce(Job.heartbeat_at, Job.created_at)  # heartbeat_at: last re-queue
    stmt = sa.select(Job).where(Job.state == JobState.QUEUED.value, waited_since < now - min(grace, short_grace))
    waiting = list(db.session.execute(stmt.order_by(Job.created_at)).scalars())
    if not waiting:
        return []
    # The broker first, then the workers: a message taken from the queue in between is then held.
    in_broker = getattr(port, "queued_job_ids", lambda: None)()
    if in_broker is None:
        waiting = [job for job in waiting if now - (job.heartbeat_at or job.created_at) > grace]
        if not waiting:
            return []
    known = port.known_job_ids()
    if known is None:
        return []
    requeued = []
    for job in waiting:
        spec = job_types().get(job.job_type)
        if job.id in known or spec is None:
            continue
        long_enough = (now - (job.heartbeat_at or job.created_at)) > grace
        if not long_enough and (in_broker is None or job.id in in_broker):
            continue
        minutes = (now - (job.heartbeat_at or job.created_at)).total_seconds() / 60
        line = f"re-queued: no live worker held it after {minutes:.1f} min (its broker message was lost)"
        with unit_of_work():
            moved = mark_requeued(job.id, line, now)
            if moved:
                audit.record(REAPER, "job.requeue", f"job:{job.id}", {"job_type": job.job_type})
        if moved:
            try:
                port.submit(job.id, job.queue, spec.soft_time_limit, spec.time_limit)
            except Exception:  # the broker went away meanwhile: still queued, a later tick sends it
                continue
            requeued.append(job.id)
    return requeued
