"""The audit trail: append inside the caller's transaction, verify the whole chain, query.

Each record's hash is SHA-256 over the previous record's hash and the canonical JSON of the record
(sorted keys, no spaces, UTC ISO timestamps); its signature is HMAC-SHA256 of that hash with a key
derived from SECRET_KEY. Editing, deleting or reordering a row breaks the chain at that row; forging
a consistent chain needs the server key.

Deleting the NEWEST records breaks no link, so the chain's head is kept apart from it, signed
(HMAC of last id, last hash and count), in two places:
- the `audit_checkpoints` row "head", written in the same transaction as each record: it catches a
  tail deleted by anyone who cannot also rewrite that row (a careless script, a partial restore, a
  DELETE through a role without the key); it is never ahead or behind the table it commits with;
- a file under the instance folder (`audit/head-<database>.json`), written after each commit and
  only ever forward: it catches someone who deletes the tail AND the head row, or puts back an old
  signed head row (a replay), since they rarely also hold the web host's disk.
Someone with the key, the database and the instance folder can forge anything: keep a copy of the
file (or of `dashapp audit verify`'s output) elsewhere if that matters. The head row also
serialises appends: record() writes to it first, so concurrent writers queue on SQLite's write lock
or PostgreSQL's advisory lock instead of forking the chain.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from dashapp.extensions import db
from dashapp.services.unit_of_work import unit_of_work
from models import AuditRecord, utcnow
from models.audit import AuditCheckpoint

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 0x41554454  # "AUDT": serialises appends on PostgreSQL
HEAD = "head"
_PENDING = "audit_head_pending"  # Session.info key: the head to write to the file after commit


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


def _lock_the_chain(session) -> None:
    """Become the only appender until commit, BEFORE reading the last hash. On SQLite a write takes
    the database's write lock (waiting out other writers), so the read after it sees their records."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    else:
        session.execute(sa.update(AuditCheckpoint).where(AuditCheckpoint.name == HEAD)
                        .values(name=AuditCheckpoint.name).execution_options(synchronize_session=False))


def head_signature(last_id: int, last_hash: str, count: int) -> str:
    return sign(f"head|{last_id}|{last_hash}|{count}")


# --- the retention cut: where the chain starts after retention deleted its oldest records (D86) ---
CUT = "cut"


def cut_signature(last_id: int, last_hash: str, count: int) -> str:
    return sign(f"cut|{last_id}|{last_hash}|{count}")


def lock_chain(session) -> None:
    _lock_the_chain(session)


def cut_id() -> int:
    row = db.session.get(AuditCheckpoint, CUT)
    return row.last_id if row is not None else 0


def head_id() -> int | None:
    row = db.session.get(AuditCheckpoint, HEAD)
    return row.last_id if row is not None else None


def advance_cut(session, last_id: int, last_hash: str, deleted: int) -> None:
    """Record, in the transaction that deletes them, that the chain's records up to `last_id` (whose
    hash was `last_hash`) were removed by retention: verify then starts from that hash."""
    row = session.get(AuditCheckpoint, CUT) or AuditCheckpoint(name=CUT, count=0)
    row.last_id, row.last_hash, row.count, row.updated_at = last_id, last_hash, (row.count or 0) + deleted, utcnow()
    row.signature = cut_signature(last_id, last_hash, row.count)
    session.add(row)
    session.flush()


def _cut() -> dict | None:
    row = db.session.get(AuditCheckpoint, CUT, populate_existing=True)
    if row is None:
        return None
    if not hmac.compare_digest(cut_signature(row.last_id, row.last_hash, row.count), row.signature):
        return {"bad": True}
    return {"last_id": row.last_id, "last_hash": row.last_hash, "count": row.count}


def _advance_head(session, row: AuditRecord, head: AuditCheckpoint | None) -> None:
    if head is None:  # the first record since the checkpoint table exists: count what is there
        count = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar()
        head = AuditCheckpoint(name=HEAD)
        session.add(head)
    else:
        count = head.count + 1
    head.last_id, head.last_hash, head.count, head.updated_at = row.id, row.record_hash, count, utcnow()
    head.signature = head_signature(row.id, row.record_hash, count)
    session.flush()
    session.info[_PENDING] = (str(head_file()), {"last_id": row.id, "last_hash": row.record_hash,
                                                 "count": count, "signature": head.signature})


def record(actor: str, action: str, target: str = "", details: dict | None = None, outcome: str = "ok") -> AuditRecord:
    """Append one record in the current transaction (so the change and its audit land together)."""
    with unit_of_work() as session:
        _lock_the_chain(session)
        head = session.get(AuditCheckpoint, HEAD, populate_existing=True)
        if head is not None:
            # Link to the signed end, not to the newest row present: if the newest rows were deleted,
            # this record's link breaks where they were, so the gap stays visible after new appends.
            prev_hash = head.last_hash
        else:
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
        _advance_head(session, row, head)
        return row


# --- the copy of the head outside the database ------------------------------------------------


def head_file() -> Path:
    """One file per database (its URL without password), so two databases never share a head."""
    url = db.engine.url.render_as_string(hide_password=True)
    schema = db.engine.dialect.default_schema_name or ""
    tag = hashlib.sha256(f"{url}|{schema}".encode()).hexdigest()[:12]
    return Path(current_app.config["COCKPIT_SETTINGS"].instance_dir) / "audit" / f"head-{tag}.json"


def _read_file_head(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"unreadable": True}
    return value if isinstance(value, dict) else {"unreadable": True}


