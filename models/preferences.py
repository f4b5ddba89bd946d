"""Per-user preferences: one row per (user, key); the keys and their values are checked by
dashapp.services.preferences (auto-refresh per page, the global time range)."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow


class UserPreference(db.Model):
    __tablename__ = "user_preferences"

    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key = sa.Column(sa.String(64), primary_key=True)  # "refresh:<page key>" | "time_range"
    value = sa.Column(sa.String(32), nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
