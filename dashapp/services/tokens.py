"""API tokens: created for a user (the token acts with that user's role), shown once, stored hashed."""
from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.errors import NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from dashapp.services.users import get_user
from models import ApiToken, User, utcnow

TOKEN_PREFIX = "tdc_"


def _digest(secret: str) -> str:
    # Tokens are 256-bit random, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(actor: str, user_id: int, name: str) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("token name is required (at most 80 characters)", field="name")
    user = get_user(user_id)
    if not user.active:
        raise ValidationError(f"{user.username} is disabled; enable the user before issuing a token", field="user_id")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work() as session:
        token = ApiToken(name=name, prefix=secret[:10], token_hash=_digest(secret), user_id=user.id, created_by=actor)
        session.add(token)
        session.flush()
        audit.record(actor, "token.create", f"token:{token.id}", {"name": name, "user": user.username})
        return token, secret


def revoke_token(actor: str, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}", field="token_id")
    with unit_of_work():
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record(actor, "token.revoke", f"token:{token.id}", {"name": token.name})
        return token


def list_tokens() -> list[ApiToken]:
    return list(db.session.execute(sa.select(ApiToken).order_by(ApiToken.id.desc())).scalars())


def user_for_token(secret: str) -> User | None:
    """The active user a live token acts as, or None. Marks the token as used."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.token_hash == _digest(secret))).scalar()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    # Recording every use would add a write to every ingest call; a minute's precision is plenty.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        with unit_of_work():
            token.last_used_at = now
    return token.user
