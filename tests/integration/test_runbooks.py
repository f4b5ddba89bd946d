"""Runbooks end to end (dashapp/services/ops/runbooks.py) on SQLite and PostgreSQL: a run that needs
approval runs only after a second person approves it (the requester's own approval and wrong roles
are refused), on a REAL worker when it is a job; it is audited, its output is stored and shows on the
incident's timeline; a dry run changes nothing."""
from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import approvals, controls, tokens, users
from dashapp.services.alerts import incidents, timeline
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.ops import logs, runbooks
from dashapp.services.unit_of_work import unit_of_work
from models import ApprovalRequest, AuditRecord, EngineControl, Job, RunbookRun
from tests.support.web import PASSWORD
from tests.support.worker import broker_settings, celery_worker

pytestmark = pytest.mark.timeout(240)


def _actors():
    made = {}
    for name, role in (("trader1", "trader"), ("risk1", "risk"), ("risk2", "risk"), ("viewer1", "viewer"),
                       ("admin1", "admin")):
        users.create_user("test", name, PASSWORD, role)
        made[name] = approvals.Actor(name, role)
    return made


def _counts():
    db.session.expire_all()
    return tuple(db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()
                 for model in (RunbookRun, ApprovalRequest, AuditRecord, EngineControl))


def _wait_run(run_id: int, states, timeout=90.0, worker=None) -> RunbookRun:
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        db.session.expire_all()
        run = runbooks.get_run(run_id)
        if run.state in states:
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run #{run_id} still {run.state}; output={run.output!r}\n"
                        f"{worker.log_tail() if worker else ''}")
        time.sleep(0.1)


@pytest.fixture
def worker_settings(tmp_path, database_url):
    with broker_settings(tmp_path, database_url, "filesystem", {"job_heartbeat_seconds": "1"}) as settings:
        yield settings


