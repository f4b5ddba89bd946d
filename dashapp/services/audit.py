"""The audit trail: append inside the caller's transaction, verify the whole chain, query.

Each record's hash is SHA-256 over the previous record's hash and the canonical JSON of the record
(sorted keys, no spaces, UTC ISO timestamps); its signature is HMAC-SHA256 of that hash with a key
derived from SECRET_KEY. Editing, deleting or reordering a row breaks the chain at that row; forging
a consistent chain needs the server key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from dashapp.extensions import db
from dashapp.services.unit_of_work import unit_of_work
from models import AuditRecord, utcnow

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 0x41554454  # "AUDT": serialises appends on PostgreSQL


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def _audit_key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"cockpit-audit-v1", hashlib.sha256).digest()


def _body(created_at: datetime, actor: str, action: str, target: str, outcome: str, details: str) -> str:
    return canonical_json(
        {"created_at": created_at.isoformat(timespec="microseconds"), "actor": actor, "action": action,
         "target": target, "outcome": outcome, "details": json.loads(details)}
    )


def compute_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def sign(record_hash: str) -> str:
    return hmac.new(_audit_key(), record_hash.encode(), hashlib.sha256).hexdigest()


def record(actor: str, action: str, target: str = "", details: dict | None = None, outcome: str = "ok") -> AuditRecord:
    """Append one record in the current transaction (so the change and its audit land together)."""
    with unit_of_work() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
        last = session.execute(sa.select(AuditRecord.record_hash).order_by(AuditRecord.id.desc()).limit(1)).scalar()
        prev_hash = last or GENESIS_HASH
        created_at = utcnow()
        details_json = canonical_json(details or {})
        record_hash = compute_hash(prev_hash, _body(created_at, actor, action, target, outcome, details_json))
        row = AuditRecord(
            created_at=created_at, actor=actor, action=action, target=target, outcome=outcome,
            details=details_json, prev_hash=prev_hash, record_hash=record_hash, signature=sign(record_hash),
        )
        session.add(row)
        session.flush()
        return row


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.checked} records verified"
        return f"audit chain BROKEN at record {self.broken_id}: {self.reason} ({self.checked} records checked before it)"


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    """Walk the chain in id order and name the first record whose link, hash or signature is wrong."""
    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(AuditRecord).where(AuditRecord.id > last_id).order_by(AuditRecord.id).limit(batch_size)
        ).scalars().all()
        if not rows:
            return VerifyResult(ok=True, checked=checked)
        for row in rows:
            if row.prev_hash != prev_hash:
                return VerifyResult(False, checked, row.id, "its previous-hash link does not match the record before it "
                                    "(a record was deleted, inserted or reordered)")
            try:
                body = _body(row.created_at, row.actor, row.action, row.target, row.outcome, row.details)
            except (ValueError, TypeError):
                return VerifyResult(False, checked, row.id, "its details are not valid JSON")
            if compute_hash(prev_hash, body) != row.record_hash:
                return VerifyResult(False, checked, row.id, "its content does not match its hash (the row was edited)")
            if not hmac.compare_digest(sign(row.record_hash), row.signature):
                return VerifyResult(False, checked, row.id, "its signature is wrong (not written with this server's key)")
            prev_hash = row.record_hash
            checked += 1
            last_id = row.id
        db.session.expire_all()


def query(actor: str | None = None, action: str | None = None, text: str | None = None,
          since: datetime | None = None, until: datetime | None = None, limit: int = 500) -> list[AuditRecord]:
    stmt = sa.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(min(max(limit, 1), 5000))
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    if action:
        stmt = stmt.where(AuditRecord.action.startswith(action, autoescape=True))
    if text:
        stmt = stmt.where(sa.or_(AuditRecord.target.contains(text, autoescape=True),
                                 AuditRecord.details.contains(text, autoescape=True)))
    if since:
        stmt = stmt.where(AuditRecord.created_at >= since)
    if until:
        stmt = stmt.where(AuditRecord.created_at <= until)
    return list(db.session.execute(stmt).scalars())


def distinct_actions() -> list[str]:
    return list(db.session.execute(sa.select(AuditRecord.action).distinct().order_by(AuditRecord.action)).scalars())
