"""The append-only audit trail: each record is chained to the previous one and signed."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow


class AuditRecord(db.Model):
    __tablename__ = "audit_records"

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor = sa.Column(sa.String(64), nullable=False, index=True)
    action = sa.Column(sa.String(64), nullable=False, index=True)
    target = sa.Column(sa.String(200), nullable=False, default="")
    outcome = sa.Column(sa.String(16), nullable=False, default="ok")
    details = sa.Column(sa.Text, nullable=False, default="{}")  # canonical JSON
    # Unique prev_hash makes two concurrent appends after the same record collide instead of forking.
    prev_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    record_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    signature = sa.Column(sa.String(64), nullable=False)


class AuditCheckpoint(db.Model):
    """The signed head of the audit chain (one row, name "head"), updated in the same transaction as
    every append. Records deleted from the END of the chain leave no broken link behind; the head
    still names the last record, its hash and the count, so verify can say how many are missing.
    dashapp.services.audit also keeps a copy of it outside the database (see there)."""

    __tablename__ = "audit_checkpoints"

    name = sa.Column(sa.String(16), primary_key=True)
    last_id = sa.Column(sa.Integer, nullable=False)
    last_hash = sa.Column(sa.String(64), nullable=False)
    count = sa.Column(sa.Integer, nullable=False)  # records appended since the chain began
    signature = sa.Column(sa.String(64), nullable=False)  # HMAC of (last_id, last_hash, count)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
