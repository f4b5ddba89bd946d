"""Governance of stored records: retention policies per kind and their runs, legal holds that block
deletion, and the per-subject keys that protect personal values in the audit trail (erasure
destroys the key; the hashed rows stay as they were)."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

RETENTION_KINDS = ("orders", "fills", "quotes", "engine_events", "audit", "exports", "report_files")
RUN_STATES = ("running", "succeeded", "failed")


class RetentionPolicy(db.Model):
    """How long one kind of record is kept (days), and whether the scheduled run enforces it."""

    __tablename__ = "retention_policies"

    kind = sa.Column(sa.String(16), primary_key=True)
    days = sa.Column(sa.Integer, nullable=False)
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("kind in ('orders', 'fills', 'quotes', 'engine_events', 'audit', 'exports', "
                           "'report_files')", name="kind"),
        sa.CheckConstraint("days >= 1 and days <= 36500", name="days"),
    )


class RetentionRun(db.Model):
    """One enforcement of one policy: what it archived and deleted, what holds kept, where the archive is."""

    __tablename__ = "retention_runs"

    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(sa.String(16), nullable=False)
    job_id = sa.Column(sa.String(36), nullable=True)
    actor = sa.Column(sa.String(64), nullable=False)
    cutoff = sa.Column(UTCDateTime, nullable=False)
    state = sa.Column(sa.String(16), nullable=False, default="running")
    started_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = sa.Column(UTCDateTime, nullable=True)
    batches = sa.Column(sa.Integer, nullable=False, default=0)
    archived = sa.Column(sa.Integer, nullable=False, default=0)
    deleted = sa.Column(sa.Integer, nullable=False, default=0)
    held = sa.Column(sa.Integer, nullable=False, default=0)  # older than the cutoff, kept by a legal hold
    files = sa.Column(sa.JSON, nullable=False, default=list)  # archive parts, relative to <instance>/archive
    error = sa.Column(sa.Text, nullable=True)

    __table_args__ = (
        sa.CheckConstraint("state in ('running', 'succeeded', 'failed')", name="state"),
        sa.Index("ix_retention_runs_kind_started", "kind", "started_at"),
    )


class LegalHold(db.Model):
    """A case that keeps records from deletion until it is released."""

    __tablename__ = "legal_holds"

    id = sa.Column(sa.Integer, primary_key=True)
    case_name = sa.Column(sa.String(120), nullable=False)
    reason = sa.Column(sa.String(500), nullable=False, default="")
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    released_at = sa.Column(UTCDateTime, nullable=True)
    released_by = sa.Column(sa.String(64), nullable=True)

    __table_args__ = (sa.Index("ix_legal_holds_released", "released_at"),)


class LegalHoldItem(db.Model):
    """What a hold covers in one kind: one record, or every record matching the filter (account,
    instrument, time range; unset parts match anything). A record may be under several holds."""

    __tablename__ = "legal_hold_items"

    id = sa.Column(sa.Integer, primary_key=True)
    hold_id = sa.Column(sa.Integer, sa.ForeignKey("legal_holds.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = sa.Column(sa.String(16), nullable=False)
    record_id = sa.Column(sa.BigInteger, nullable=True)
    account_id = sa.Column(sa.Integer, nullable=True)
    instrument_id = sa.Column(sa.Integer, nullable=True)
    time_from = sa.Column(UTCDateTime, nullable=True)
    time_to = sa.Column(UTCDateTime, nullable=True)

    __table_args__ = (
        sa.CheckConstraint("kind in ('orders', 'fills', 'quotes', 'engine_events', 'audit', 'exports', "
                           "'report_files')", name="kind"),
        sa.CheckConstraint("record_id is not null or account_id is not null or instrument_id is not null "
                           "or time_from is not null or time_to is not null", name="selector"),
        sa.Index("ix_legal_hold_items_kind", "kind"),
    )


class SubjectKey(db.Model):
    """The key that encrypts one user's personal values in the audit trail. Erasure clears `key`."""

    __tablename__ = "subject_keys"

    user_id = sa.Column(sa.Integer, primary_key=True)  # no FK: the user row outlives nothing it owns
    key = sa.Column(sa.String(64), nullable=True)  # Fernet key (urlsafe base64); NULL once destroyed
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    destroyed_at = sa.Column(UTCDateTime, nullable=True)
    destroyed_by = sa.Column(sa.String(64), nullable=True)
