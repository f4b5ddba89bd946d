"""Personal data (SQLite and PostgreSQL): the export holds what the store knows about a user; erasure
disables the account, removes its personal fields, destroys its subject key, and leaves the audit chain
verifiable (no hashed row rewritten)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, users
from dashapp.services.errors import Conflict, ValidationError
from dashapp.services.governance import privacy
from models import AuditRecord, User, UserPreference, utcnow
from models.governance import LoginEvent, UserSession
from tests.support.web import PASSWORD


def login_rows(user: User) -> None:
    db.session.add_all([
        LoginEvent(user_id=user.id, username=user.username, address="10.1.2.3", user_agent="Firefox/140",
                   outcome="success", created_at=utcnow()),
        UserSession(id="s-" + user.username, user_id=user.id, epoch=0, address="10.1.2.3", user_agent="Firefox/140"),
        UserPreference(user_id=user.id, key="time_range", value="1d", updated_at=utcnow())])
    db.session.commit()


def test_export_then_erase_keeps_the_chain_green(server, make_user):
    admin = make_user("admin", "ada")
    tina = make_user("trader", "tina")
    tina.display_name = "Tina Trader"
    db.session.commit()
    users.authenticate("tina", PASSWORD, "10.1.2.3")
    login_rows(tina)
    stored = db.session.execute(sa.select(AuditRecord).where(AuditRecord.actor == "tina",
                                                             AuditRecord.action == "auth.login")).scalar_one()
    raw_ip = json.loads(stored.details)["ip"]
    assert raw_ip.startswith("pii:v1:") and "10.1.2.3" not in stored.details  # never in the clear
    before = (stored.id, stored.details, stored.record_hash)

    data = privacy.export_user("ada", tina.id)
    assert data["profile"]["display_name"] == "Tina Trader" and data["profile"]["role"] == "trader"
    assert data["logins"][0]["address"] == "10.1.2.3" and data["sessions"][0]["user_agent"] == "Firefox/140"
    assert data["preferences"] == {"time_range": "1d"}
    login = next(r for r in data["audit_records"] if r["action"] == "auth.login")
    assert login["details"]["ip"] == "10.1.2.3"  # revealed for the subject's own export
    assert data["alerts_acknowledged"] == [] and json.dumps(data)

    with pytest.raises(ValidationError):
        privacy.erase_user("ada", tina.id, "")
    with pytest.raises(Conflict):
        privacy.erase_user("ada", admin.id, "self")
    result = privacy.erase_user("ada", tina.id, "data-subject request 42")
    assert result["pseudonym"] == f"erased-{tina.id}" and result["sessions"] == 1 and result["preferences"] == 1
    db.session.expire_all()
    erased = db.session.get(User, tina.id)
    assert (erased.username, erased.display_name, erased.active) == (f"erased-{tina.id}", "", False)
    event = db.session.execute(sa.select(LoginEvent).where(LoginEvent.user_id == tina.id)).scalar_one()
    assert (event.username, event.address, event.user_agent) == (f"erased-{tina.id}", "", "")
    assert db.session.execute(sa.select(sa.func.count()).select_from(UserSession)
                              .where(UserSession.user_id == tina.id)).scalar() == 0
    assert privacy.subject_key_destroyed(tina.id)
    row = db.session.get(AuditRecord, before[0])
    assert (row.id, row.details, row.record_hash) == before  # the hashed row is untouched ...
    assert privacy.reveal(json.loads(row.details)["ip"]) == privacy.ERASED  # ... and its address unreadable
    result = audit.verify_chain()
    assert result.ok, str(result)
    erase = audit.query(action="privacy.erase")[0]
    assert erase.actor == "ada" and "Tina" not in erase.details and "10.1.2.3" not in erase.details
    with pytest.raises(users.LoginRefused):
        users.authenticate("tina", PASSWORD, "10.1.2.3")
    with pytest.raises(Conflict, match="already erased"):
        privacy.erase_user("ada", tina.id, "again")
    assert privacy.protect(tina.id, "10.9.9.9") == privacy.ERASED


def test_erasure_in_a_browser_session_needs_the_second_factor_when_the_role_requires_it(server, make_user):
    from dashapp.services import mfa

    make_user("admin", "ada")
    tom = make_user("trader", "tom")
    mfa.set_required_roles("ada", ["admin"])
    with server.test_request_context("/compliance"):
        with pytest.raises(mfa.MfaRequired) as err:
            privacy.erase_user("ada", tom.id, "request 7")
    assert err.value.why == "not_enrolled"
    db.session.expire_all()
    assert db.session.get(User, tom.id).username == "tom" and not privacy.subject_key_destroyed(tom.id)
