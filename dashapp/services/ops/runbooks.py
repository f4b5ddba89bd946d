"""Runbook runs: request (with its dry run stored), approval by a second person through the one
four-eyes mechanism (dashapp/services/approvals.py), execution (inline, or as a job on a worker),
captured output, audit records, and the output on the incident's timeline.

    requested -> approved -> running -> succeeded | failed       (requested -> rejected | expired)

The approval's `execute` only moves the run to `approved` (it is the one place that can, guarded by
`approvals.require_executing`); `start` then runs what was approved, once (a conditional UPDATE
approved -> running). So a run needing approval cannot start any other way, and a failing action
never undoes its approval record. An action without `approval_required` is approved by its requester's
own request. `actor` is anything with `username` and `role_name` (a User, or `approvals.Actor`).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

import pydantic
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.log_files import log_context
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import approvals, audit
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationError
from dashapp.services.ops.runbook_actions import ACTIONS, RunbookAction, RunContext, action, validate
from dashapp.services.unit_of_work import unit_of_work
from models import ApprovalRequest, Incident, Job, RunbookRun, utcnow

OUTPUT_MAX = 8000
APPROVAL_TTL_MINUTES = 60
_log = logging.getLogger("cockpit.runbooks")
# (queue control, job port) for callers that pass none: set by the web layer at start (callbacks/runbooks.py)
_port_factory: Callable[[], tuple] | None = None


def set_port_factory(factory: Callable[[], tuple]) -> None:
    global _port_factory
    _port_factory = factory


def _ports(queues, job_port) -> tuple:
    if (queues is None or job_port is None) and _port_factory is not None:
        default_queues, default_port = _port_factory()
        return queues or default_queues, job_port or default_port
    return queues, job_port


@dataclass
class RunOutcome:
    run: RunbookRun
    secret: str | None = None  # a rotated token's new secret, for the one screen that shows it


def _require(actor, perm: Perm, what: str) -> None:
    if not has_permission(getattr(actor, "role_name", None), perm):
        raise PermissionDenied(f"role {getattr(actor, 'role_name', None)!r} may not {what} (needs {perm.value})",
                               field="action")


def _approval_name(name: str) -> str:
    return f"runbook.{name}"


def get_run(run_id) -> RunbookRun:
    if not isinstance(run_id, int) or isinstance(run_id, bool) or not 0 < run_id < 2**31:
        raise ValidationError("run id must be a positive integer", field="run_id")
    run = db.session.get(RunbookRun, run_id)
    if run is None:
        raise NotFound(f"no runbook run #{run_id}", field="run_id")
    return run


def _set_state(run: RunbookRun, old: tuple[str, ...], new: str, **values) -> bool:
    done = db.session.execute(sa.update(RunbookRun).where(RunbookRun.id == run.id, RunbookRun.state.in_(old))
                              .values(state=new, **values).execution_options(synchronize_session=False)).rowcount
    if done == 1:
        for key, value in {"state": new, **values}.items():
            setattr(run, key, value)
    return done == 1


# --- dry run and request -------------------------------------------------------------------------

def dry_run(action_name: str, params: dict | None, actor, *, queues=None, job_port=None) -> str:
    """What the action would do, in words. Reads only; writes nothing (not even an audit record)."""
    _require(actor, Perm.RUNBOOK_REQUEST, "dry-run runbook actions")
    spec = action(action_name)
    typed = validate(spec, params)
    queues, job_port = _ports(queues, job_port)
    ctx = RunContext(run_id=0, requested_by=actor.username, approved_by=None, queues=queues, job_port=job_port)
    return _dry_text(spec, typed, ctx)


def _dry_text(spec: RunbookAction, typed, ctx: RunContext) -> str:
    text = spec.dry_run(typed, ctx)
    bound = f" Time bound: {spec.timeout_seconds} s."
    who = " Needs a second person (runbooks:approve) to approve it." if spec.approval_required else \
        " Runs at once (no approval needed)."
    return (text + bound + who)[:4000]


def _incident(incident_id) -> int | None:
    if incident_id in (None, ""):
        return None
    if not isinstance(incident_id, int) or isinstance(incident_id, bool) or not 0 < incident_id < 2**31:
        raise ValidationError("incident must be a positive integer id", field="incident_id")
    if db.session.get(Incident, incident_id) is None:
        raise NotFound(f"no incident #{incident_id}", field="incident_id")
    return incident_id


def request_run(action_name: str, params: dict | None, actor, reason: str, incident_id: int | None = None, *,
                queues=None, job_port=None) -> RunOutcome:
    """Store a run with its dry run. With `approval_required` it waits for a second person;
    otherwise it starts at once."""
    _require(actor, Perm.RUNBOOK_REQUEST, "request runbook actions")
    spec = action(action_name)
    typed = validate(spec, params)
    clean = typed.model_dump(mode="json")
    incident_id = _incident(incident_id)
    queues, job_port = _ports(queues, job_port)
    reason = approvals._reason(reason)
    dry = _dry_text(spec, typed, RunContext(0, actor.username, None, queues, job_port))
    with unit_of_work() as session:
        run = RunbookRun(action=spec.name, params=clean, reason=reason, dry_run=dry, requested_by=actor.username,
                         requested_at=utcnow(), incident_id=incident_id, output="",
                         state="requested" if spec.approval_required else "approved",
                         approved_by=None if spec.approval_required else actor.username)
        session.add(run)
        session.flush()
        audit.record(actor.username, "runbook.request", f"runbook_run:{run.id}",
                     {"action": spec.name, "params": clean, "reason": reason, "incident_id": incident_id,
                      "approval_required": spec.approval_required})
        if spec.approval_required:
            ask = approvals.request(_approval_name(spec.name), {"run_id": run.id, "params": clean}, actor, reason)
            run.approval_id = ask.id
    if spec.approval_required:
        return RunOutcome(run)
    return start(run.id, actor, queues=queues, job_port=job_port)


# --- approval ------------------------------------------------------------------------------------

def _approved(name: str):
    def execute(params: dict, requested_by: str, approved_by: str) -> dict:
        approvals.require_executing(_approval_name(name))
        run = get_run(params["run_id"])
        if run.action != name or run.approval_id != approvals.executing_request_id():
            raise Conflict(f"approval does not belong to runbook run #{run.id}", field="run_id")
        if not _set_state(run, ("requested",), "approved", approved_by=approved_by):
            raise Conflict(f"runbook run #{run.id} is {run.state}, not waiting for approval", field="run_id")
        audit.record(approved_by, "runbook.approve", f"runbook_run:{run.id}",
                     {"action": name, "requested_by": requested_by})
        return {"run_id": run.id, "state": "approved"}

    return execute


def _register_approvals() -> None:
    for spec in ACTIONS.values():
        if not spec.approval_required:
            continue
        model = pydantic.create_model(f"{spec.params.__name__}Approval",
                                      __config__=pydantic.ConfigDict(extra="forbid"),
                                      run_id=(int, pydantic.Field(ge=1, le=2**31 - 1)), params=(spec.params, ...))
        approvals.register_action(approvals.ActionSpec(
            name=_approval_name(spec.name), title=f"Runbook: {spec.title}", request_perm=Perm.RUNBOOK_REQUEST,
            approve_perm=Perm.RUNBOOK_APPROVE, params_model=model, execute=_approved(spec.name),
            describe=lambda p, title=spec.title: f"{title} {p.get('params') or ''} (run #{p.get('run_id')})",
            ttl_minutes=APPROVAL_TTL_MINUTES, mfa=True))  # D80: only enrolled or required users step up


_register_approvals()


def approve_run(run_id: int, actor, *, queues=None, job_port=None) -> RunOutcome:
    """A second person approves (refused for the requester and for roles without runbooks:approve,
    by the approvals service), then the run starts."""
    _require(actor, Perm.RUNBOOK_APPROVE, "approve runbook actions")
    run = get_run(run_id)
    if run.approval_id is None or run.state != "requested":
        raise Conflict(f"runbook run #{run.id} is {run.state}, not waiting for approval", field="run_id")
    approvals.approve(run.approval_id, actor)
    db.session.expire_all()
    return start(run.id, actor, queues=queues, job_port=job_port)


def reject_run(run_id: int, actor, reason: str) -> RunbookRun:
    _require(actor, Perm.RUNBOOK_APPROVE, "reject runbook actions")
    run = get_run(run_id)
    if run.approval_id is None or run.state != "requested":
        raise Conflict(f"runbook run #{run.id} is {run.state}, not waiting for approval", field="run_id")
    approvals.reject(run.approval_id, actor, reason)
    with unit_of_work():
        if _set_state(run, ("requested",), "rejected", approved_by=None, finished_at=utcnow(),
                      output=f"rejected by {actor.username}: {reason.strip()[:300]}"):
            audit.record(actor.username, "runbook.reject", f"runbook_run:{run.id}", {"action": run.action})
    return run


# --- execution -----------------------------------------------------------------------------------

def start(run_id: int, actor, *, queues=None, job_port=None) -> RunOutcome:
    """Run an approved run, once: inline (captured here) or as a job on a worker."""
    _require(actor, Perm.RUNBOOK_REQUEST, "run runbook actions")
    run = get_run(run_id)
    spec = action(run.action)
    queues, job_port = _ports(queues, job_port)
    with unit_of_work():
        if not _set_state(run, ("approved",), "running", started_at=utcnow()):
            raise Conflict(f"runbook run #{run.id} is {run.state}: only an approved run starts", field="run_id")
        audit.record(actor.username, "runbook.start", f"runbook_run:{run.id}",
                     {"action": run.action, "approved_by": run.approved_by, "mode": spec.mode})
    if spec.mode == "job":
        return RunOutcome(_launch_job(run, spec, actor, job_port))
    ctx = RunContext(run.id, run.requested_by, run.approved_by, queues, job_port,
                     deadline=time.monotonic() + spec.timeout_seconds)
    state, output = execute(run, spec, ctx)
    return RunOutcome(finish(run.id, state, output), ctx.secret if state == "succeeded" else None)


def _launch_job(run: RunbookRun, spec: RunbookAction, actor, job_port) -> RunbookRun:
    from dashapp.services import jobs

    if job_port is None:
        return finish(run.id, "failed", "no queue connection to launch the job from here")
    try:
        job = jobs.launch(actor.username, actor.role_name, f"runbook.{spec.name}", {"run_id": run.id},
                          f"runbook-{run.id}", port=job_port)
    except ServiceError as err:
        return finish(run.id, "failed", f"could not launch the job: {err.message}")
    with unit_of_work():
        run.job_id = job.id
    return run


def execute(run: RunbookRun, spec: RunbookAction, ctx: RunContext) -> tuple[str, str]:
    """Run the action; (state, output). Errors become a failed run with the error's text."""
    typed = validate(spec, run.params)
    started = time.perf_counter()
    with log_context(user=run.requested_by):
        _log.info("runbook run #%s %s started (approved by %s)", run.id, spec.name, run.approved_by)
        try:
            text = spec.run(typed, ctx)
            state = "succeeded"
        except ServiceError as err:
            text, state = f"refused: {err.message}", "failed"
        except Exception as exc:  # captured as the run's output; the page shows it
            db.session.rollback()
            _log.exception("runbook run #%s %s failed", run.id, spec.name)
            text, state = f"{type(exc).__name__}: {exc}", "failed"
        elapsed = time.perf_counter() - started
        if state == "succeeded" and elapsed > spec.timeout_seconds:
            text, state = f"{text} (took {elapsed:.1f} s, over its bound of {spec.timeout_seconds} s)", "failed"
        _log.info("runbook run #%s %s %s in %.2f s", run.id, spec.name, state, elapsed)
    return state, "\n".join([*ctx.lines, text])


