"""API tokens for engines and scripts. Only a SHA-256 of the secret is stored; the secret is shown once."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), nullable=False)
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix = sa.Column(sa.String(16), nullable=False)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    # A token acts as its owner, with the owner's role, so one permission matrix covers the API too.
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True)
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at = sa.Column(UTCDateTime, nullable=True)
    revoked_at = sa.Column(UTCDateTime, nullable=True)

    user = db.relationship("User")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
