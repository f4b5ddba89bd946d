"""Personal data: per-subject protection of personal values in the audit trail, export of what the
store holds about a user (JSON), and erasure that keeps the audit chain verifiable.

Audit rows are hashed and chained, so they can never be rewritten. Personal values that go into an
audit record's details (the address a user signed in from) are therefore written encrypted with a key
of their own subject (`subject_keys`, one Fernet key per user): `pii:v1:<user id>:<token>`. Erasure
destroys the key: the rows and their hashes stay exactly as they were, the values become unreadable.
The audit `actor` column keeps the account's user name (the accountability record regulators require);
erasure renames the account and blanks its personal fields, so nothing left maps that name to a person.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from dashapp.extensions import db
from dashapp.services import audit, mfa
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import AlertInstance, AuditRecord, User, UserPreference, utcnow
from models.governance import LoginEvent, UserSession
from models.retention import SubjectKey

PREFIX = "pii:v1:"
ERASED = "[erased]"
_TOKEN = re.compile(r"^pii:v1:(\d+):([A-Za-z0-9_=-]+)$")
MAX_EXPORT_AUDIT = 10_000


def _key(user_id: int, create: bool) -> bytes | None:
    row = db.session.get(SubjectKey, user_id)
    if row is None and create:
        with unit_of_work() as session:
            row = SubjectKey(user_id=user_id, key=Fernet.generate_key().decode(), created_at=utcnow())
            session.add(row)
            session.flush()
    if row is None or row.key is None:
        return None
    return row.key.encode()


def protect(user_id: int | None, value: str) -> str:
    """A personal value for an audit record: encrypted under the subject's key (created on first use).
    Without a known subject (a sign-in attempt for a name that does not exist) the value is kept as is."""
    if user_id is None or not value:
        return value
    key = _key(user_id, create=True)
    if key is None:  # erased: nothing personal is written about this subject any more
        return ERASED
    return f"{PREFIX}{user_id}:{Fernet(key).encrypt(value.encode()).decode()}"


def reveal(value):
    """The readable value of a protected one ("[erased]" once its key is destroyed); anything else as is."""
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return value
    found = _TOKEN.match(value)
    key = _key(int(found.group(1)), create=False) if found else None
    if key is None:
        return ERASED
    try:
        return Fernet(key).decrypt(found.group(2).encode()).decode()
    except InvalidToken:
        return ERASED


def _user(user_id) -> User:
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise ValidationError("user id must be a whole number", field="user_id")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", field="user_id")
    return user


def _iso(value):
    return value.isoformat() if value is not None else None


def export_user(actor: str, user_id: int) -> dict:
    """Everything the store holds about one user, as JSON-ready data (PRIVACY_MANAGE at the edge)."""
    import json

    user = _user(user_id)
    mfa.require_fresh(actor, "exporting personal data")
    name = user.username
    logins = db.session.execute(sa.select(LoginEvent).where(sa.or_(LoginEvent.user_id == user.id,
                                                                   LoginEvent.username == name))
                                .order_by(LoginEvent.id)).scalars()
    sessions = db.session.execute(sa.select(UserSession).where(UserSession.user_id == user.id)
                                  .order_by(UserSession.created_at)).scalars()
    prefs = db.session.execute(sa.select(UserPreference).where(UserPreference.user_id == user.id)).scalars()
    records = db.session.execute(sa.select(AuditRecord).where(AuditRecord.actor == name).order_by(AuditRecord.id)
                                 .limit(MAX_EXPORT_AUDIT)).scalars()
    acked = db.session.execute(sa.select(AlertInstance).where(AlertInstance.acknowledged_by == name)).scalars()
    data = {
        "subject": {"user_id": user.id, "username": name},
        "profile": {"username": name, "display_name": user.display_name, "role": user.role_name,
                    "active": bool(user.active), "theme": user.theme, "created_at": _iso(user.created_at),
                    "last_login_at": _iso(user.last_login_at), "password_changed_at": _iso(user.password_changed_at)},
        "logins": [{"at": _iso(e.created_at), "address": e.address, "user_agent": e.user_agent, "outcome": e.outcome,
                    "reason": e.reason} for e in logins],
        "sessions": [{"created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at), "address": s.address,
                      "user_agent": s.user_agent, "revoked_at": _iso(s.revoked_at)} for s in sessions],
        "preferences": {p.key: p.value for p in prefs},
        "audit_records": [{"id": r.id, "at": _iso(r.created_at), "action": r.action, "target": r.target,
                           "outcome": r.outcome, "details": reveal(json.loads(r.details))} for r in records],
        "alerts_acknowledged": [{"alert": a.id, "acknowledged_at": _iso(a.acknowledged_at)} for a in acked],
        "exported_at": _iso(utcnow()), "exported_by": actor,
    }
    with unit_of_work():
        audit.record(actor, "privacy.export", f"user:{user.id}", {"audit_records": len(data["audit_records"]),
                                                                  "logins": len(data["logins"])})
    return data


def erase_user(actor: str, user_id: int, reason: str) -> dict:
    """Disable the account, blank or pseudonymise its personal fields in the mutable tables, destroy its
    subject key (its protected audit values become unreadable), and audit the erasure. The audit chain is
    not touched, so `dashapp audit verify` stays green."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 300:
        raise ValidationError("a reason (at most 300 characters) is required", field="reason")
    user = _user(user_id)
    if user.username == actor:
        raise Conflict("you cannot erase your own account", field="user_id")
    if user.username.startswith("erased-"):
        raise Conflict(f"user {user_id} was already erased", field="user_id")
    if user.role_name == "admin" and db.session.execute(sa.select(sa.func.count()).select_from(User).where(
            User.role_name == "admin", User.active.is_(True), User.id != user.id)).scalar() == 0:
        raise Conflict("the last active admin cannot be erased", field="user_id")
    mfa.require_fresh(actor, "erasing a user")
    pseudonym = f"erased-{user.id}"
    old = user.username
    with unit_of_work() as session:
        counts = {
            "login_events": session.execute(sa.update(LoginEvent).where(sa.or_(
                LoginEvent.user_id == user.id, LoginEvent.username == old)).values(
                username=pseudonym, address="", user_agent="").execution_options(synchronize_session=False)).rowcount,
            "sessions": session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id)
                                        .execution_options(synchronize_session=False)).rowcount,
            "preferences": session.execute(sa.delete(UserPreference).where(UserPreference.user_id == user.id)
                                           .execution_options(synchronize_session=False)).rowcount,
            "alerts": session.execute(sa.update(AlertInstance).where(AlertInstance.acknowledged_by == old)
                                      .values(acknowledged_by=pseudonym)
                                      .execution_options(synchronize_session=False)).rowcount}
        user.username, user.display_name, user.active = pseudonym, "", False
        user.password_hash = "!erased"  # matches no password
        user.session_epoch = (user.session_epoch or 0) + 1
        key = session.get(SubjectKey, user.id) or SubjectKey(user_id=user.id, created_at=utcnow())
        key.key, key.destroyed_at, key.destroyed_by = None, utcnow(), actor
        session.add(key)
        audit.record(actor, "privacy.erase", f"user:{user.id}", {"reason": reason, "pseudonym": pseudonym,
                                                                 **counts})
    return {"user_id": user.id, "pseudonym": pseudonym, **counts}


def subject_key_destroyed(user_id: int) -> bool:
    row = db.session.get(SubjectKey, user_id)
    return row is not None and row.key is None


def erasable_users() -> list[dict]:
    rows = db.session.execute(sa.select(User).order_by(User.username)).scalars()
    return [{"id": u.id, "username": u.username, "role": u.role_name, "active": bool(u.active),
             "erased": u.username.startswith("erased-")} for u in rows]
