"""Background jobs: the allowlist of job types, and each job's life from launch to one terminal state.

    queued -> running -> succeeded | failed | canceled | timed_out

A terminal state never changes again: every transition is one conditional UPDATE (`WHERE state IN
...`), so when a cancel, a worker and the reaper race, exactly one wins and the others learn they
lost. Worker-side writes also carry the attempt number, so an attempt that was replaced (after a
redelivery) cannot write over its successor.

The queue is reached through a port the caller passes in (`JobPort`: submit, revoke, and which job
ids live workers are running), so this module imports no Celery and its tests need no worker.
Job types register here with a pydantic params model, a handler, a queue, time limits and the
permission that launches them; a type that is not registered cannot be launched. Jobs whose
worker or broker message was lost are recovered by dashapp.services.job_recovery (beat's reaper).
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

import pydantic
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import Job, JobState, utcnow

SCHEDULER = "scheduler"  # the actor of jobs that beat launches
ACTIVE = (JobState.QUEUED.value, JobState.RUNNING.value)
RUNNING = (JobState.RUNNING.value,)
_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,60}$")
_LOG_LINE_MAX = 1000


class JobPort(Protocol):
    """What the service needs from the queue. workers.celery_app.CeleryJobPort is the real one."""

    def submit(self, job_id: str, queue: str, soft_time_limit: int, time_limit: int) -> None: ...

    def revoke(self, job_id: str) -> None: ...

    def active_job_ids(self) -> set[str] | None: ...

    def active_jobs_by_worker(self) -> dict[str, set[str]] | None: ...  # {node: its running ids}; None: unasked

    def known_job_ids(self) -> set[str] | None:
        """Ids live workers are running or hold reserved; None when they cannot be asked."""


class QueueUnavailable(ServiceError):
    http_status = 503


class JobFailed(Exception):
    """A handler raises this to fail its job with a message people can act on (and, optionally,
    the partial result that explains it)."""

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result


class JobAborted(Exception):
    """Raised inside a handler when its job is no longer this attempt's to run (canceled, reaped,
    or taken over by a newer attempt): the handler stops and writes nothing more."""


class JobInterrupted(JobAborted):
    """The same, raised into the handler's thread from outside (workers.heartbeat) at any Python
    line, possibly mid-query: the session's connections are discarded, never reused."""


@dataclass(frozen=True)
class JobType:
    name: str
    label: str
    params: type[pydantic.BaseModel]
    handler: Callable[["JobContext", pydantic.BaseModel], dict | None]
    queue: str = "jobs"
    soft_time_limit: int = 300  # seconds; the handler gets SoftTimeLimitExceeded -> timed_out
    time_limit: int = 330  # seconds; the worker kills the process -> timed_out
    permission: Perm = Perm.JOBS_LAUNCH
    max_attempts: int = 3  # starts, counting restarts after a lost worker or a transient error
    # Safe to run again from the start when its worker was killed mid-run (its writes are keyed by
    # the job, e.g. a result or a file named after it): the reaper re-queues it once (job_recovery).
    retry_when_lost: bool = False


REGISTRY: dict[str, JobType] = {}


def register(spec: JobType) -> JobType:
    if spec.time_limit <= spec.soft_time_limit:
        raise ValueError(f"{spec.name}: time_limit must exceed soft_time_limit")
    REGISTRY[spec.name] = spec
    return spec


def _ensure_registered() -> None:
    """Job types live in dashapp.services.jobtypes (one module each) and register on import."""
    import dashapp.services.jobtypes  # noqa: F401


def job_types() -> dict[str, JobType]:
    _ensure_registered()
    return dict(REGISTRY)


def job_type(name: str) -> JobType:
    _ensure_registered()
    spec = REGISTRY.get(name)
    if spec is None:
        raise ValidationError(f"unknown job type {name!r}: choose one of {', '.join(sorted(REGISTRY))}",
                              field="job_type")
    return spec


