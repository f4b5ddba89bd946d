"""User rules (shared by the admin page and the CLI) and the login flow, on both databases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, users
from dashapp.services.errors import Conflict, ValidationError
from models import AuditRecord, User
from tests.support.web import PASSWORD, csrf_from_login_page, csrf_header, login


def _count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def test_create_user_hashes_with_argon2_and_audits(server):
    user = users.create_user("root", "Alice", PASSWORD, "trader", "Alice A.")
    assert user.username == "alice" and user.password_hash.startswith("$argon2id$")
    assert audit.query(action="user.create")[0].target == "user:alice"


@pytest.mark.parametrize("kwargs, field, words", [
    (dict(username="x", password=PASSWORD, role="viewer"), "username", "3-64 characters"),
    (dict(username="weak", password="short", role="viewer"), "password", "at least 12"),
    (dict(username="weak2", password="alllowercaseletters", role="viewer"), "password", "three of"),
    (dict(username="named", password="named-Named-1234", role="viewer"), "password", "user name"),
    (dict(username="badrole", password=PASSWORD, role="superuser"), "role", "unknown role"),
])
def test_bad_input_names_the_field_and_writes_nothing(server, kwargs, field, words):
    users_before, audit_before = _count(User), _count(AuditRecord)
    with pytest.raises(ValidationError) as err:
        users.create_user("root", **kwargs)
    assert err.value.field == field and words in err.value.message
    assert (_count(User), _count(AuditRecord)) == (users_before, audit_before)


def test_duplicate_user_name_is_a_conflict(server):
    users.create_user("root", "dup", PASSWORD, "viewer")
    with pytest.raises(Conflict, match="already taken"):
        users.create_user("root", "DUP", PASSWORD, "risk")
    assert _count(User) == 1


def test_last_admin_cannot_be_disabled_or_demoted(server):
    admin, _ = users.ensure_first_admin("Adm1n-Passw0rd!x")
    with pytest.raises(Conflict, match="last active admin"):
        users.set_active("root", admin.id, False)
    with pytest.raises(Conflict, match="last active admin"):
        users.set_role("root", admin.id, "viewer")
    second = users.create_user("root", "second", PASSWORD, "admin")
    users.set_role("root", admin.id, "viewer")  # now allowed: another admin exists
    with pytest.raises(Conflict):
        users.set_active("root", second.id, False)
    assert db.session.get(User, second.id).active is True


def test_first_admin_is_created_once(server):
    user, password = users.ensure_first_admin(None)
    assert user is not None and len(password) >= 12
    assert users.ensure_first_admin(None) == (None, None)


def test_reset_password_unlocks_and_returns_new_secret_once(server):
    user = users.create_user("root", "rita", PASSWORD, "risk")
    user.failed_logins, user.locked_until = 5, None
    db.session.commit()
    _, new = users.reset_password("admin", user.id)
    assert users.authenticate("rita", new).username == "rita"
    with pytest.raises(users.LoginRefused):
        users.authenticate("rita", PASSWORD)


def test_lockout_after_repeated_failures_survives_rollback(server):
    users.create_user("root", "lock", PASSWORD, "viewer")
    limit = server.config["COCKPIT_SETTINGS"].login_max_failures
    for _ in range(limit):
        with pytest.raises(users.LoginRefused, match="Invalid"):
            users.authenticate("lock", "wrong-password", "10.0.0.1")
    with pytest.raises(users.LoginRefused, match="Too many failed") as refused:
        users.authenticate("lock", PASSWORD, "10.0.0.1")  # even the right password, from that address
    assert refused.value.retry_after == server.config["COCKPIT_SETTINGS"].login_backoff_seconds
    assert db.session.get(User, users.find_by_username("lock").id).failed_logins == limit
    denied = [r for r in audit.query(actor="lock") if r.outcome == "denied"]
    assert len(denied) == limit + 1


def test_login_flow_through_the_web(dash_app):
    with dash_app.server.app_context():
        users.create_user("root", "webby", PASSWORD, "viewer")
    client = dash_app.server.test_client()
    bad = client.post("/login", data={"username": "webby", "password": "nope",
                                      "csrf_token": csrf_from_login_page(client)})
    assert bad.status_code == 401 and "Invalid user name or password" in bad.get_data(as_text=True)
    no_csrf = client.post("/login", data={"username": "webby", "password": PASSWORD})
    assert no_csrf.status_code == 400
    ok = login(client, "webby")
    assert ok.status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/logout").status_code == 405  # POST only
    assert client.get("/_dash-layout").status_code == 200
    assert client.post("/logout", headers=csrf_header(client)).status_code == 302
    assert client.get("/_dash-layout").status_code == 401
