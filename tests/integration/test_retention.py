"""Retention on SQLite and PostgreSQL: archive to Parquet, then delete, in bounded batches; legal holds
win; the audit chain still verifies after its oldest records are removed."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.errors import ValidationError
from dashapp.services.governance import archive, holds, retention
from models import AuditRecord, Fill, Order, Quote, utcnow
from models.retention import RetentionRun
from tests.integration.test_cli import Cli
from tests.support.governance_data import NOW, add_event, add_fill, add_order, add_quote, days_ago, reference


def ids(model) -> set[int]:
    db.session.expire_all()
    return set(db.session.execute(sa.select(model.id)).scalars())


def test_quotes_go_in_bounded_batches_archived_first_and_a_held_quote_stays(server):
    ref = reference()
    old = [add_quote(ref, days_ago(40 + i)).id for i in range(7)]
    recent = [add_quote(ref, days_ago(i)).id for i in range(3)]
    db.session.commit()
    holds.create_hold("risk1", "Case A", "regulator request", [{"kind": "quotes", "record_id": old[2]}])
    preview = retention.preview("quotes", now=NOW)
    assert (preview["delete"], preview["held"]) == (6, 1)
    assert preview["oldest"] == days_ago(46) and preview["newest"] == days_ago(40)

    run = retention.run("quotes", "risk1", now=NOW, batch_size=3)
    assert (run.state, run.batches, run.archived, run.deleted, run.held) == ("succeeded", 2, 6, 6, 1)
    assert ids(Quote) == set(recent) | {old[2]}
    archived = [row for part in run.files for row in archive.read_part(part)]
    assert len(run.files) == 2 and all(p.startswith("quotes/2026-06-30/part-") for p in run.files)
    assert sorted(row["id"] for row in archived) == sorted(set(old) - {old[2]})
    assert archived[0]["bid"] == 99.0 and archived[0]["ts"].tzinfo is not None
    assert retention.preview("quotes", now=NOW)["delete"] == 0
    actions = [r.action for r in audit.query(action="retention.")]
    assert "retention.run" in actions


def test_orders_and_fills_keep_seven_years_and_an_account_hold_covers_its_fills(server):
    ref = reference()
    old1 = add_order(ref, days_ago(2600))
    f1 = add_fill(ref, old1, days_ago(2600), 100, 101.0)
    old2 = add_order(ref, days_ago(2600), account="acc2")
    f2 = add_fill(ref, old2, days_ago(2600), 100, 101.0)
    young = add_order(ref, days_ago(2000))
    f3 = add_fill(ref, young, days_ago(2000), 100, 101.0)
    db.session.commit()
    hold = holds.create_hold("risk1", "Case B", "litigation", [{"kind": "orders", "account_id": ref["acc2"]}])
    assert holds.held_counts()["orders"] == 1 and holds.held_counts()["fills"] == 1  # the order's fill too

    runs = retention.run_all("scheduler", now=NOW, kinds=["orders", "fills"])
    assert [r.kind for r in runs] == ["fills", "orders"]  # fills first: orders cannot go before their fills
    assert ids(Fill) == {f2.id, f3.id} and ids(Order) == {old2.id, young.id}

    holds.release_hold("risk1", hold.id)
    with pytest.raises(Exception, match="already released"):
        holds.release_hold("risk1", hold.id)
    retention.run_all("scheduler", now=NOW, kinds=["orders", "fills"])
    assert ids(Fill) == {f3.id} and ids(Order) == {young.id}


def test_audit_retention_cuts_the_oldest_records_and_verify_stays_green(server):
    for i in range(8):
        audit.record("alice", "test.action", f"thing:{i}", {"i": i})
    db.session.commit()
    chain = sorted(ids(AuditRecord))
    retention.set_policy("admin1", "audit", 365)
    hold = holds.create_hold("risk1", "Case C", "keep one record", [{"kind": "audit", "record_id": chain[5]}])
    later = utcnow() + timedelta(days=400)

    run = retention.run("audit", "scheduler", now=later, batch_size=2)
    db.session.expire_all()
    left = sorted(ids(AuditRecord))
    assert left[0] == chain[5] and run.deleted == 5 and run.batches == 3  # a prefix, stopped by the hold
    assert sorted(r["id"] for p in run.files for r in archive.read_part(p)) == chain[:5]
    result = audit.verify_chain()
    assert result.ok, str(result)
    settings = server.config["COCKPIT_SETTINGS"]
    cli = Cli(settings.database_url, settings.instance_dir)
    assert "audit chain OK" in cli("audit", "verify")  # what operators run
    assert "Case C (active" in cli("retention", "holds") and "audit" in cli("retention", "preview")
    audit.record("alice", "after.cut", "", {})
    db.session.commit()
    assert audit.verify_chain().ok

    holds.release_hold("risk1", hold.id)
    retention.run("audit", "scheduler", now=later)
    assert audit.verify_chain().ok
    # Someone deleting past the cut is still caught.
    first = min(ids(AuditRecord))
    db.session.execute(sa.delete(AuditRecord).where(AuditRecord.id == first))
    db.session.commit()
    broken = audit.verify_chain()
    assert not broken.ok and "previous-hash link" in broken.reason


def test_engine_events_policy_edit_is_bounded_and_audited(server):
    for i in range(3):
        add_event(days_ago(400 + i))
    kept = add_event(days_ago(10)).id
    db.session.commit()
    with pytest.raises(ValidationError) as err:
        retention.set_policy("admin1", "audit", 30)
    assert err.value.field == "days"
    with pytest.raises(ValidationError):
        retention.set_policy("admin1", "nope", 30)
    policy = retention.set_policy("admin1", "engine_events", 500)
    assert policy.days == 500 and retention.preview("engine_events", now=NOW)["delete"] == 0
    retention.set_policy("admin1", "engine_events", 365)
    run = retention.run("engine_events", "admin1", now=NOW)
    assert run.deleted == 3 and retention.last_runs()[0].id == run.id
    assert db.session.get(RetentionRun, run.id).files
    from models import EngineEvent
    assert ids(EngineEvent) == {kept}
    assert [r.details for r in audit.query(action="retention.policy")][0]


def test_export_and_report_files_go_with_their_rows_and_a_time_range_hold_keeps_them(server):
    from pathlib import Path

    from models import Job, ReportRun

    instance = Path(server.config["COCKPIT_SETTINGS"].instance_dir)
    (instance / "exports").mkdir(parents=True, exist_ok=True)
    (instance / "reports" / "2025").mkdir(parents=True, exist_ok=True)
    jobs = []
    for i, age in enumerate((400, 420, 10)):
        job = Job(id=f"00000000-0000-4000-8000-00000000000{i}", job_type="export", state="succeeded",
                  params={}, created_by="trader1", created_at=days_ago(age), queue="jobs",
                  result={"file": f"job{i}.csv"})
        (instance / "exports" / f"job{i}.csv").write_text("a,b\n")
        jobs.append(job)
    run = ReportRun(report_type="risk_daily", created_at=days_ago(500), file_name="2025/old.pdf",
                    files=[{"format": "pdf", "name": "2025/old.pdf", "sha256": "x", "size": 1}])
    (instance / "reports" / "2025" / "old.pdf").write_bytes(b"%PDF")
    db.session.add_all([*jobs, run])
    db.session.commit()
    holds.create_hold("risk1", "Case D", "exports of that week",
                      [{"kind": "exports", "time_from": days_ago(425), "time_to": days_ago(415)}])
    with pytest.raises(ValidationError) as err:  # export jobs have uuids: held by time range only
        holds.create_hold("risk1", "Case E", "x", [{"kind": "exports", "record_id": 1}])
    assert err.value.field == "record_id"

    runs = retention.run_all("scheduler", now=NOW + timedelta(days=200), kinds=["exports", "report_files"])
    assert [(r.kind, r.deleted, r.held) for r in runs] == [("exports", 1, 1), ("report_files", 1, 0)]
    db.session.expire_all()
    left = set(db.session.execute(sa.select(Job.id).where(Job.job_type == "export")).scalars())
    assert left == {jobs[1].id, jobs[2].id}
    assert not (instance / "exports" / "job0.csv").exists() and (instance / "exports" / "job1.csv").exists()
    assert not (instance / "reports" / "2025" / "old.pdf").exists()
    assert archive.read_part(runs[1].files[0])[0]["file_name"] == "2025/old.pdf"


def test_a_run_that_dies_after_archiving_a_batch_loses_nothing(server, monkeypatch):
    ref = reference()
    old = {add_quote(ref, days_ago(40 + i)).id for i in range(5)}
    db.session.commit()
    real_write, calls = archive.write_part, {"n": 0}

    def write_then_die(*args, **kwargs):
        path = real_write(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch is on disk, its DELETE never commits
            raise OSError("power cut")
        return path

    monkeypatch.setattr(archive, "write_part", write_then_die)
    with pytest.raises(OSError):
        retention.run("quotes", "scheduler", now=NOW, batch_size=2)
    failed = retention.last_runs()[0]
    assert failed.state == "failed" and failed.deleted == 2 and "power cut" in failed.error
    assert len(ids(Quote)) == 3  # the second batch is still in the store (and also in its part)
    monkeypatch.setattr(archive, "write_part", real_write)
    done = retention.run("quotes", "scheduler", now=NOW, batch_size=2)
    assert ids(Quote) == set() and done.deleted == 3
    folder = archive.archive_root() / "quotes" / "2026-06-30"
    archived = [row["id"] for part in sorted(folder.glob("part-*.parquet"))
                for row in archive.read_part(str(part.relative_to(archive.archive_root())))]
    assert set(archived) == old and len(archived) == 7  # every quote archived; the interrupted batch twice
