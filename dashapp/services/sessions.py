"""Server-side sessions and the login history.

The signed cookie names the user ("<id>.<epoch>", D30) and a random session id; the row in
`user_sessions` is what makes it live. Revoking a row ends that one browser at its next request (the
user loader refuses it), while bumping the epoch still ends all of them. `last_seen_at` is written
at most once a minute per session, so an open page does not turn every poll into a write.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.errors import NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import LoginEvent, User, UserSession, utcnow

TOUCH_EVERY = timedelta(seconds=60)
IDLE_LISTED = timedelta(days=14)  # sessions idle longer than this are not listed as active
OUTCOMES = ("success", "failure", "mfa_required", "mfa_failure", "logout")


def _bounded(text, size: int) -> str:
    text = text if isinstance(text, str) else ""
    return "".join(ch for ch in text if ch.isprintable())[:size]


def start(user: User, address: str = "", user_agent: str = "", mfa_verified: bool = False) -> str:
    """A new session row for a sign-in; returns its id for the cookie."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    with unit_of_work() as s:
        s.add(UserSession(id=sid, user_id=user.id, epoch=user.session_epoch or 0, created_at=now, last_seen_at=now,
                          address=_bounded(address, 64), user_agent=_bounded(user_agent, 200),
                          mfa_verified_at=now if mfa_verified else None))
    return sid


def check(sid, user_id: int) -> bool:
    """True when the session is live for this user; refreshes last_seen_at now and then."""
    if not isinstance(sid, str) or not 0 < len(sid) <= 64:
        return False
    row = db.session.get(UserSession, sid)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return False
    now = utcnow()
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(sa.update(UserSession).where(UserSession.id == sid).values(last_seen_at=now)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return True


def end(sid) -> None:
    """The user's own sign-out of this browser."""
    if isinstance(sid, str) and sid:
        with unit_of_work() as s:
            s.execute(sa.update(UserSession).where(UserSession.id == sid, UserSession.revoked_at.is_(None))
                      .values(revoked_at=utcnow(), revoked_by="logout").execution_options(synchronize_session=False))


def end_all(user_id: int, by: str) -> None:
    """Mark every live session of a user ended (the epoch bump already refuses them)."""
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow(), revoked_by=by[:64]).execution_options(synchronize_session=False))


def revoke(actor, sid: str, may_revoke_others: bool) -> UserSession:
    """Revoke one session: your own always, anyone's with SESSIONS_MANAGE (checked by the caller's
    permission, passed in as `may_revoke_others`)."""
    if not isinstance(sid, str) or not 0 < len(sid) <= 64:
        raise ValidationError("session id must be 1-64 characters", field="session_id")
    row = db.session.get(UserSession, sid)
    if row is None:
        raise NotFound("no such session", field="session_id")
    owner = db.session.get(User, row.user_id)
    if owner.username != actor.username and not may_revoke_others:
        raise PermissionDenied("you may only revoke your own sessions", field="session_id")
    with unit_of_work():
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = utcnow(), actor.username
        audit.record(actor.username, "session.revoke", f"user:{owner.username}",
                     {"session": sid[:8], "address": row.address})
    return row


@dataclass(frozen=True)
class SessionView:
    id: str
    username: str
    created_at: datetime
    last_seen_at: datetime
    address: str
    user_agent: str
    mfa_verified_at: datetime | None
    current: bool = False

    def row(self) -> dict:
        iso = lambda t: t.strftime("%Y-%m-%d %H:%M:%S") if t else ""  # noqa: E731
        return {"id": self.id, "short_id": self.id[:8], "username": self.username, "created_at": iso(self.created_at),
                "last_seen_at": iso(self.last_seen_at), "address": self.address, "user_agent": self.user_agent,
                "mfa_verified_at": iso(self.mfa_verified_at), "current": "this browser" if self.current else ""}


def active(user_id: int | None = None, current_sid: str | None = None, limit: int = 500) -> list[SessionView]:
    """Live sessions (not revoked, epoch still current, seen within 14 days), newest first."""
    stmt = (sa.select(UserSession, User.username).join(User, User.id == UserSession.user_id)
            .where(UserSession.revoked_at.is_(None), UserSession.last_seen_at >= utcnow() - IDLE_LISTED,
                   User.active.is_(True), UserSession.epoch == User.session_epoch))
    if user_id is not None:
        stmt = stmt.where(UserSession.user_id == user_id)
    rows = db.session.execute(stmt.order_by(UserSession.last_seen_at.desc()).limit(limit)).all()
    return [SessionView(r.id, name, r.created_at, r.last_seen_at, r.address, r.user_agent, r.mfa_verified_at,
                        r.id == current_sid) for r, name in rows]


def record_login(username: str, outcome: str, address: str = "", user_agent: str = "", reason: str = "",
                 user_id: int | None = None) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    with unit_of_work() as s:
        s.add(LoginEvent(created_at=utcnow(), user_id=user_id, username=_bounded(username, 64), outcome=outcome,
                         address=_bounded(address, 64), user_agent=_bounded(user_agent, 200),
                         reason=_bounded(reason, 100)))


def login_events(outcome: str | None = None, username: str | None = None, since: datetime | None = None,
                 limit: int = 500) -> list[LoginEvent]:
    if outcome is not None and outcome not in OUTCOMES and outcome != "failed":
        raise ValidationError(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    stmt = sa.select(LoginEvent)
    if outcome == "failed":
        stmt = stmt.where(LoginEvent.outcome.in_(("failure", "mfa_failure")))
    elif outcome:
        stmt = stmt.where(LoginEvent.outcome == outcome)
    if username:
        stmt = stmt.where(LoginEvent.username == username[:64])
    if since is not None:
        stmt = stmt.where(LoginEvent.created_at >= since)
    limit = max(1, min(int(limit), 2000))
    return list(db.session.execute(stmt.order_by(LoginEvent.id.desc()).limit(limit)).scalars())


def event_row(event: LoginEvent) -> dict:
    return {"id": event.id, "created_at": event.created_at.strftime("%Y-%m-%d %H:%M:%S"), "username": event.username,
            "address": event.address, "user_agent": event.user_agent, "outcome": event.outcome,
            "reason": event.reason}
