"""The audit trail is hash-chained and signed; verify names the first record that was tampered with."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from models import AuditRecord


def _write(n: int) -> list[int]:
    ids = []
    for i in range(n):
        ids.append(audit.record("alice", "test.action", f"thing:{i}", {"i": i, "note": "é"}).id)
    db.session.commit()
    return ids


def test_chain_verifies_and_links(server):
    ids = _write(5)
    result = audit.verify_chain()
    assert result.ok and result.checked == 5, str(result)
    rows = db.session.execute(sa.select(AuditRecord).order_by(AuditRecord.id)).scalars().all()
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(rows[i].prev_hash == rows[i - 1].record_hash for i in range(1, len(rows)))
    assert [r.id for r in rows] == ids


def test_edit_behind_the_apps_back_is_caught_at_that_record(server):
    ids = _write(6)
    db.session.execute(sa.text("UPDATE audit_records SET actor = 'mallory' WHERE id = :id"), {"id": ids[3]})
    db.session.commit()
    db.session.expire_all()
    result = audit.verify_chain()
    assert not result.ok
    assert result.broken_id == ids[3]
    assert "edited" in result.reason
    assert result.checked == 3


def test_deleted_record_is_caught(server):
    ids = _write(4)
    db.session.execute(sa.text("DELETE FROM audit_records WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    result = audit.verify_chain()
    assert not result.ok and result.broken_id == ids[2] and "deleted" in result.reason


def test_recomputed_hash_without_the_key_is_caught_by_the_signature(server):
    ids = _write(3)
    row = db.session.get(AuditRecord, ids[2])
    forged_details = audit.canonical_json({"i": 99})
    body = audit._body(row.created_at, row.actor, row.action, row.target, row.outcome, forged_details)
    forged_hash = audit.compute_hash(row.prev_hash, body)
    db.session.execute(sa.text("UPDATE audit_records SET details = :d, record_hash = :h WHERE id = :id"),
                       {"d": forged_details, "h": forged_hash, "id": ids[2]})
    db.session.commit()
    db.session.expire_all()
    result = audit.verify_chain()
    assert not result.ok and result.broken_id == ids[2] and "signature" in result.reason


def test_audit_record_rolls_back_with_its_business_change(server):
    from dashapp.services.unit_of_work import unit_of_work

    before = db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar()
    try:
        with unit_of_work():
            audit.record("bob", "test.fail", "x")
            raise RuntimeError("the business change failed")
    except RuntimeError:
        pass
    after = db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar()
    assert after == before


def test_query_filters(server):
    _write(3)
    audit.record("carol", "user.create", "user:zed", {"role": "viewer"})
    db.session.commit()
    assert [r.actor for r in audit.query(actor="carol")] == ["carol"]
    assert len(audit.query(action="test.")) == 3
    assert len(audit.query(text="zed")) == 1
    assert "user.create" in audit.distinct_actions()