@dataclass
class JobContext:
    """What a handler gets besides its params: progress, log lines, and a cancel-aware sleep."""

    job_id: str
    attempt: int

    def progress(self, pct: float, message: str = "") -> None:
        report_progress(self.job_id, pct, message, attempt=self.attempt)

    def log(self, line: str) -> None:
        append_log(self.job_id, line, attempt=self.attempt)
        logging.getLogger("cockpit.jobs").info(line[:_LOG_LINE_MAX])  # also searchable by job id (log_files)

    def sleep(self, seconds: float, from_pct: float, to_pct: float, message: str = "waiting") -> None:
        """Sleep in one-second slices, reporting progress (and so noticing a cancel) after each."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(1.0, left))
            done = 1 - max(deadline - time.monotonic(), 0) / seconds
            self.progress(from_pct + (to_pct - from_pct) * done, message)


# --- launching -------------------------------------------------------------------------------


def _validate(spec: JobType, params: dict | None) -> dict:
    try:
        return spec.params.model_validate(params or {}).model_dump(mode="json")
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "params"
        raise ValidationError(f"{spec.name} parameter {field!r}: {first['msg']}", field=f"params.{field}",
                              details=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
                                       for e in exc.errors()]) from None


def _scoped_key(actor: str, key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY_RE.match(key):
        raise ValidationError("idempotency key must be 1-60 characters: letters, digits, '.', '_', ':' or '-'",
                              field="idempotency_key")
    return f"{actor}:{key}"  # one person's key never returns another person's job


def _existing(key: str, job_type_name: str, params: dict) -> Job | None:
    job = db.session.execute(sa.select(Job).where(Job.idempotency_key == key)).scalar()
    if job is not None and (job.job_type != job_type_name or job.params != params):
        raise Conflict("this idempotency key was already used for a different job", field="idempotency_key")
    return job


def launch(actor: str, role: str | None, job_type_name: str, params: dict | None = None,
           idempotency_key: str | None = None, *, port: JobPort) -> Job:
    """Validate, store a queued job (audited), then hand it to the queue. The same idempotency key
    (same actor) returns the job it created the first time, never a second one."""
    spec = job_type(job_type_name)
    if not has_permission(role, spec.permission):
        audit.record(actor, "job.launch", f"job_type:{spec.name}", {"role": role}, outcome="denied")
        raise PermissionDenied(f"your role ({role}) lacks the permission {spec.permission.value} "
                               f"needed to launch {spec.name}")
    return _launch(actor, spec, params, idempotency_key, port)


def rerun(actor: str, role: str | None, job_id: str, idempotency_key: str | None = None, *, port: JobPort) -> Job:
    """Launch a new job of the same type with the same (stored, already validated) parameters."""
    original = get_job(job_id)
    return launch(actor, role, original.job_type, dict(original.params or {}), idempotency_key, port=port)


def launch_scheduled(job_type_name: str, params: dict | None, slot: str, *, port: JobPort) -> Job:
    """Launch on behalf of the schedule (beat). `slot` names the tick, so a repeated tick is a no-op."""
    return _launch(SCHEDULER, job_type(job_type_name), params, f"{job_type_name}:{slot}", port)


def _launch(actor: str, spec: JobType, params: dict | None, idempotency_key: str | None, port: JobPort) -> Job:
    clean = _validate(spec, params)
    key = _scoped_key(actor, idempotency_key)
    if key and (existing := _existing(key, spec.name, clean)) is not None:
        return existing
    job = Job(id=str(uuid.uuid4()), job_type=spec.name, params=clean, state=JobState.QUEUED.value, progress=0.0,
              message="queued", log=_line(f"queued by {actor} on {spec.queue}"), queue=spec.queue, attempts=0,
              idempotency_key=key, created_by=actor, created_at=utcnow())
    try:
        with unit_of_work() as session:
            session.add(job)
            session.flush()
            audit.record(actor, "job.launch", f"job:{job.id}", {"job_type": spec.name, "params": clean})
    except IntegrityError:
        if key and (existing := _existing(key, spec.name, clean)) is not None:
            return existing  # a concurrent launch with the same key won the insert
        raise
    # Only after the commit: a fast worker must find the row.
    try:
        port.submit(job.id, spec.queue, spec.soft_time_limit, spec.time_limit)
    except Exception as exc:
        problem = f"could not queue the job: {type(exc).__name__}: {exc}"[:300]
        fail(job.id, problem)
        raise QueueUnavailable(f"{problem} (is the broker running?)", field="job_type") from exc
    return job


# --- the worker's side -----------------------------------------------------------------------


def _line(text: str) -> str:
    text = " ".join(str(text).split())[:_LOG_LINE_MAX]
    return f"{utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')} {text}\n"


def _transition(job_id: str, from_states: tuple[str, ...], log: str | None = None, attempt: int | None = None,
                **values) -> bool:
    """One conditional UPDATE; True when this call moved the job (it was in `from_states`)."""
    stmt = sa.update(Job).where(Job.id == job_id, Job.state.in_(from_states))
    if attempt is not None:
        stmt = stmt.where(Job.attempts == attempt)
    if log:
        values["log"] = Job.log + _line(log)
    with unit_of_work() as session:
        moved = session.execute(stmt.values(**values).execution_options(synchronize_session=False)).rowcount == 1
    return moved


def mark_running(job_id: str, worker: str = "", liveness_wait: float = 0.0, node: str | None = None) -> Job | None:
    """Claim the job for one attempt as Celery node `node` (the reaper asks it about the job). None
    when it must not run: it is terminal (canceled before it started, reaped, finished), it used up
    its attempts, or another attempt is still alive (its heartbeat moved during `liveness_wait`
    seconds: a duplicate delivery). `worker` describes the process in the job's log."""
    job = get_job(job_id)
    if job.job_state.is_terminal:
        return None
    spec = job_types().get(job.job_type)
    if spec is None:
        fail(job_id, f"job type {job.job_type!r} is not registered in this worker")
        return None
    if job.state == JobState.RUNNING.value and _heartbeat_moves(job, liveness_wait):
        return None
    attempt = job.attempts + 1
    if attempt > spec.max_attempts:
        fail(job_id, f"gave up after {job.attempts} attempts: the worker running it was lost each time")
        return None
    note = "started" if job.state == JobState.QUEUED.value else \
        f"restarted as attempt {attempt}: the worker running the previous attempt was lost"
    now = utcnow()
    if not _transition(job_id, ACTIVE, log=f"{note} on {worker or 'a worker'}", attempt=job.attempts,
                       state=JobState.RUNNING.value, attempts=attempt, started_at=now, heartbeat_at=now,
                       message=note, worker=node):
        return None
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _heartbeat_moves(job: Job, wait: float) -> bool:
    seen = job.heartbeat_at
    if seen is None or (utcnow() - seen).total_seconds() > wait:
        return False
    time.sleep(max(wait - (utcnow() - seen).total_seconds(), 0) + 0.1)
    db.session.expire_all()
    fresh = db.session.get(Job, job.id)
    return fresh.heartbeat_at != seen or fresh.job_state.is_terminal