def finish(run_id: int, state: str, output: str) -> RunbookRun:
    """Store the end of a running run (output bounded: its tail is kept), audited, and put the
    output on the incident's timeline when the run names one."""
    run = get_run(run_id)
    output = output if len(output) <= OUTPUT_MAX else "…" + output[-(OUTPUT_MAX - 1):]
    with unit_of_work():
        if not _set_state(run, ("running",), state, finished_at=utcnow(), output=output):
            return run  # it ended already (a second report of the same end)
        audit.record(run.approved_by or run.requested_by, "runbook.finish", f"runbook_run:{run.id}",
                     {"action": run.action, "state": state, "output": output[:500]},
                     outcome="ok" if state == "succeeded" else "failed")
        if run.incident_id is not None:
            from dashapp.services.alerts import incidents

            title = ACTIONS[run.action].title if run.action in ACTIONS else run.action
            incidents.record_runbook(f"runbook#{run.id}", run.incident_id,
                                     f"{title} {state} (run #{run.id}, requested by {run.requested_by}, approved by "
                                     f"{run.approved_by or '-'}): {output[:1500]}",
                                     {"run_id": run.id, "action": run.action, "state": state})
    return run


# --- reading -------------------------------------------------------------------------------------

def reconcile() -> None:
    """Bookkeeping on read: a request whose approval expired, was cancelled or was rejected elsewhere
    ends the same way; a job-mode run whose job ended without reporting (killed, timed out) ends too."""
    approvals.expire_stale()
    waiting = db.session.execute(sa.select(RunbookRun, ApprovalRequest.state)
                                 .join(ApprovalRequest, ApprovalRequest.id == RunbookRun.approval_id)
                                 .where(RunbookRun.state == "requested",
                                        ApprovalRequest.state.in_(("expired", "cancelled", "rejected", "failed")))
                                 .limit(200)).all()
    stuck = db.session.execute(sa.select(RunbookRun, Job).join(Job, Job.id == RunbookRun.job_id)
                               .where(RunbookRun.state == "running",
                                      Job.state.in_(("failed", "canceled", "timed_out"))).limit(200)).all()
    if not waiting and not stuck:
        return
    with unit_of_work():
        for run, approval_state in waiting:
            new = "rejected" if approval_state == "rejected" else "expired"
            _set_state(run, ("requested",), new, finished_at=utcnow(), output=f"approval {approval_state}")
    for run, job in stuck:
        finish(run.id, "failed", f"its job {job.id[:8]} ended {job.state}: {job.error or ''}")


def list_runs(limit: int = 100, incident_id: int | None = None) -> list[RunbookRun]:
    reconcile()
    stmt = sa.select(RunbookRun).order_by(RunbookRun.id.desc()).limit(max(1, min(int(limit), 500)))
    if incident_id is not None:
        stmt = stmt.where(RunbookRun.incident_id == incident_id)
    return list(db.session.execute(stmt).scalars())


def _iso(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def run_dict(run: RunbookRun, actor=None) -> dict:
    spec = ACTIONS.get(run.action)
    can_decide = (actor is not None and run.state == "requested" and run.requested_by != actor.username
                  and has_permission(actor.role_name, Perm.RUNBOOK_APPROVE))
    return {"id": run.id, "action": spec.title if spec else run.action, "action_name": run.action,
            "params": run.params, "state": run.state, "requested_by": run.requested_by,
            "approved_by": run.approved_by or "", "requested_at": _iso(run.requested_at),
            "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at), "reason": run.reason,
            "dry_run": run.dry_run, "output": run.output, "job_id": run.job_id or "",
            "incident_id": run.incident_id or "", "can_decide": can_decide}
