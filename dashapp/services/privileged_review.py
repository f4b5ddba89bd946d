"""The compliance review queue: privileged audit records awaiting sign-off.

A record is privileged when its action changes who may do what or what the desk may do (controls,
roles, tokens, limits, approvals, MFA, sessions, runbooks, model promotion, retention, privacy). The
audit chain is never edited: a sign-off is a row in `audit_reviews` beside the record, and the
sign-off itself is audited (as `compliance.review`, which is not privileged, so the queue ends)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.errors import ValidationError
from dashapp.services.fields import NO_CONTROL
from dashapp.services.unit_of_work import unit_of_work
from models import AuditRecord, AuditReview, utcnow

PRIVILEGED_PREFIXES = (
    "kill_switch.", "trading_mode.", "engine.", "user.", "token.", "risk.limit_save", "approval.approve",
    "approval.reject", "mfa.disable", "mfa.policy", "session.revoke", "runbook.approve", "model.promote",
    "model.rollback", "retention.policy", "legal_hold.", "privacy.",
)
MAX_BATCH = 200
_NO_CONTROL = re.compile(NO_CONTROL)


def _privileged():
    return sa.or_(*(AuditRecord.action.startswith(p, autoescape=True) for p in PRIVILEGED_PREFIXES))


def queue(include_reviewed: bool = False, limit: int = 500) -> list[tuple[AuditRecord, AuditReview | None]]:
    """Privileged records, newest first, with their review (None: not signed off yet)."""
    stmt = (sa.select(AuditRecord, AuditReview).outerjoin(AuditReview, AuditReview.audit_record_id == AuditRecord.id)
            .where(_privileged()))
    if not include_reviewed:
        stmt = stmt.where(AuditReview.audit_record_id.is_(None))
    limit = max(1, min(int(limit), 2000))
    return [(r, v) for r, v in db.session.execute(stmt.order_by(AuditRecord.id.desc()).limit(limit)).all()]


def unreviewed_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                              .outerjoin(AuditReview, AuditReview.audit_record_id == AuditRecord.id)
                              .where(_privileged(), AuditReview.audit_record_id.is_(None))).scalar_one()


def mark_reviewed(actor: str, record_ids: list[int], note: str = "") -> int:
    """Sign off privileged records (not your own actions: a reviewer does not review themself)."""
    if not record_ids or not isinstance(record_ids, list) or len(record_ids) > MAX_BATCH:
        raise ValidationError(f"choose 1 to {MAX_BATCH} records to sign off", field="record_ids")
    if any(not isinstance(i, int) or isinstance(i, bool) or not 0 < i < 2**31 for i in record_ids):
        raise ValidationError("record ids must be positive integers", field="record_ids")
    note = (note if isinstance(note, str) else "").strip()
    if len(note) > 300 or not _NO_CONTROL.match(note):
        raise ValidationError("note: at most 300 characters, no control characters", field="note")
    rows = db.session.execute(sa.select(AuditRecord).where(AuditRecord.id.in_(record_ids), _privileged())).scalars().all()
    if len(rows) != len(set(record_ids)):
        raise ValidationError("some records do not exist or are not privileged actions", field="record_ids")
    own = [r.id for r in rows if r.actor == actor]
    if own:
        raise ValidationError(f"records {own[:5]} are your own actions: another reviewer signs them off",
                              field="record_ids")
    done = {i for (i,) in db.session.execute(sa.select(AuditReview.audit_record_id)
                                              .where(AuditReview.audit_record_id.in_(record_ids))).all()}
    fresh = [r for r in rows if r.id not in done]
    with unit_of_work() as s:
        now = utcnow()
        s.add_all(AuditReview(audit_record_id=r.id, reviewed_by=actor, reviewed_at=now, note=note) for r in fresh)
        if fresh:
            audit.record(actor, "compliance.review", "audit", {"records": [r.id for r in fresh], "note": note})
    return len(fresh)


def row(record: AuditRecord, review: AuditReview | None) -> dict:
    return {"id": record.id, "created_at": record.created_at.strftime("%Y-%m-%d %H:%M:%S"), "actor": record.actor,
            "action": record.action, "target": record.target, "outcome": record.outcome,
            "details": record.details[:300], "reviewed_by": review.reviewed_by if review else "",
            "reviewed_at": review.reviewed_at.strftime("%Y-%m-%d %H:%M:%S") if review else "",
            "note": review.note if review else ""}