def run(job: Job, timeout_errors: tuple[type[BaseException], ...] = (),
        transient_errors: tuple[type[BaseException], ...] = (sa.exc.OperationalError,),
        interruptible: Callable[[], AbstractContextManager] = nullcontext) -> str:
    """Run the handler of a job claimed by `mark_running` and record how it ended; returns the state.
    `timeout_errors` (the queue's soft time limit) end as timed_out; `transient_errors` propagate
    (rolled back) so the caller can retry the attempt; any other error fails the job. The handler
    runs inside `interruptible()`, the window in which a cancel may interrupt it."""
    spec = job_type(job.job_type)
    job_id, attempt = job.id, job.attempts  # the session may be discarded below
    try:
        with interruptible():
            result = spec.handler(JobContext(job_id, attempt), spec.params.model_validate(job.params))
    except JobInterrupted:
        db.session().invalidate()  # (the scoped_session proxy does not offer invalidate)
    except JobAborted:
        db.session.rollback()
    except timeout_errors:
        time_out(job_id, f"exceeded its soft time limit of {spec.soft_time_limit} s", attempt=attempt)
    except transient_errors:
        db.session.rollback()
        raise
    except JobFailed as exc:
        fail(job_id, str(exc), attempt=attempt, result=exc.result)
    except Exception as exc:
        current_app.logger.exception("job %s (%s) failed", job_id, spec.name)
        fail(job_id, f"{type(exc).__name__}: {exc}"[:2000], attempt=attempt)
    else:
        succeed(job_id, result or {}, attempt=attempt)
    db.session.expire_all()
    return get_job(job_id).state


def heartbeat(job_id: str, attempt: int | None = None) -> bool:
    """Keep a running job's heartbeat fresh; False when the job is no longer this attempt's."""
    if _transition(job_id, RUNNING, attempt=attempt, heartbeat_at=utcnow()):
        return True
    return attempt is not None and attempt_is_live(job_id, attempt)


def attempt_is_live(job_id: str, attempt: int) -> bool:
    """True while the job is this attempt's: running, or already succeeded by it. A handler that
    records its own success (an export commits it with its audit record) is still finishing its
    last lines; interrupting it there would undo its work (the export's file was deleted after its
    job had succeeded). A cancel or the reaper still ends a running attempt."""
    stmt = sa.select(Job.id).where(Job.id == job_id, Job.attempts == attempt,
                                   Job.state.in_((JobState.RUNNING.value, JobState.SUCCEEDED.value)))
    return db.session.execute(stmt).first() is not None


def mark_requeued(job_id: str, line: str, now: datetime) -> bool:
    """A queued job's message is sent again (job_recovery): log why; `heartbeat_at` dates it."""
    return _transition(job_id, (JobState.QUEUED.value,), log=line, heartbeat_at=now)


def note(job_id: str, line: str) -> None:
    """Append a line to the job's log whatever its state (how a canceled attempt ended)."""
    _transition(job_id, tuple(state.value for state in JobState), log=line)


