"""Retention: how long each kind of record is kept, what a run would remove, and the run itself.

A run of one kind takes the records older than its cutoff that no legal hold covers, in bounded
batches (one transaction each): it archives a batch to Parquet (fsynced, see .archive), then deletes
exactly the archived ids, repeating the "not held" condition in the DELETE so a hold created mid-run
still wins. Audit records are deleted only as a prefix of the chain (the oldest first, stopping at the
first held or recent one) and each batch moves the signed retention cut
(dashapp.services.audit.advance_cut) in the same transaction, so `dashapp audit verify` starts there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from dashapp.extensions import db
from dashapp.services import audit, jobs, mfa
from dashapp.services.errors import NotFound, ValidationError
from dashapp.services.governance import archive
from dashapp.services.governance.record_kinds import (DEFAULT_DAYS, LABELS, MAX_DAYS, MIN_DAYS, RUN_ORDER, SPECS,
                                                       held, older_than)
from dashapp.services.unit_of_work import unit_of_work
from models import AuditRecord, utcnow
from models.retention import RetentionPolicy, RetentionRun

BATCH_SIZE = 5000
MAX_BATCH_SIZE = 50_000


@dataclass(frozen=True)
class Policy:
    kind: str
    label: str
    days: int
    enabled: bool
    updated_by: str
    updated_at: datetime | None

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


def policies() -> list[Policy]:
    """Every kind's policy: the stored one, or the default (7 years, 30 days, ...) until edited."""
    stored = {row.kind: row for row in db.session.execute(sa.select(RetentionPolicy)).scalars()}
    result = []
    for kind in RUN_ORDER:
        row = stored.get(kind)
        result.append(Policy(kind, LABELS[kind], row.days if row else DEFAULT_DAYS[kind],
                             row.enabled if row else True, row.updated_by if row else "default",
                             row.updated_at if row else None))
    return result


def policy(kind: str) -> Policy:
    _check_kind(kind)
    return next(p for p in policies() if p.kind == kind)


def _check_kind(kind: str) -> None:
    if not isinstance(kind, str) or kind not in SPECS:
        raise ValidationError(f"kind must be one of {', '.join(RUN_ORDER)}, not {kind!r}", field="kind")


def set_policy(actor: str, kind: str, days, enabled: bool = True) -> Policy:
    """Change one kind's retention (RETENTION_MANAGE at the edge); bounded and audited."""
    _check_kind(kind)
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValidationError("days must be a whole number of days", field="days")
    low = MIN_DAYS.get(kind, 1)
    if not low <= days <= MAX_DAYS:
        raise ValidationError(f"days for {LABELS[kind].lower()} must be between {low} and {MAX_DAYS}", field="days")
    before = policy(kind)
    mfa.require_fresh(actor, "changing a retention policy")  # no-op outside a browser session (D80)
    with unit_of_work() as session:
        row = session.get(RetentionPolicy, kind) or RetentionPolicy(kind=kind)
        row.days, row.enabled, row.updated_by, row.updated_at = days, bool(enabled), actor, utcnow()
        session.add(row)
        audit.record(actor, "retention.policy", f"retention:{kind}",
                     {"days": days, "enabled": bool(enabled), "before": {"days": before.days,
                                                                         "enabled": before.enabled}})
    return policy(kind)


# --- preview -----------------------------------------------------------------------------------


def _audit_prefix_end(cutoff: datetime) -> int | None:
    """The id of the last audit record a run may delete: the chain's oldest records up to (not
    including) the first that is recent or held, and never the record the signed head names."""
    spec = SPECS["audit"]
    stop = db.session.execute(sa.select(sa.func.min(AuditRecord.id)).where(
        sa.or_(AuditRecord.created_at >= cutoff, held("audit")))).scalar()
    head = audit.head_id()
    if head is not None:
        stop = head if stop is None else min(stop, head)
    stmt = sa.select(sa.func.max(spec.id_col)).where(AuditRecord.id > audit.cut_id())
    if stop is not None:
        stmt = stmt.where(AuditRecord.id < stop)
    return db.session.execute(stmt).scalar()


def _deletable(kind: str, cutoff: datetime) -> list:
    if kind == "audit":
        end = _audit_prefix_end(cutoff)
        return [sa.false()] if end is None else [AuditRecord.id > audit.cut_id(), AuditRecord.id <= end]
    return [*older_than(kind, cutoff), ~held(kind)]


def preview(kind: str, now: datetime | None = None, cutoff: datetime | None = None) -> dict:
    """What a run of `kind`'s policy would delete now, and what holds keep: counts, oldest, newest."""
    _check_kind(kind)
    spec = SPECS[kind]
    cutoff = cutoff or policy(kind).cutoff(now or utcnow())
    count, oldest, newest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(spec.time_col), sa.func.max(spec.time_col))
        .where(*_deletable(kind, cutoff))).one()
    kept = db.session.execute(sa.select(sa.func.count()).select_from(spec.table)
                              .where(*older_than(kind, cutoff), held(kind))).scalar()
    return {"kind": kind, "label": LABELS[kind], "cutoff": cutoff, "delete": int(count), "held": int(kept),
            "oldest": _aware(oldest), "newest": _aware(newest)}


def _aware(value):
    if isinstance(value, str):  # an aggregate over SQLite text can come back unparsed
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


# --- the run ------------------------------------------------------------------------------------


