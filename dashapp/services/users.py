"""User administration and login, with the rules an admin page and the CLI share."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from dashapp.extensions import db
from dashapp.security.passwords import hash_password, password_problems, verify_password
from dashapp.security.permissions import ROLES
from dashapp.services import audit
from dashapp.services.errors import Conflict, NotFound, ValidationError
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
    if find_by_username(username) is not None:
        raise Conflict(f"user name {username!r} is already taken", field="username")
    with unit_of_work() as session:
        user = User(username=username, display_name=(display_name or username).strip()[:120],
                    password_hash=hash_password(password), role_name=role, active=True, theme="light")
        session.add(user)
        session.flush()
        audit.record(actor, "user.create", f"user:{username}", {"role": role})
        return user


def set_role(actor: str, user_id: int, role: str) -> User:
    _check_role(role)
    user = get_user(user_id)
    if user.role_name == "admin" and role != "admin" and user.active and _active_admin_count(exclude_id=user.id) == 0:
        raise Conflict(f"{user.username} is the last active admin: make another admin first", field="role")
    with unit_of_work():
        old = user.role_name
        user.role_name = role
        audit.record(actor, "user.set_role", f"user:{user.username}", {"from": old, "to": role})
        return user


def set_active(actor: str, user_id: int, active: bool) -> User:
    user = get_user(user_id)
    if not active and user.role_name == "admin" and user.active and _active_admin_count(exclude_id=user.id) == 0:
        raise Conflict(f"{user.username} is the last active admin and cannot be disabled", field="user_id")
    with unit_of_work():
        user.active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
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
        audit.record(actor, "user.reset_password", f"user:{user.username}")
        return user, password


def set_theme(user_id: int, theme: str) -> None:
    if theme not in ("light", "dark"):
        raise ValidationError(f"theme must be 'light' or 'dark', not {theme!r}", field="theme")
    with unit_of_work():
        get_user(user_id).theme = theme


def generate_password() -> str:
    # token_urlsafe alone may lack a class the policy asks for; the suffix guarantees all four.
    return secrets.token_urlsafe(15) + "aZ7!"


class LoginRefused(Exception):
    """A login failed; the message is safe to show (it never says which of name/password was wrong)."""


def authenticate(username: str, password: str, remote_addr: str = "") -> User:
    """Check a login; failures are counted and audited (committed) before LoginRefused is raised."""
    refusal = None
    with unit_of_work():
        user, refusal = _check_login(username, password, remote_addr)
    if refusal:
        raise LoginRefused(refusal)
    return user


def _check_login(username: str, password: str, remote_addr: str) -> tuple[User | None, str | None]:
    settings = current_app.config["COCKPIT_SETTINGS"]
    user = find_by_username(username or "")
    now = utcnow()
    generic = "Invalid user name or password."
    if user is None:
        verify_password(None, password or "")  # same cost as a real check
        audit.record((username or "?")[:64], "auth.login", "", {"ip": remote_addr, "reason": "unknown user"}, "denied")
        return None, generic
    if user.locked_until and user.locked_until > now:
        audit.record(user.username, "auth.login", "", {"ip": remote_addr, "reason": "locked"}, "denied")
        return None, "Account locked after repeated failed logins; try again later or ask an admin."
    if not verify_password(user.password_hash, password or ""):
        user.failed_logins += 1
        reason = "bad password"
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            reason = "bad password; account locked"
        audit.record(user.username, "auth.login", "", {"ip": remote_addr, "reason": reason}, "denied")
        return None, generic
    if not user.active:
        audit.record(user.username, "auth.login", "", {"ip": remote_addr, "reason": "disabled"}, "denied")
        return None, "This account is disabled."
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit.record(user.username, "auth.login", "", {"ip": remote_addr})
    return user, None


def ensure_first_admin(password: str | None) -> tuple[User | None, str | None]:
    """Create `admin` when no admin exists. Returns (user, password shown once) or (None, None)."""
    ensure_roles()
    exists = db.session.execute(sa.select(User.id).where(User.role_name == "admin").limit(1)).scalar()
    if exists:
        return None, None
    password = password or generate_password()
    user = create_user("system", "admin", password, "admin", "Administrator")
    return user, password
