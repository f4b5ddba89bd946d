"""Small pieces of application-wide state (trading mode, flags) kept as JSON values by key."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow


class AppSetting(db.Model):
    __tablename__ = "app_settings"

    key = sa.Column(sa.String(64), primary_key=True)
    value = sa.Column(sa.JSON, nullable=False)
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