def _write_file_head(path_text: str, head: dict) -> None:
    """Move the file forward to `head` (never back: commits from several processes finish in any
    order), under an flock so two writers do not interleave; atomic by rename."""
    path = Path(path_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = _read_file_head(path)
        if current and not current.get("unreadable") and int(current.get("last_id", 0)) >= head["last_id"]:
            return
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".head-")
        with os.fdopen(fd, "w") as handle:
            json.dump(head, handle)
        os.replace(temp, path)


@sa.event.listens_for(Session, "after_commit")
def _head_to_file(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        try:
            _write_file_head(*pending)
        except OSError as exc:  # the database head still holds; the file catches up on the next record
            import logging

            logging.getLogger(__name__).warning("audit head file not written: %s", exc)


@sa.event.listens_for(Session, "after_rollback")
def _forget_head(session) -> None:
    session.info.pop(_PENDING, None)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    missing: int = 0  # records a signed checkpoint counts beyond the last one present
    last_present_id: int = 0
    checkpoint_id: int | None = None

    @property
    def gap(self) -> str:
        after = f"#{self.last_present_id}" if self.last_present_id else "the start of the chain"
        return f"{self.missing} records missing after {after} (checkpoint says chain ends at #{self.checkpoint_id})"

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.checked} records verified"
        if self.missing:
            return f"audit chain BROKEN: {self.gap}; {self.reason} ({self.checked} records verify)"
        if self.broken_id is None:
            return f"audit chain BROKEN: {self.reason} ({self.checked} records verify)"
        return f"audit chain BROKEN at record {self.broken_id}: {self.reason} ({self.checked} records checked before it)"


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    """Walk the chain in id order and name the first record whose link, hash or signature is wrong;
    then hold its end against the signed checkpoints (database row and file), so records deleted
    from the end are counted and named too."""
    # The heads are read BEFORE the walk: records appended meanwhile then lie beyond every head,
    # never before it, so a busy cockpit does not look truncated.
    heads = _heads()
    cut = _cut()
    if cut is not None and cut.get("bad"):
        return VerifyResult(False, 0, None, "the retention cut checkpoint has a wrong signature (not written with "
                            "this server's key)")
    prev_hash = cut["last_hash"] if cut else GENESIS_HASH
    checked = 0
    last_id = cut["last_id"] if cut else 0
    while True:
        rows = db.session.execute(
            sa.select(AuditRecord).where(AuditRecord.id > last_id).order_by(AuditRecord.id).limit(batch_size)
        ).scalars().all()
        if not rows:
            return _check_end(checked, last_id, heads, cut["count"] if cut else 0)
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


def _db_head() -> dict | None:
    row = db.session.get(AuditCheckpoint, HEAD, populate_existing=True)
    return None if row is None else {"last_id": row.last_id, "last_hash": row.last_hash, "count": row.count,
                                     "signature": row.signature}


def _heads() -> dict[str, dict]:
    heads = {"database": _db_head(), "instance file": _read_file_head(head_file())}
    return {where: head for where, head in heads.items() if head is not None}


def _bad_signature(where: str, head: dict) -> str | None:
    try:
        expected = head_signature(int(head["last_id"]), str(head["last_hash"]), int(head["count"]))
        given = str(head["signature"])
    except (KeyError, TypeError, ValueError):
        return f"the checkpoint in the {where} is unreadable"
    if not hmac.compare_digest(expected, given):
        return f"the checkpoint in the {where} has a wrong signature (not written with this server's key)"
    return None


def _check_end(checked: int, last_id: int, heads: dict[str, dict], removed: int = 0) -> VerifyResult:
    """`removed`: records retention deleted from the start (the signed cut); the heads count them."""
    if not heads:
        if checked == 0:
            return VerifyResult(True, 0)
        return VerifyResult(False, checked, None, "no signed checkpoint of the chain's end was found (deleted, or "
                            "no record written since the upgrade): records removed from the end would go unseen",
                            last_present_id=last_id)
    for where, head in heads.items():
        if problem := _bad_signature(where, head):
            return VerifyResult(False, checked, None, problem, last_present_id=last_id)
    for where, head in sorted(heads.items(), key=lambda item: -int(item[1]["last_id"])):
        head_id = int(head["last_id"])
        if head_id > last_id:
            return VerifyResult(False, checked, None, f"the newest records were deleted (found by the {where} "
                                "checkpoint)", missing=max(int(head["count"]) - removed - checked, 1),
                                last_present_id=last_id, checkpoint_id=head_id)
        stored = db.session.execute(sa.select(AuditRecord.record_hash).where(AuditRecord.id == head_id)).scalar()
        if stored != head["last_hash"]:
            return VerifyResult(False, checked, head_id, f"it is not the record the {where} checkpoint signed "
                                "(the end of the chain was replaced)", last_present_id=last_id)
        present = db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                                     .where(AuditRecord.id <= head_id)).scalar()
        if present + removed < int(head["count"]):
            return VerifyResult(False, checked, None, f"the {where} checkpoint counts {head['count']} records up to "
                                f"#{head_id} and only {present} are there"
                                + (f" after {removed} removed by retention" if removed else ""),
                                missing=int(head["count"]) - removed - present,
                                last_present_id=last_id, checkpoint_id=head_id)
    if "database" not in heads:  # the file is only ever written after the row exists
        return VerifyResult(False, checked, None, "the checkpoint row in the database was deleted",
                            last_present_id=last_id)
    # Written with every record, the database head is never behind the table: an older one was put back.
    now = _db_head()
    if now is None or int(now["last_id"]) < last_id:
        return VerifyResult(False, checked, None, f"the database checkpoint (#{now['last_id'] if now else '-'}) is "
                            f"older than the last record #{last_id}: it was replaced", last_present_id=last_id)
    return VerifyResult(True, checked, last_present_id=last_id, checkpoint_id=int(heads["database"]["last_id"]))


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
