"""The allowlist of runbook actions: each a pydantic params model (typed, bounded), a dry run that
says exactly what would happen and touches nothing, the action itself, a time bound, and whether a
second person must approve it. Nothing outside this list can be run from the Runbooks page.

Actions run with the runbook's authority (the requester's RUNBOOK_REQUEST, and the approver's
RUNBOOK_APPROVE when `approval_required`), through the same services the rest of the cockpit uses:
the engine's desired state (controls), the job service, the token service, the broker's own control
commands (through `QueueControl`, so this module imports no Celery). `mode="job"` actions run on a
worker as a job (dashapp/services/jobtypes/runbook.py); "inline" ones are sub-second and run in the
request that starts them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Literal, Protocol

import pydantic
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import controls, jobs
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.fields import ENGINE_ID_PATTERN
from models import ApiToken, Job, JobState, utcnow

RUNBOOK_ROLE = "admin"  # the role the runbook acts with inside the services it calls (D70)
QUEUE_NAMES = ("default", "jobs", "reports")
# Tables an operator may VACUUM / ANALYZE: the big, append-heavy ones. Nothing else is accepted.
MAINTENANCE_TABLES = ("jobs", "orders", "fills", "quotes", "bars", "engine_events", "alert_events",
                      "notifications", "runbook_runs", "audit_records", "pnl_snapshots", "risk_decisions")
_JOB_ID = r"^[0-9a-f-]{36}$"


class QueueControl(Protocol):
    """What the queue actions need from the broker (workers/queue_control.py is the Celery one)."""

    def depth(self, queue: str) -> int | None: ...

    def consumers(self, queue: str) -> list[str] | None: ...

    def drain(self, queue: str) -> list[str]: ...

    def resume(self, queue: str) -> list[str]: ...

    def purge(self, queue: str) -> int: ...


@dataclass
class RunContext:
    """What an action gets: who runs it, its run id, the ports, and a deadline it must respect."""

    run_id: int
    requested_by: str
    approved_by: str | None
    queues: QueueControl | None = None
    job_port: object | None = None
    deadline: float = field(default_factory=lambda: time.monotonic() + 30)
    lines: list[str] = field(default_factory=list)
    secret: str | None = None  # a rotated token's new secret: shown once, never stored

    @property
    def actor(self) -> str:
        return f"runbook#{self.run_id}"

    def say(self, line: str) -> None:
        self.lines.append(str(line)[:1000])

    def queue_port(self) -> QueueControl:
        if self.queues is None:
            raise Conflict("no broker connection to act on the queues from here", field="queue")
        return self.queues


@dataclass(frozen=True)
class RunbookAction:
    name: str
    title: str
    params: type[pydantic.BaseModel]
    dry_run: Callable[[pydantic.BaseModel, RunContext], str]
    run: Callable[[pydantic.BaseModel, RunContext], str]
    approval_required: bool = True
    timeout_seconds: int = 10
    mode: Literal["inline", "job"] = "inline"


class _Params(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)


class EngineParams(_Params):
    engine_id: str = pydantic.Field(controls.DEFAULT_ENGINE, pattern=ENGINE_ID_PATTERN,
                                    description="the engine whose process is restarted")


class QueueParams(_Params):
    queue: Literal["default", "jobs", "reports"] = pydantic.Field(description="a Celery queue")


class JobParams(_Params):
    job_id: str = pydantic.Field(pattern=_JOB_ID, description="the job's id (36 characters)")


class TokenParams(_Params):
    token_id: int = pydantic.Field(ge=1, le=2**31 - 1, strict=True, description="the API token's id")


class HealthParams(_Params):
    pass


class MaintenanceParams(_Params):
    table: Literal[MAINTENANCE_TABLES] = pydantic.Field(description="an allowlisted table")
    operation: Literal["analyze", "vacuum", "vacuum_analyze"] = "analyze"


# --- engine ------------------------------------------------------------------------------------

def _engine_dry(p: EngineParams, ctx: RunContext) -> str:
    view = controls.engine_view(p.engine_id)
    if view.kill_switch_active:
        return f"Would refuse: the kill switch is on ({view.kill_switch_reason}); reset it before restarting."
    return (f"Would set engine {p.engine_id}'s desired state to running with generation {view.generation + 1} "
            f"(now: desired {view.desired}, reported {view.actual}); the engine supervisor then stops the "
            "engine process and starts it again. Working orders are canceled by the engine on its way out.")


def _engine_run(p: EngineParams, ctx: RunContext) -> str:
    outcome = controls.control_engine(ctx.actor, RUNBOOK_ROLE, p.engine_id, "restart",
                                      f"runbook #{ctx.run_id} requested by {ctx.requested_by}",
                                      f"runbook-{ctx.run_id}")
    return f"{outcome}; the engine supervisor carries it out within a few seconds."


# --- queues ------------------------------------------------------------------------------------

def _depth_text(ctx: RunContext, queue: str) -> str:
    depth = ctx.queues.depth(queue) if ctx.queues is not None else None
    return "an unknown number of" if depth is None else str(depth)


def _drain_dry(p: QueueParams, ctx: RunContext) -> str:
    consumers = ctx.queues.consumers(p.queue) if ctx.queues is not None else None
    who = "no worker answered" if not consumers else ", ".join(consumers)
    return (f"Would ask every worker to stop consuming queue {p.queue!r} (celery control cancel_consumer; "
            f"consuming now: {who}). {_depth_text(ctx, p.queue)} waiting messages stay in the broker; running "
            "tasks finish. Undo with 'Resume a queue'.")


def _drain_run(p: QueueParams, ctx: RunContext) -> str:
    replies = ctx.queue_port().drain(p.queue)
    return f"Queue {p.queue!r}: consumers canceled on {len(replies)} worker(s): {'; '.join(replies) or 'none'}."


def _resume_dry(p: QueueParams, ctx: RunContext) -> str:
    return (f"Would ask every worker to consume queue {p.queue!r} again (celery control add_consumer); "
            f"{_depth_text(ctx, p.queue)} waiting messages would then be taken.")


def _resume_run(p: QueueParams, ctx: RunContext) -> str:
    replies = ctx.queue_port().resume(p.queue)
    return f"Queue {p.queue!r}: consumers added on {len(replies)} worker(s): {'; '.join(replies) or 'none'}."


def _purge_dry(p: QueueParams, ctx: RunContext) -> str:
    return (f"Would delete the {_depth_text(ctx, p.queue)} messages waiting in queue {p.queue!r} from the "
            "broker. Their jobs stay queued in the store and the reaper sends them again after its grace "
            "period; other messages (beat ticks) are gone for good.")


def _purge_run(p: QueueParams, ctx: RunContext) -> str:
    removed = ctx.queue_port().purge(p.queue)
    return f"Queue {p.queue!r}: {removed} message(s) deleted from the broker."


# --- jobs --------------------------------------------------------------------------------------

def _job(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}", field="job_id")
    return job


def _age(job: Job) -> str:
    seen = job.heartbeat_at or job.started_at or job.created_at
    return "never" if seen is None else f"{(utcnow() - seen).total_seconds():.0f} s ago"


def _retry_dry(p: JobParams, ctx: RunContext) -> str:
    job = _job(p.job_id)
    if job.state == JobState.RUNNING.value:
        return (f"Would refuse: job {job.id[:8]} ({job.job_type}) is running (last heartbeat {_age(job)}); "
                "fail it first, or cancel it on the Jobs page.")
    if job.state == JobState.QUEUED.value:
        return f"Would send job {job.id[:8]} ({job.job_type})'s message to queue {job.queue} again."
    return (f"Would launch a new {job.job_type} job with the stored parameters of job {job.id[:8]} "
            f"(which ended {job.state}).")


def _retry_run(p: JobParams, ctx: RunContext) -> str:
    job = _job(p.job_id)
    if job.state == JobState.RUNNING.value:
        raise Conflict(f"job {job.id[:8]} is running: fail it first", field="job_id")
    if ctx.job_port is None:
        raise Conflict("no queue connection to send the job from here", field="job_id")
    if job.state == JobState.QUEUED.value:
        jobs.mark_requeued(job.id, f"sent again by {ctx.actor}", utcnow())
        spec = jobs.job_type(job.job_type)
        ctx.job_port.submit(job.id, spec.queue, spec.soft_time_limit, spec.time_limit)
        return f"Job {job.id[:8]}'s message was sent again to queue {job.queue}."
    new = jobs.launch(ctx.actor, RUNBOOK_ROLE, job.job_type, dict(job.params or {}), f"runbook-{ctx.run_id}",
                      port=ctx.job_port)
    return f"Launched job {new.id} ({new.job_type}) with the parameters of job {job.id[:8]}."


def _fail_dry(p: JobParams, ctx: RunContext) -> str:
    job = _job(p.job_id)
    if job.job_state.is_terminal:
        return f"Would refuse: job {job.id[:8]} already ended ({job.state})."
    return (f"Would mark job {job.id[:8]} ({job.job_type}, {job.state}, last heartbeat {_age(job)}) failed with "
            f"'failed by runbook #{ctx.run_id}'; a worker still running it stops at its next heartbeat.")


def _fail_run(p: JobParams, ctx: RunContext) -> str:
    job = _job(p.job_id)
    if not jobs.fail(job.id, f"failed by runbook #{ctx.run_id} (requested by {ctx.requested_by})"):
        raise Conflict(f"job {job.id[:8]} already ended ({job.state})", field="job_id")
    return f"Job {job.id[:8]} ({job.job_type}) marked failed."


# --- API tokens --------------------------------------------------------------------------------

def _token(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}", field="token_id")
    if token.revoked_at is not None:
        raise Conflict(f"API token {token_id} ({token.name}) is already revoked", field="token_id")
    return token


def _rotate_dry(p: TokenParams, ctx: RunContext) -> str:
    token = _token(p.token_id)
    return (f"Would issue a new token '{token.name}' for {token.user.username} bound to the same engines "
            f"({', '.join(sorted(token.engine_ids)) or 'none'}), show its secret once to whoever runs the action, "
            f"and revoke token {token.id} ({token.prefix}...). Clients using the old secret get 401 at once.")


def _rotate_run(p: TokenParams, ctx: RunContext) -> str:
    from dashapp.services import tokens

    old = _token(p.token_id)
    new, secret = tokens.create_token(ctx.actor, old.user_id, old.name, sorted(old.engine_ids))
    tokens.revoke_token(ctx.actor, old.id)
    ctx.secret = secret  # shown once by the page; never stored in the run's output
    return f"New token {new.id} ({new.prefix}...) issued for {old.user.username}; token {old.id} revoked."


# --- health and maintenance (jobs on a worker) ---------------------------------------------------

def _health_dry(p: HealthParams, ctx: RunContext) -> str:
    return ("Would run the health check on a worker (the health_check job's checks: database and broker "
            "round trips) and store what it found. Read-only.")


def _health_run(p: HealthParams, ctx: RunContext) -> str:
    from dashapp.observability import check_broker, check_database
    from flask import current_app

    lines = []
    for name, probe in (("database", check_database),
                        ("broker", lambda: check_broker(current_app.config["COCKPIT_SETTINGS"]))):
        started = time.perf_counter()
        problem = probe()
        lines.append(f"{name}: {problem or 'ok'} ({(time.perf_counter() - started) * 1000:.1f} ms)")
        if problem:
            raise ValidationError("; ".join(lines), field="health")
    return "; ".join(lines)


def _maintenance_sql(p: MaintenanceParams, dialect: str) -> list[str]:
    vacuum = "VACUUM" if dialect == "sqlite" else f"VACUUM {p.table}"  # SQLite vacuums the whole file
    if p.operation == "analyze":
        return [f"ANALYZE {p.table}"]
    if p.operation == "vacuum":
        return [vacuum]
    return [vacuum, f"ANALYZE {p.table}"] if dialect == "sqlite" else [f"VACUUM (ANALYZE) {p.table}"]


def _maintenance_dry(p: MaintenanceParams, ctx: RunContext) -> str:
    dialect = db.engine.dialect.name
    rows = db.session.execute(sa.select(sa.func.count()).select_from(sa.table(p.table))).scalar()
    note = " (SQLite's VACUUM rebuilds the whole database file)" if dialect == "sqlite" and "vacuum" in p.operation \
        else ""
    return (f"Would run {'; '.join(_maintenance_sql(p, dialect))} on {dialect} ({rows} rows in {p.table}){note}, "
            f"outside a transaction, with a {_statement_timeout()} s statement timeout. Data is not changed.")


def _statement_timeout() -> int:
    return ACTIONS["vacuum_analyze"].timeout_seconds - 30


def _maintenance_run(p: MaintenanceParams, ctx: RunContext) -> str:
    dialect = db.engine.dialect.name
    done = []
    db.session.rollback()  # end this session's read transaction: SQLite's VACUUM needs the file to itself
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if dialect == "postgresql":
            conn.execute(sa.text(f"SET statement_timeout = {_statement_timeout() * 1000}"))
        for statement in _maintenance_sql(p, dialect):
            started = time.perf_counter()
            conn.execute(sa.text(statement))  # table names come from the allowlist only
            done.append(f"{statement}: done in {time.perf_counter() - started:.2f} s")
    return "; ".join(done)


ACTIONS: dict[str, RunbookAction] = {a.name: a for a in (
    RunbookAction("restart_engine", "Restart an engine", EngineParams, _engine_dry, _engine_run,
                  approval_required=True),
    RunbookAction("drain_queue", "Drain a queue", QueueParams, _drain_dry, _drain_run,
                  approval_required=True),
    RunbookAction("resume_queue", "Resume a queue", QueueParams, _resume_dry, _resume_run,
                  approval_required=False),
    RunbookAction("purge_queue", "Purge a queue", QueueParams, _purge_dry, _purge_run,
                  approval_required=True),
    RunbookAction("retry_job", "Retry a stuck job", JobParams, _retry_dry, _retry_run,
                  approval_required=False),
    RunbookAction("fail_job", "Fail a stuck job", JobParams, _fail_dry, _fail_run,
                  approval_required=True),
    RunbookAction("rotate_token", "Rotate an API token", TokenParams, _rotate_dry, _rotate_run,
                  approval_required=True),
    RunbookAction("health_check", "Run a health check", HealthParams, _health_dry, _health_run,
                  approval_required=False, mode="job", timeout_seconds=60),
    RunbookAction("vacuum_analyze", "VACUUM / ANALYZE a table", MaintenanceParams, _maintenance_dry,
                  _maintenance_run, approval_required=True, mode="job", timeout_seconds=630),
)}


def action(name: str) -> RunbookAction:
    spec = ACTIONS.get(name)
    if spec is None:
        raise ValidationError(f"unknown runbook action {name!r}: choose one of {', '.join(ACTIONS)}", field="action")
    return spec


def validate(spec: RunbookAction, params: dict | None) -> pydantic.BaseModel:
    """The typed params, or a ValidationError naming the first bad field."""
    if params is not None and not isinstance(params, dict):
        raise ValidationError("params must be an object", field="params")
    try:
        return spec.params.model_validate(params or {})
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "params"
        raise ValidationError(f"{spec.title}: {name}: {first['msg']}", field=name) from None