def run(kind: str, actor: str, *, now: datetime | None = None, batch_size: int = BATCH_SIZE,
        job_id: str | None = None, progress=lambda message: None) -> RetentionRun:
    """Enforce one kind's policy now (the scheduled job calls this per enabled kind)."""
    _check_kind(kind)
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValidationError(f"batch size must be between 1 and {MAX_BATCH_SIZE}", field="batch_size")
    now = now or utcnow()
    cutoff = policy(kind).cutoff(now)
    before = preview(kind, cutoff=cutoff)
    with unit_of_work() as session:
        row = RetentionRun(kind=kind, job_id=job_id, actor=actor, cutoff=cutoff, state="running", started_at=utcnow(),
                           batches=0, archived=0, deleted=0, held=before["held"], files=[])
        session.add(row)
    run_id = row.id
    try:
        while _one_batch(run_id, kind, cutoff, now, batch_size):
            progress(f"{kind}: {db.session.get(RetentionRun, run_id).deleted:,} deleted")
    except Exception as exc:
        db.session.rollback()
        _finish(run_id, "failed", f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return _finish(run_id, "succeeded", None)


def _finish(run_id: int, state: str, error: str | None) -> RetentionRun:
    with unit_of_work() as session:
        row = session.get(RetentionRun, run_id, populate_existing=True)
        row.state, row.error, row.finished_at = state, error, utcnow()
        audit.record(row.actor, "retention.run", f"retention:{row.kind}",
                     {"run": row.id, "cutoff": row.cutoff.isoformat(), "archived": row.archived,
                      "deleted": row.deleted, "held": row.held, "batches": row.batches, "files": row.files[-20:]},
                     "ok" if state == "succeeded" else "failed")
    return row


def _one_batch(run_id: int, kind: str, cutoff: datetime, now: datetime, batch_size: int) -> bool:
    """Archive then delete one batch in one transaction; False when nothing is left to do."""
    spec = SPECS[kind]
    with unit_of_work() as session:
        if kind == "audit":
            audit.lock_chain(session)  # no append between choosing the prefix and moving the cut
        rows = [dict(r) for r in session.execute(sa.select(spec.table).where(*_deletable(kind, cutoff))
                                                 .order_by(spec.id_col).limit(batch_size)).mappings()]
        if not rows:
            return False
        ids = [row["id"] for row in rows]
        part = archive.write_part(kind, now.date(), spec.table, rows)
        if kind == "audit":
            deleted = _delete_audit_prefix(session, rows)
        else:
            _remove_files(kind, rows)
            deleted = session.execute(sa.delete(spec.table).where(spec.id_col.in_(ids), ~held(kind))
                                      .execution_options(synchronize_session=False)).rowcount
        row = session.get(RetentionRun, run_id)
        row.batches, row.archived, row.deleted = row.batches + 1, row.archived + len(rows), row.deleted + deleted
        row.files = [*row.files, part]
    return len(ids) == batch_size


def _delete_audit_prefix(session, rows: list[dict]) -> int:
    last = rows[-1]
    deleted = session.execute(sa.delete(AuditRecord).where(AuditRecord.id > audit.cut_id(),
                                                           AuditRecord.id <= last["id"])
                              .execution_options(synchronize_session=False)).rowcount
    audit.advance_cut(session, last["id"], last["record_hash"], deleted)
    return deleted


def _remove_files(kind: str, rows: list[dict]) -> None:
    """Exports and report files: the files go with their rows (the rows are archived first). A file
    already gone is fine (a crash after removing files, before the delete committed)."""
    settings = current_app.config["COCKPIT_SETTINGS"]
    if kind == "exports":
        folder = Path(settings.instance_dir) / "exports"
        for row in rows:
            name = str((row.get("result") or {}).get("file", "")) if isinstance(row.get("result"), dict) else ""
            if name and (folder / name).parent == folder:
                (folder / name).unlink(missing_ok=True)
    elif kind == "report_files":
        from dashapp.reports.archive import archive_root as reports_root

        root = reports_root().resolve()
        for row in rows:
            items = row.get("files") or ([{"name": row["file_name"]}] if row.get("file_name") else [])
            for item in items:
                path = (root / str(item.get("name", ""))).resolve()
                if path.is_relative_to(root) and path != root:
                    path.unlink(missing_ok=True)


def run_all(actor: str, *, now: datetime | None = None, batch_size: int = BATCH_SIZE, job_id: str | None = None,
            kinds: list[str] | None = None, progress=lambda message: None) -> list[RetentionRun]:
    """Every enabled policy (or the kinds named), fills before orders, audit last."""
    enabled = {p.kind for p in policies() if p.enabled}
    chosen = [k for k in RUN_ORDER if (k in kinds if kinds else k in enabled)]
    return [run(kind, actor, now=now, batch_size=batch_size, job_id=job_id, progress=progress) for kind in chosen]


def launch_run(actor: str, role: str | None, idempotency_key: str | None, *, port, kinds: list[str] | None = None):
    """Start a retention job now (RETENTION_MANAGE, checked by the job platform), after a fresh second factor."""
    mfa.require_fresh(actor, "running retention")
    return jobs.launch(actor, role, "retention", {"kinds": kinds or []}, idempotency_key, port=port)


def last_runs(limit: int = 50) -> list[RetentionRun]:
    return list(db.session.execute(sa.select(RetentionRun).order_by(RetentionRun.id.desc())
                                   .limit(min(max(limit, 1), 500))).scalars())


def get_run(run_id: int) -> RetentionRun:
    row = db.session.get(RetentionRun, run_id)
    if row is None:
        raise NotFound(f"no retention run {run_id}", field="run_id")
    return row

