"""Records deleted from the END of the audit chain break no link; the signed checkpoint (a row
written with every record, and a file under the instance folder) makes verify count and name them.
SQLite and PostgreSQL; rows are removed by direct SQL, as someone working around the app would."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from models import AuditRecord
from models.audit import AuditCheckpoint
from tests.integration.test_cli import cli  # noqa: F401  (the `dashapp` runner fixture)
from tests.support.web import PASSWORD


def write(n: int, actor: str = "alice") -> list[int]:
    ids = [audit.record(actor, "test.action", f"thing:{i}", {"i": i}).id for i in range(n)]
    db.session.commit()
    return ids


def sql(statement: str, **params) -> None:
    db.session.execute(sa.text(statement), params)
    db.session.commit()
    db.session.expire_all()


def all_ids() -> list[int]:
    return list(db.session.execute(sa.select(AuditRecord.id).order_by(AuditRecord.id)).scalars())


def test_an_intact_chain_verifies_against_its_checkpoint(server):
    write(4)
    ids = all_ids()
    result = audit.verify_chain()
    assert result.ok and result.checked == len(ids) and result.checkpoint_id == ids[-1], str(result)
    head = db.session.get(AuditCheckpoint, audit.HEAD)
    assert (head.last_id, head.count) == (ids[-1], len(ids))
    on_disk = json.loads(audit.head_file().read_text())
    assert (on_disk["last_id"], on_disk["count"], on_disk["signature"]) == (head.last_id, head.count, head.signature)


def test_deleting_the_newest_records_is_caught_and_the_gap_named(server):
    write(6)
    ids = all_ids()
    sql("DELETE FROM audit_records WHERE id > :id", id=ids[-4])
    result = audit.verify_chain()
    assert not result.ok and result.missing == 3 and result.checked == len(ids) - 3
    assert f"3 records missing after #{ids[-4]} (checkpoint says chain ends at #{ids[-1]})" in str(result)


def test_deleting_every_record_is_caught(server):
    write(3)
    total = len(all_ids())
    sql("DELETE FROM audit_records")
    result = audit.verify_chain()
    assert not result.ok and result.missing == total and "after the start of the chain" in str(result)


def test_the_gap_stays_visible_after_new_records_are_appended(server):
    write(5)
    ids = all_ids()
    sql("DELETE FROM audit_records WHERE id > :id", id=ids[-3])
    [new_id] = write(1, actor="bob")
    result = audit.verify_chain()
    assert not result.ok and result.broken_id == new_id and "deleted" in result.reason, str(result)


def test_the_file_catches_a_tail_deleted_together_with_the_checkpoint_row(server):
    write(5)
    ids = all_ids()
    sql("DELETE FROM audit_records WHERE id > :id", id=ids[-3])
    sql("DELETE FROM audit_checkpoints")
    result = audit.verify_chain()
    assert not result.ok and result.missing == 2 and "instance file" in result.reason
    assert f"2 records missing after #{ids[-3]} (checkpoint says chain ends at #{ids[-1]})" in str(result)


def test_the_file_catches_an_old_checkpoint_row_put_back(server):
    write(3)
    old = db.session.execute(sa.text("SELECT last_id, last_hash, count, signature FROM audit_checkpoints")).one()
    write(2)
    ids = all_ids()
    sql("DELETE FROM audit_records WHERE id > :id", id=old.last_id)
    sql("UPDATE audit_checkpoints SET last_id = :i, last_hash = :h, count = :c, signature = :s",
        i=old.last_id, h=old.last_hash, c=old.count, s=old.signature)  # a consistent, genuinely signed, old head
    result = audit.verify_chain()
    assert not result.ok and result.missing == 2 and result.checkpoint_id == ids[-1], str(result)


def test_with_every_checkpoint_gone_verify_refuses_to_vouch_for_the_end(server):
    write(3)
    sql("DELETE FROM audit_checkpoints")
    audit.head_file().unlink()
    result = audit.verify_chain()
    assert not result.ok and "no signed checkpoint" in result.reason


def test_a_checkpoint_edited_without_the_key_is_caught(server):
    write(3)
    sql("UPDATE audit_checkpoints SET count = count - 1")
    result = audit.verify_chain()
    assert not result.ok and "database has a wrong signature" in result.reason
    audit.head_file().write_text("{not json")
    sql("UPDATE audit_checkpoints SET count = count + 1")
    result = audit.verify_chain()
    assert not result.ok and "instance file is unreadable" in result.reason


def test_concurrent_appends_keep_one_chain_and_one_count(server):
    """Writers racing on SQLite's write lock or PostgreSQL's advisory lock: no fork, no lost count."""
    def append(n: int) -> None:
        with server.app_context():
            try:
                for i in range(5):
                    audit.record(f"writer{n}", "test.race", f"n:{n}:{i}")
                    db.session.commit()
            finally:
                db.session.remove()

    before = len(all_ids())
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, range(4)))  # re-raises a writer's exception here
    db.session.expire_all()
    result = audit.verify_chain()
    assert result.ok and result.checked == before + 20, str(result)
    assert db.session.get(AuditCheckpoint, audit.HEAD).count == before + 20


def test_cli_audit_verify_fails_naming_the_gap(cli):  # noqa: F811
    cli("users", "create", "bob", "--role", "viewer", "--password", PASSWORD)
    last, before = [row[0] for row in cli.sql("SELECT id FROM audit_records ORDER BY id DESC LIMIT 2")]
    assert "audit chain OK" in cli("audit", "verify")
    cli.sql("DELETE FROM audit_records WHERE id = :id", id=last)
    out = cli("audit", "verify", expect=1)
    assert f"1 records missing after #{before} (checkpoint says chain ends at #{last})" in out, out
    assert "BROKEN" in out


def test_an_empty_chain_with_no_checkpoint_verifies(server):
    sql("DELETE FROM audit_records")
    sql("DELETE FROM audit_checkpoints")
    if audit.head_file().exists():
        audit.head_file().unlink()
    assert audit.verify_chain().ok
