"""Two-factor authentication: TOTP (RFC 6238, pyotp) enrolment with a QR code, single-use recovery
codes, replay protection and the fresh-verification window that privileged actions demand.

* The secret is stored Fernet-encrypted with a key derived from SECRET_KEY (never in clear text).
* A code is accepted for the current 30-second step or one step either side, and only if its step
  is newer than the last accepted one (one conditional UPDATE: two concurrent uses of one code
  cannot both pass). Recovery codes are argon2 hashes, each usable once.
* A verified code marks the *session* fresh (`user_sessions.mfa_verified_at`, server side); a
  privileged action calls `require_fresh(user, action)`, which raises `MfaRequired` unless the
  session proved a code within the window (default 5 minutes, Admin page setting).
* MFA applies to a user who enrolled, or whose role the admin marked "requires MFA" (such a user is
  refused every privileged action until enrolled). Bearer tokens are machines: they cannot prove a
  second factor, so MFA-guarded actions are refused to a token whose user MFA applies to (the same
  rule as for that user's browser session). Outside a web request (the CLI on the
  host, a worker job) there is no session to step up: the host's own access control is the boundary.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, g, has_request_context, session

from dashapp.extensions import db
from dashapp.security.passwords import hash_password, verify_password
from dashapp.security.permissions import ROLES
from dashapp.services import app_settings, audit
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import MfaEnrolment, MfaRecoveryCode, User, UserSession, utcnow

ISSUER = "Trading Desk Cockpit"
RECOVERY_CODES = 10
DEFAULT_FRESH_MINUTES = 5
REQUIRED_ROLES_KEY = "mfa.required_roles"
FRESH_MINUTES_KEY = "mfa.fresh_minutes"
SESSION_KEY = "sid"  # the server-side session id in the signed cookie (services/sessions.py)
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class MfaRequired(PermissionDenied):
    """The action needs a fresh second factor. `why` is 'stale' (enter a code), 'not_enrolled'
    (set up an authenticator on /account first) or 'token' (use a signed-in browser session)."""

    def __init__(self, message: str, action: str = "", why: str = "stale"):
        super().__init__(message, field="mfa_code")
        self.action = action
        self.why = why

    def to_dict(self) -> dict:
        return {**super().to_dict(), "mfa": self.why, "action": self.action}


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_data_uri: str


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"].encode()
    return Fernet(base64.urlsafe_b64encode(hmac.new(secret, b"cockpit-mfa-v1", hashlib.sha256).digest()))


def _decrypt(row: MfaEnrolment) -> str:
    try:
        return _fernet().decrypt(row.secret_encrypted.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed: the enrolment cannot be used, an admin resets it
        raise Conflict("the stored authenticator secret cannot be read (was SECRET_KEY changed?): ask an admin "
                       "to reset your two-factor enrolment", field="mfa_code") from None


def _user(user) -> User:
    if isinstance(user, User):
        return user
    name = user if isinstance(user, str) else getattr(user, "username", "")
    found = db.session.execute(sa.select(User).where(User.username == name)).scalar()
    if found is None:
        raise PermissionDenied(f"no user named {name!r}", field="user")
    return found


def _enrolment(user_id: int) -> MfaEnrolment | None:
    return db.session.get(MfaEnrolment, user_id)


def is_enrolled(user) -> bool:
    row = _enrolment(_user(user).id)
    return row is not None and row.confirmed_at is not None


# --- policy (Admin page) ---------------------------------------------------------------------------------

def required_roles() -> list[str]:
    value = app_settings.get(REQUIRED_ROLES_KEY) or []
    return [r for r in value if r in ROLES]


def set_required_roles(actor: str, roles: list[str]) -> list[str]:
    unknown = [r for r in roles or [] if r not in ROLES]
    if unknown:
        raise ValidationError(f"unknown role(s): {', '.join(map(str, unknown))[:200]}", field="roles")
    chosen = [r for r in ROLES if r in (roles or [])]
    with unit_of_work():
        app_settings.put(REQUIRED_ROLES_KEY, chosen, actor)
        audit.record(actor, "mfa.policy", "mfa", {"required_roles": chosen})
    return chosen


def fresh_minutes() -> int:
    value = app_settings.get(FRESH_MINUTES_KEY)
    return int(value) if isinstance(value, int) and 1 <= value <= 60 else DEFAULT_FRESH_MINUTES


def set_fresh_minutes(actor: str, minutes) -> int:
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60:
        raise ValidationError("the fresh-verification window must be 1 to 60 minutes", field="fresh_minutes")
    with unit_of_work():
        app_settings.put(FRESH_MINUTES_KEY, minutes, actor)
        audit.record(actor, "mfa.policy", "mfa", {"fresh_minutes": minutes})
    return minutes


def applies_to(user) -> bool:
    user = _user(user)
    return is_enrolled(user) or user.role_name in required_roles()


# --- enrolment -------------------------------------------------------------------------------------------

def _qr_data_uri(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def begin_enrolment(user) -> Enrolment:
    """A new secret (replacing an unconfirmed one), its otpauth:// URI and QR code. Refused once
    confirmed: turn it off first (with a code), so a stolen session cannot swap the authenticator."""
    user = _user(user)
    row = _enrolment(user.id)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("two-factor authentication is already set up: turn it off first to enrol a new device",
                       field="mfa")
    secret = pyotp.random_base32()
    with unit_of_work() as s:
        if row is None:
            row = MfaEnrolment(user_id=user.id)
            s.add(row)
        row.secret_encrypted = _fernet().encrypt(secret.encode()).decode()
        row.created_at, row.confirmed_at, row.last_step = utcnow(), None, 0
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri, qr_data_uri=_qr_data_uri(uri))


def confirm_enrolment(user, code: str, at: datetime | None = None) -> list[str]:
    """Confirm with the first code; returns the recovery codes, shown once (only hashes are kept)."""
    user = _user(user)
    row = _enrolment(user.id)
    if row is None:
        raise Conflict("start the enrolment first (scan the QR code)", field="mfa")
    if row.confirmed_at is not None:
        raise Conflict("two-factor authentication is already confirmed", field="mfa")
    step = _matching_step(_decrypt(row), _clean(code), at)
    if step is None:
        raise ValidationError("that code does not match: check the authenticator's clock and try the current code",
                              field="mfa_code")
    codes = ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
             for _ in range(RECOVERY_CODES)]
    with unit_of_work() as s:
        row.confirmed_at, row.last_step = utcnow(), step
        s.execute(sa.delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
        s.add_all(MfaRecoveryCode(user_id=user.id, selector=_selector(c), code_hash=hash_password(c)) for c in codes)
        _mark_fresh(_current_session_id(), user.id)
        audit.record(user.username, "mfa.enrol", f"user:{user.username}")
    return codes


def disable(actor: str, user, code: str | None = None) -> None:
    """The user's own switch-off (proves a code) or an admin's reset (code None; the caller checks
    USERS_MANAGE and MFA freshness of the admin)."""
    user = _user(user)
    if code is not None:
        verify(user, code)
    with unit_of_work() as s:
        s.execute(sa.delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
        s.execute(sa.delete(MfaEnrolment).where(MfaEnrolment.user_id == user.id))
        audit.record(actor, "mfa.disable", f"user:{user.username}", {"by_admin": code is None})


def remaining_recovery_codes(user) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(MfaRecoveryCode).where(
        MfaRecoveryCode.user_id == _user(user).id, MfaRecoveryCode.used_at.is_(None))).scalar_one()


# --- verification ----------------------------------------------------------------------------------------

def _clean(code) -> str:
    code = (code if isinstance(code, str) else "").strip().replace(" ", "").lower()
    if not code or len(code) > 16 or not code.replace("-", "").isalnum():
        raise ValidationError("enter the 6-digit code from the authenticator (or a recovery code)", field="mfa_code")
    return code


def _matching_step(secret: str, code: str, at: datetime | None) -> int | None:
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at or utcnow())
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify(user, code, session_id: str | None = None, at: datetime | None = None) -> str:
    """Check a TOTP or recovery code; on success mark the session fresh. Returns 'totp' or
    'recovery'. Raises ValidationError (wrong code) or Conflict (replayed code)."""
    user = _user(user)
    row = _enrolment(user.id)
    if row is None or row.confirmed_at is None:
        raise MfaRequired("two-factor authentication is not set up for this account: enrol on /account first",
                          why="not_enrolled")
    code = _clean(code)
    session_id = session_id or _current_session_id()
    step = _matching_step(_decrypt(row), code, at)
    if step is not None:
        with unit_of_work() as s:
            taken = s.execute(sa.update(MfaEnrolment).where(MfaEnrolment.user_id == user.id,
                                                            MfaEnrolment.last_step < step)
                              .values(last_step=step).execution_options(synchronize_session=False)).rowcount
            if taken != 1:
                audit.record(user.username, "mfa.verify", f"user:{user.username}", {"reason": "replayed"}, "denied")
                s.commit()
                raise Conflict("this code was already used: wait for the next one", field="mfa_code")
            _mark_fresh(session_id, user.id)
            audit.record(user.username, "mfa.verify", f"user:{user.username}", {"method": "totp"})
        return "totp"
    if "-" in code and _use_recovery_code(user, code, session_id):
        return "recovery"
    with unit_of_work():
        audit.record(user.username, "mfa.verify", f"user:{user.username}", {"reason": "wrong code"}, "denied")
    raise ValidationError("that code is not valid", field="mfa_code")


def _selector(code: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"cockpit-recovery-v1:" + code.encode(), hashlib.sha256).hexdigest()[:16]


def _use_recovery_code(user: User, code: str, session_id: str | None) -> bool:
    unused = db.session.execute(sa.select(MfaRecoveryCode).where(
        MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.selector == _selector(code),
        MfaRecoveryCode.used_at.is_(None))).scalars().all()
    for candidate in unused:
        if not verify_password(candidate.code_hash, code):
            continue
        with unit_of_work() as s:
            taken = s.execute(sa.update(MfaRecoveryCode).where(MfaRecoveryCode.id == candidate.id,
                                                               MfaRecoveryCode.used_at.is_(None))
                              .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
            if taken != 1:
                return False
            _mark_fresh(session_id, user.id)
            audit.record(user.username, "mfa.verify", f"user:{user.username}", {"method": "recovery code"})
        return True
    return False


# --- sessions and the fresh window -----------------------------------------------------------------------

def _current_session_id() -> str | None:
    if not has_request_context():
        return None
    sid = session.get(SESSION_KEY)
    return sid if isinstance(sid, str) and 0 < len(sid) <= 64 else None


def _mark_fresh(session_id: str | None, user_id: int) -> None:
    if session_id:
        db.session.execute(sa.update(UserSession).where(UserSession.id == session_id, UserSession.user_id == user_id)
                           .values(mfa_verified_at=utcnow()).execution_options(synchronize_session=False))


def fresh_until(session_id: str | None) -> datetime | None:
    """When the session's last verification stops counting (None: never verified)."""
    if not session_id:
        return None
    row = db.session.get(UserSession, session_id)
    if row is None or row.mfa_verified_at is None or row.revoked_at is not None:
        return None
    return row.mfa_verified_at + timedelta(minutes=fresh_minutes())


def require_fresh(user, action: str) -> None:
    """Raise MfaRequired unless the current caller may do `action` without a (new) code now."""
    if not has_request_context():
        return  # CLI on the host or a worker job: no interactive session to step up (module docstring)
    user = _user(user)
    if not applies_to(user):
        return
    if g.get("api_user") is not None:
        raise MfaRequired(f"{action} needs a fresh two-factor code, which an API token cannot give: do it from a "
                          "signed-in browser session", action=action, why="token")
    if not is_enrolled(user):
        raise MfaRequired(f"your role requires two-factor authentication for {action}: set up an authenticator "
                          "on /account first", action=action, why="not_enrolled")
    until = fresh_until(_current_session_id())
    if until is None or until < utcnow():
        raise MfaRequired(f"{action} needs a fresh two-factor code: enter the current code from your authenticator "
                          "and try again", action=action, why="stale")
