"""User administration and login, with the rules an admin page and the CLI share."""
from __future__ import annotations

import math
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm.attributes import set_committed_value

from dashapp.extensions import db
from dashapp.security import ratelimit
from dashapp.security.passwords import generate_password as _random_password
from dashapp.security.passwords import hash_password, password_problems, verify_password
from dashapp.security.permissions import ROLES, Perm
from dashapp.services import approvals, audit, mfa
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import Role, User, utcnow

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def ensure_roles() -> None:
    """Make the roles table match the matrix (the migration seeds it; this keeps old databases in step)."""
    with unit_of_work() as session:
        for name, description in ROLES.items():
            role = session.get(Role, name)
            if role is None:
                session.add(Role(name=name, description=description))
            elif role.description != description:
                role.description = description


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", field="user_id")
    return user


def find_by_username(username: str) -> User | None:
    return db.session.execute(sa.select(User).where(User.username == username.strip().lower())).scalar()


def list_users() -> list[User]:
    return list(db.session.execute(sa.select(User).order_by(User.username)).scalars())


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}", field="role")


def _check_password(password: str, username: str) -> None:
    problems = password_problems(password or "", username)
    if problems:
        raise ValidationError("weak password: " + "; ".join(problems), field="password")


def _active_admin_count(exclude_id: int | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(User).where(User.role_name == "admin", User.active.is_(True))
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.execute(stmt).scalar_one()


def create_user(actor: str, username: str, password: str, role: str, display_name: str = "") -> User:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "user name must be 3-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="username",
        )
    _check_role(role)
    _check_password(password, username)
    if role == "admin" and has_request_context():  # a web path: admin is granted by two people (D81)
        raise PermissionDenied("create the account with another role, then grant admin: that takes a second admin's "
                               "approval", field="role")
    if find_by_username(username) is not None:
        raise Conflict(f"user name {username!r} is already taken", field="username")
    with unit_of_work() as session:
        user = User(username=username, display_name=(display_name or username).strip()[:120],
                    password_hash=hash_password(password), role_name=role, active=True, theme="dark")  # the desk's default
        session.add(user)
        session.flush()
        audit.record(actor, "user.create", f"user:{username}", {"role": role})
        return user


def set_role(actor: str, user_id: int, role: str) -> User:
    """Change a role (fresh MFA in a browser session). Granting admin runs only as an approved
    four-eyes request (`request_role`)."""
    _check_role(role)
    user = get_user(user_id)
    if role == "admin" and user.role_name != "admin":
        approvals.require_executing(GRANT_ADMIN)
    mfa.require_fresh(actor, "changing a role")
    if user.role_name == "admin" and role != "admin" and user.active and _active_admin_count(exclude_id=user.id) == 0:
        raise Conflict(f"{user.username} is the last active admin: make another admin first", field="role")
    with unit_of_work():
        old = user.role_name
        user.role_name = role
        if old != role:
            # D30: a new role means a fresh sign-in, so no page rendered for the old role stays open.
            _end_sessions(user)
        audit.record(actor, "user.set_role", f"user:{user.username}", {"from": old, "to": role})
        return user


def request_role(actor, user_id: int, role: str, reason: str) -> str:
    """The Admin page's and CLI's way to change a role: admin grants become a four-eyes request,
    everything else is done at once. Returns what happened, in words."""
    _check_role(role)
    user = get_user(user_id)
    if role == "admin" and user.role_name != "admin":
        mfa.require_fresh(actor.username, "requesting an admin grant")
        row = approvals.request(GRANT_ADMIN, {"user_id": user.id}, actor, reason)
        return f"granting admin to {user.username} requested (request #{row.id}): another admin must approve it"
    set_role(actor.username, user.id, role)
    return f"{user.username} now has the role {role}."