def report_progress(job_id: str, pct: float, message: str = "", attempt: int | None = None) -> None:
    values = {"progress": min(max(float(pct), 0.0), 100.0), "heartbeat_at": utcnow()}
    if message:
        values["message"] = message[:500]
    if not _transition(job_id, RUNNING, attempt=attempt, **values):
        raise JobAborted(f"job {job_id} is no longer running")


def append_log(job_id: str, line: str, attempt: int | None = None) -> None:
    if not _transition(job_id, RUNNING, log=line, attempt=attempt, heartbeat_at=utcnow()):
        raise JobAborted(f"job {job_id} is no longer running")


def succeed(job_id: str, result: dict | None = None, attempt: int | None = None) -> bool:
    return _transition(job_id, RUNNING, log="succeeded", attempt=attempt, state=JobState.SUCCEEDED.value,
                       result=result or {}, progress=100.0, message="done", finished_at=utcnow())


def fail(job_id: str, error: str, attempt: int | None = None, result: dict | None = None) -> bool:
    return _transition(job_id, ACTIVE, log=f"failed: {error}", attempt=attempt, state=JobState.FAILED.value,
                       error=error, result=result, message=f"failed: {error}"[:500], finished_at=utcnow())


def time_out(job_id: str, error: str, attempt: int | None = None) -> bool:
    return _transition(job_id, RUNNING, log=f"timed out: {error}", attempt=attempt,
                       state=JobState.TIMED_OUT.value, error=error, message="timed out", finished_at=utcnow())


# --- people ----------------------------------------------------------------------------------


def cancel(actor: str, job_id: str, *, port: JobPort, role: str | None = None) -> Job:
    """Cancel a queued or running job: canceled in the store first (so it is final whatever the
    worker does), then revoked, so a message not yet started is dropped. A running attempt is
    stopped by its own worker, which watches the row (workers.heartbeat; D22). `role` is checked
    when given; system callers (CLI, scheduler) that checked already may leave it out."""
    if role is not None and not has_permission(role, Perm.JOBS_CANCEL):
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.JOBS_CANCEL.value}")
    job = get_job(job_id)
    if job.job_state.is_terminal:
        raise Conflict(f"job {job_id} already {job.state}; a finished job cannot be canceled", field="job_id")
    with unit_of_work():
        moved = _transition(job_id, ACTIVE, log=f"canceled by {actor}", state=JobState.CANCELED.value,
                            message=f"canceled by {actor}", finished_at=utcnow())
        if moved:
            audit.record(actor, "job.cancel", f"job:{job_id}", {"job_type": job.job_type, "was": job.state})
    db.session.expire_all()
    job = get_job(job_id)
    if not moved:
        raise Conflict(f"job {job_id} finished ({job.state}) before it could be canceled", field="job_id")
    try:
        port.revoke(job_id)
    except Exception as exc:  # the row is canceled; the worker's watch stops the attempt
        current_app.logger.warning("revoke of job %s failed: %s", job_id, exc)
    return job


# --- reading ---------------------------------------------------------------------------------


def get_job(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}", field="job_id")
    return job


def list_jobs(state: str | list[str] | None = None, job_type_name: str | None = None, created_by: str | None = None,
              include_scheduled: bool = True, limit: int = 200, since: datetime | None = None) -> list[Job]:
    stmt = sa.select(Job).order_by(Job.created_at.desc()).limit(min(max(limit, 1), 1000))
    if since is not None:  # the page's time range
        stmt = stmt.where(Job.created_at >= since)
    if state:
        stmt = stmt.where(Job.state.in_([state] if isinstance(state, str) else state))
    if job_type_name:
        stmt = stmt.where(Job.job_type == job_type_name)
    if created_by:
        stmt = stmt.where(Job.created_by == created_by)
    if not include_scheduled:
        stmt = stmt.where(Job.created_by != SCHEDULER)
    return list(db.session.execute(stmt).scalars())


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def summary(job: Job) -> dict:
    """One grid row."""
    spec = job_types().get(job.job_type)
    return {"id": job.id, "job_type": spec.label if spec else job.job_type, "state": job.state,
            "progress": round(job.progress or 0.0, 1), "created_by": job.created_by, "created_at": _iso(job.created_at),
            "finished_at": _iso(job.finished_at), "message": job.message}


def detail(job: Job) -> dict:
    return {**summary(job), "params": job.params, "log": job.log, "result": job.result, "error": job.error,
            "attempts": job.attempts, "queue": job.queue,
            "started_at": _iso(job.started_at), "cancelable": not job.job_state.is_terminal}