@pytest.fixture
def worker_server(worker_settings):
    from dashapp import create_server
    from tests.conftest import upgrade_database

    app = create_server(worker_settings)
    upgrade_database(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.worker
def test_an_approved_job_runbook_runs_on_a_worker_audited_and_on_the_incident_timeline(worker_settings, worker_server):
    from workers.celery_app import CeleryJobPort, create_celery
    from workers.queue_control import CeleryQueueControl

    celery_app = create_celery(worker_settings)
    ports = {"queues": CeleryQueueControl(celery_app), "job_port": CeleryJobPort(celery_app)}
    who = _actors()
    incident = incidents.create("risk1", "risk", "Slow queries on jobs")
    params = {"table": "jobs", "operation": "vacuum_analyze"}

    before = _counts()
    dry = runbooks.dry_run("vacuum_analyze", params, who["trader1"], **ports)
    assert "VACUUM" in dry and "jobs" in dry and "second person" in dry
    assert _counts() == before  # a dry run touches nothing, not even the audit trail

    with pytest.raises(PermissionDenied):
        runbooks.dry_run("vacuum_analyze", params, who["viewer1"], **ports)
    with pytest.raises(ValidationError) as bad:
        runbooks.request_run("vacuum_analyze", {"table": "users"}, who["risk1"], "tidy up the users", **ports)
    assert bad.value.field == "table"  # only allowlisted tables

    run = runbooks.request_run("vacuum_analyze", params, who["risk1"], "jobs table is bloated", incident.id,
                               **ports).run
    assert (run.state, run.dry_run) == ("requested", dry)
    with pytest.raises(Conflict):
        runbooks.start(run.id, who["risk1"], **ports)  # not approved: it cannot be started any other way
    with pytest.raises(PermissionDenied, match="cannot also approve"):
        runbooks.approve_run(run.id, who["risk1"], **ports)  # the requester's own approval
    for refused in ("trader1", "viewer1"):
        with pytest.raises(PermissionDenied):
            runbooks.approve_run(run.id, who[refused], **ports)
    assert runbooks.get_run(run.id).state == "requested"

    with celery_worker(worker_settings, celery_app) as worker:
        approved = runbooks.approve_run(run.id, who["risk2"], **ports).run
        assert approved.job_id
        done = _wait_run(run.id, {"succeeded", "failed"}, worker=worker)

        # Queue actions against the live worker: drain (approved), resume (no approval), purge (approved).
        assert worker.node in ports["queues"].consumers("reports")
        drain = runbooks.request_run("drain_queue", {"queue": "reports"}, who["trader1"], "reports flood", **ports)
        drained = runbooks.approve_run(drain.run.id, who["risk1"], **ports).run
        assert drained.state == "succeeded" and "on 1 worker(s)" in drained.output, drained.output
        assert ports["queues"].consumers("reports") == []
        resumed = runbooks.request_run("resume_queue", {"queue": "reports"}, who["trader1"], "flood is over",
                                       **ports).run
        assert resumed.state == "succeeded" and worker.node in ports["queues"].consumers("reports")
        purge = runbooks.request_run("purge_queue", {"queue": "reports"}, who["trader1"], "drop stale reports",
                                     **ports)
        assert "messages waiting in queue 'reports'" in purge.run.dry_run
        purged = runbooks.approve_run(purge.run.id, who["risk1"], **ports).run
        assert purged.state == "succeeded" and "message(s) deleted" in purged.output, purged.output
    assert done.state == "succeeded", done.output
    assert done.approved_by == "risk2" and "VACUUM" in done.output and done.finished_at is not None

    actions = {r.action for r in db.session.execute(sa.select(AuditRecord)).scalars()
               if r.target in (f"runbook_run:{run.id}", f"approval:{run.approval_id}")}
    assert actions >= {"runbook.request", "approval.request", "runbook.approve", "approval.approve",
                       "runbook.start", "runbook.finish"}
    denied = db.session.execute(sa.select(AuditRecord).where(AuditRecord.target == f"approval:{run.approval_id}",
                                                             AuditRecord.outcome == "denied")).scalars().all()
    assert len(denied) >= 1  # the requester's own attempt is on record

    entries = [e for e in timeline.build(incident.id) if e.source == "runbook"]
    assert len(entries) == 1 and "succeeded" in entries[0].text and "VACUUM" in entries[0].text

    # Correlation: the worker's log lines for that job carry its id (the worker's own JSON-lines file).
    deadline, lines = time.monotonic() + 20, []
    while not lines and time.monotonic() < deadline:
        lines = logs.search(worker_settings.instance_dir, logs.parse_query({"job_id": approved.job_id})).rows
        time.sleep(0.2)
    assert {line["process"] for line in lines} == {"worker"}, lines
    assert any("started" in line["message"] for line in lines) and lines[0]["user"] == "risk2"


def test_inline_runbooks_restart_rotate_reject_and_run_without_approval(server):
    who = _actors()
    ports = {"queues": None, "job_port": None}
    generation = controls.engine_view("paper-1").generation

    restart = runbooks.request_run("restart_engine", {"engine_id": "paper-1"}, who["trader1"], "engine is wedged",
                                   **ports).run
    assert restart.state == "requested" and controls.engine_view("paper-1").generation == generation
    done = runbooks.approve_run(restart.id, who["risk1"], **ports).run
    assert done.state == "succeeded", done.output
    assert controls.engine_view("paper-1").generation == generation + 1  # the desired-state control path

    owner = users.create_user("test", "engine-owner", PASSWORD, "trader")
    old, old_secret = tokens.create_token("test", owner.id, "paper", ["paper-1"])
    rotate = runbooks.request_run("rotate_token", {"token_id": old.id}, who["trader1"], "token leaked in a log",
                                  **ports).run
    outcome = runbooks.approve_run(rotate.id, who["admin1"], **ports)
    assert outcome.run.state == "succeeded" and outcome.secret and outcome.secret.startswith("tdc_")
    assert outcome.secret not in outcome.run.output and outcome.secret not in outcome.run.dry_run
    assert tokens.live_token(old_secret) is None and tokens.live_token(outcome.secret).user_id == owner.id
    audit_text = " ".join(str(r.details) for r in db.session.execute(sa.select(AuditRecord)).scalars())
    assert outcome.secret not in audit_text

    rejected = runbooks.request_run("drain_queue", {"queue": "reports"}, who["trader1"], "reports are stuck",
                                    **ports).run
    with pytest.raises(PermissionDenied):
        runbooks.reject_run(rejected.id, who["trader1"], "changed my mind")
    runbooks.reject_run(rejected.id, who["risk1"], "not during market hours")
    assert runbooks.get_run(rejected.id).state == "rejected"
    with pytest.raises(Conflict):
        runbooks.approve_run(rejected.id, who["risk2"], **ports)

    # No approval needed: it runs at once for its requester; a refusal is captured as a failed run.
    with pytest.raises(NotFound):  # the dry run comes first, and an unknown job stops the request
        runbooks.request_run("retry_job", {"job_id": str(uuid.uuid4())}, who["trader1"], "retry the export", **ports)
    stuck = Job(id=str(uuid.uuid4()), job_type="health_check", params={}, state="running", created_by="trader1")
    with unit_of_work() as session:
        session.add(stuck)
    retried = runbooks.request_run("retry_job", {"job_id": stuck.id}, who["trader1"], "retry the check", **ports).run
    assert "Would refuse" in retried.dry_run
    assert retried.state == "failed" and "fail it first" in retried.output
    assert [r.state for r in runbooks.list_runs()] == ["failed", "rejected", "succeeded", "succeeded"]
    rows = [runbooks.run_dict(r, who["risk1"]) for r in runbooks.list_runs()]
    assert rows[1]["action"] == "Drain a queue" and not rows[1]["can_decide"]


def test_a_run_approved_on_the_approvals_page_waits_for_start_and_expired_requests_end(server):
    from datetime import timedelta

    from models import utcnow

    who = _actors()
    stuck = Job(id=str(uuid.uuid4()), job_type="health_check", params={}, state="running", created_by="trader1")
    with unit_of_work() as session:
        session.add(stuck)
    run = runbooks.request_run("fail_job", {"job_id": stuck.id}, who["trader1"], "worker died mid-run").run
    approvals.approve(run.approval_id, who["risk1"])  # the generic Approvals page does only this
    db.session.expire_all()
    run = runbooks.get_run(run.id)
    assert (run.state, run.approved_by) == ("approved", "risk1") and db.session.get(Job, stuck.id).state == "running"
    with pytest.raises(PermissionDenied):
        runbooks.start(run.id, who["viewer1"])
    done = runbooks.start(run.id, who["trader1"]).run
    assert done.state == "succeeded" and db.session.get(Job, stuck.id).state == "failed"
    with pytest.raises(Conflict):
        runbooks.start(run.id, who["trader1"])  # once

    late = runbooks.request_run("purge_queue", {"queue": "reports"}, who["trader1"], "flood of reports").run
    with unit_of_work():
        db.session.get(ApprovalRequest, late.approval_id).expires_at = utcnow() - timedelta(seconds=1)
    runbooks.list_runs()  # reading the runs notices the expiry
    assert runbooks.get_run(late.id).state == "expired"
