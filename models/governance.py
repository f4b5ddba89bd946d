"""Governance: four-eyes approval requests (one table for every action that needs a second person),
TOTP enrolments with their recovery codes, server-side sessions (revocable one by one, carrying the
fresh-MFA mark), the login history, and compliance sign-off of privileged audit records.

The audit chain itself is never edited: a review is a row beside the audit record it signs off."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

APPROVAL_STATES = ("pending", "approved", "rejected", "expired", "cancelled", "executed", "failed")
LOGIN_OUTCOMES = ("success", "failure", "mfa_required", "mfa_failure", "logout")


class ApprovalRequest(db.Model):
    """A request for an action that needs a second person. `params` were validated by the action's
    pydantic model when the request was made; `result` is what the executor returned (or the error)."""

    __tablename__ = "approval_requests"

    id = sa.Column(sa.Integer, primary_key=True)
    action = sa.Column(sa.String(64), nullable=False)
    params = sa.Column(sa.JSON, nullable=False, default=dict)
    summary = sa.Column(sa.String(300), nullable=False, default="")  # the spec's describe(params)
    reason = sa.Column(sa.String(300), nullable=False, default="")
    requested_by = sa.Column(sa.String(64), nullable=False)
    requested_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False)
    state = sa.Column(sa.String(12), nullable=False, default="pending")
    decided_by = sa.Column(sa.String(64), nullable=True)
    decided_at = sa.Column(UTCDateTime, nullable=True)
    decision_note = sa.Column(sa.String(300), nullable=False, default="")
    result = sa.Column(sa.JSON, nullable=True)

    __table_args__ = (
        sa.CheckConstraint("state in ('pending', 'approved', 'rejected', 'expired', 'cancelled', 'executed', "
                           "'failed')", name="state"),
        sa.Index("ix_approval_requests_state_action", "state", "action"),
        sa.Index("ix_approval_requests_requested_at", "requested_at"),
    )


class MfaEnrolment(db.Model):
    """One TOTP secret per user, Fernet-encrypted with a key derived from SECRET_KEY. `confirmed_at`
    is set by the first accepted code; `last_step` is the newest accepted time step (replay guard)."""

    __tablename__ = "mfa_enrolments"

    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted = sa.Column(sa.String(255), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    confirmed_at = sa.Column(UTCDateTime, nullable=True)
    last_step = sa.Column(sa.BigInteger, nullable=False, default=0)


class MfaRecoveryCode(db.Model):
    """Single-use recovery codes, stored as argon2 hashes (like passwords). `selector` (16 hex of an
    HMAC keyed from SECRET_KEY) finds the one row to check, so a code costs one argon2 verification,
    not ten."""

    __tablename__ = "mfa_recovery_codes"

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    selector = sa.Column(sa.String(16), nullable=False)
    code_hash = sa.Column(sa.String(255), nullable=False)
    used_at = sa.Column(UTCDateTime, nullable=True)

    __table_args__ = (sa.Index("ix_mfa_recovery_codes_user_id", "user_id"),)


class UserSession(db.Model):
    """A signed-in browser session. The cookie carries `id` (random, 43 characters); every request
    checks the row is there and not revoked. `mfa_verified_at` is the last fresh TOTP proof."""

    __tablename__ = "user_sessions"

    id = sa.Column(sa.String(64), primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    epoch = sa.Column(sa.Integer, nullable=False, default=0)  # the user's session epoch at sign-in (D30)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    address = sa.Column(sa.String(64), nullable=False, default="")
    user_agent = sa.Column(sa.String(200), nullable=False, default="")
    mfa_verified_at = sa.Column(UTCDateTime, nullable=True)
    revoked_at = sa.Column(UTCDateTime, nullable=True)
    revoked_by = sa.Column(sa.String(64), nullable=True)

    __table_args__ = (sa.Index("ix_user_sessions_user_id", "user_id"),)


class LoginEvent(db.Model):
    """Every sign-in attempt, second step and sign-out. `username` is what was typed (bounded)."""

    __tablename__ = "login_events"

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    username = sa.Column(sa.String(64), nullable=False, default="")
    address = sa.Column(sa.String(64), nullable=False, default="")
    user_agent = sa.Column(sa.String(200), nullable=False, default="")
    outcome = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.String(100), nullable=False, default="")

    __table_args__ = (
        sa.CheckConstraint("outcome in ('success', 'failure', 'mfa_required', 'mfa_failure', 'logout')",
                           name="outcome"),
        sa.Index("ix_login_events_created_at", "created_at"),
    )


class AuditReview(db.Model):
    """Compliance sign-off of one privileged audit record (the record itself stays untouched)."""

    __tablename__ = "audit_reviews"

    audit_record_id = sa.Column(sa.Integer, sa.ForeignKey("audit_records.id", ondelete="CASCADE"),
                                primary_key=True)
    reviewed_by = sa.Column(sa.String(64), nullable=False)
    reviewed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    note = sa.Column(sa.String(300), nullable=False, default="")