def _execute_grant(params: dict, requested_by: str, approved_by: str) -> dict:
    approvals.require_executing(GRANT_ADMIN)
    user = set_role(approved_by, params["user_id"], "admin")
    return {"outcome": f"{user.username} is now admin (requested by {requested_by}, approved by {approved_by})"}


class _GrantParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(gt=0, lt=2**31)


GRANT_ADMIN = "user.grant_admin"
approvals.register_action(approvals.ActionSpec(
    name=GRANT_ADMIN, title="admin role grant", request_perm=Perm.USERS_MANAGE, approve_perm=Perm.USERS_MANAGE,
    params_model=_GrantParams, execute=_execute_grant,
    describe=lambda p: f"grant the admin role to {getattr(db.session.get(User, p['user_id']), 'username', '?')}",
    ttl_minutes=24 * 60, mfa=True))


def set_active(actor: str, user_id: int, active: bool) -> User:
    user = get_user(user_id)
    if not active and user.role_name == "admin" and user.active and _active_admin_count(exclude_id=user.id) == 0:
        raise Conflict(f"{user.username} is the last active admin and cannot be disabled", field="user_id")
    with unit_of_work():
        user.active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
        else:
            _end_sessions(user)  # re-enabling later must not revive the old sessions
        audit.record(actor, "user.enable" if active else "user.disable", f"user:{user.username}")
        return user


def reset_password(actor: str, user_id: int, new_password: str | None = None) -> tuple[User, str]:
    """Set a new password (generated when none is given) and unlock the account; returns it once."""
    user = get_user(user_id)
    password = new_password or generate_password()
    _check_password(password, user.username)
    with unit_of_work():
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        user.failed_logins, user.locked_until = 0, None
        _end_sessions(user)
        audit.record(actor, "user.reset_password", f"user:{user.username}")
        return user, password


def change_password(user_id: int, current_password: str, new_password: str) -> User:
    """The user's own change: proves the current password, ends every session (the caller signs the
    session it came from in again with the returned user's new epoch)."""
    user = get_user(user_id)
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationError("the current password is wrong", field="current_password")
    _check_password(new_password, user.username)
    if verify_password(user.password_hash, new_password):
        raise ValidationError("the new password must differ from the current one", field="new_password")
    with unit_of_work():
        user.password_hash = hash_password(new_password)
        user.password_changed_at = utcnow()
        _end_sessions(user)
        audit.record(user.username, "user.change_password", f"user:{user.username}")
        return user


def sign_out(user: User, remote_addr: str = "") -> None:
    """Logout ends every session of the user (all browsers), not just the cookie that asked."""
    with unit_of_work():
        _end_sessions(user)
        audit.record(user.username, "auth.logout", "", {"ip": _personal(user, remote_addr)})


def _end_sessions(user: User) -> None:
    """Bump the session epoch in one statement (two concurrent bumps both count); the user loader
    refuses any session stamped with an older one."""
    epoch = db.session.execute(
        sa.update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1)
        .returning(User.session_epoch).execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(user, "session_epoch", epoch)  # the object matches the row; no second write


def set_theme(user_id: int, theme: str) -> None:
    if theme not in ("light", "dark"):
        raise ValidationError(f"theme must be 'light' or 'dark', not {theme!r}", field="theme")
    with unit_of_work():
        get_user(user_id).theme = theme


def generate_password(username: str = "") -> str:
    return _random_password(username)


GENERIC_REFUSAL = "Invalid user name or password."


