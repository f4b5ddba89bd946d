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
