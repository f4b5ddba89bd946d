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
    # The engine ids this token may report for (ingest, an engine's control view). A token bound to
    # none may not ingest at all: an engine's credentials cannot speak for another engine.
    engine_links = db.relationship("ApiTokenEngine", cascade="all, delete-orphan", lazy="selectin",
                                   order_by="ApiTokenEngine.engine_id")

    @property
    def engine_ids(self) -> frozenset[str]:
        return frozenset(link.engine_id for link in self.engine_links)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiTokenEngine(db.Model):
    """One engine id an API token is bound to."""

    __tablename__ = "api_token_engines"

    token_id = sa.Column(sa.Integer, sa.ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True)
    engine_id = sa.Column(sa.String(32), primary_key=True)