class LoginRefused(Exception):
    """A login failed; the message is safe to show (it never says which of name/password was wrong,
    nor whether the user exists). `retry_after` > 0: throttled, try again in that many seconds."""

    def __init__(self, message: str, retry_after: int = 0, reason: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason or ("throttled" if retry_after else "refused")  # for the login history only


def _throttled(seconds: int) -> LoginRefused:
    return LoginRefused(f"Too many failed sign-in attempts: try again in {seconds} seconds, or ask an admin "
                        "to unlock the account.", retry_after=max(1, seconds))


def authenticate(username: str, password: str, remote_addr: str = "") -> User:
    """Check a login; failures are counted and audited (committed) before LoginRefused is raised."""
    name = (username or "").strip().lower()[:64]
    locked = ratelimit.pair_locked_for(name, remote_addr)
    if locked:  # refused before the password is even checked: costs the server nothing
        with unit_of_work():
            audit.record(name or "?", "auth.login", "", {"ip": remote_addr, "reason": "throttled"}, "denied")
        raise _throttled(locked)
    with unit_of_work():
        user, refusal = _check_login(name, password, remote_addr)
    if refusal:
        raise refusal
    ratelimit.clear_pair(name, remote_addr)
    return user


def _check_login(name: str, password: str, remote_addr: str) -> tuple[User | None, LoginRefused | None]:
    user = find_by_username(name)
    now = utcnow()

    def deny(reason: str, refusal: LoginRefused):
        audit.record(name or "?", "auth.login", "", {"ip": _personal(user, remote_addr), "reason": reason}, "denied")
        refusal.reason = reason
        return None, refusal

    if user is None:
        locked = ratelimit.unknown_account_locked_for(name)
        if locked:
            return deny("unknown user; locked", _throttled(locked))
        verify_password(None, password or "")  # same cost as a real check
        ratelimit.count_unknown_account_failure(name)
        ratelimit.count_pair_failure(name, remote_addr)
        return deny("unknown user", LoginRefused(GENERIC_REFUSAL))
    if user.locked_until and user.locked_until > now:
        return deny("locked", _throttled(math.ceil((user.locked_until - now).total_seconds())))
    if not verify_password(user.password_hash, password or ""):
        failures = _count_failure(user, now)
        ratelimit.count_pair_failure(name, remote_addr)
        locked = failures % _settings().login_account_max_failures == 0
        return deny("bad password; account locked" if locked else "bad password", LoginRefused(GENERIC_REFUSAL))
    if not user.active:  # said only to someone who knows the password
        return deny("disabled", LoginRefused("This account is disabled."))
    db.session.execute(sa.update(User).where(User.id == user.id)
                       .values(failed_logins=0, locked_until=None, last_login_at=now)
                       .execution_options(synchronize_session="fetch"))
    audit.record(user.username, "auth.login", "", {"ip": _personal(user, remote_addr)})
    return user, None


def _personal(user: User | None, value: str) -> str:
    """A personal value in an audit record: encrypted under the user's own key, so erasure can make it
    unreadable without rewriting the hashed row (dashapp.services.governance.privacy, D88)."""
    from dashapp.services.governance.privacy import protect

    return protect(user.id if user is not None else None, value)


def _settings():
    return current_app.config["COCKPIT_SETTINGS"]


def _count_failure(user: User, now) -> int:
    """One UPDATE ... RETURNING: concurrent wrong passwords each get their own count (none lost), so
    exactly one of them reaches each multiple of the account threshold and sets the lock."""
    failures = db.session.execute(
        sa.update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins).execution_options(synchronize_session=False)
    ).scalar_one()
    threshold = _settings().login_account_max_failures
    if threshold > 0 and failures % threshold == 0:
        until = now + timedelta(seconds=ratelimit.backoff_seconds(failures // threshold))
        db.session.execute(sa.update(User).where(User.id == user.id).values(locked_until=until)
                           .execution_options(synchronize_session=False))
    return failures


def ensure_first_admin(password: str | None) -> tuple[User | None, str | None]:
    """Create `admin` when no admin exists. Returns (user, password shown once) or (None, None)."""
    ensure_roles()
    exists = db.session.execute(sa.select(User.id).where(User.role_name == "admin").limit(1)).scalar()
    if exists:
        return None, None
    password = password or generate_password()
    user = create_user("system", "admin", password, "admin", "Administrator")
    return user, password
