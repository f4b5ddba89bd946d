"""API tokens: created for a user (the token acts with that user's role), shown once, stored hashed.

A token is also bound to the engine ids it may report for: ingest and an engine's control view
refuse any other engine id, and a token bound to none may not ingest at all (scripts that only
read need no binding). So one engine's leaked credentials cannot speak for another engine."""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, mfa
from dashapp.services.bounds import has_control_characters
from dashapp.services.errors import NotFound, ValidationError
from dashapp.services.fields import ENGINE_ID_PATTERN
from dashapp.services.unit_of_work import unit_of_work
from dashapp.services.users import get_user
from models import ApiToken, User, utcnow
from models.api_token import ApiTokenEngine

TOKEN_PREFIX = "tdc_"
MAX_ENGINES = 50
_ENGINE_ID = re.compile(ENGINE_ID_PATTERN)


def _digest(secret: str) -> str:
    # Tokens are 256-bit random, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_engine_ids(engines: Iterable[str] | str | None) -> list[str]:
    """Engine ids from a list or a comma/space separated text, checked and without repeats."""
    if engines is None:
        return []
    if isinstance(engines, str):
        engines = engines.replace(",", " ").split()
    found: list[str] = []
    for engine_id in engines:
        if not isinstance(engine_id, str) or not _ENGINE_ID.match(engine_id):
            raise ValidationError(f"engine id {engine_id!r} must be 1-32 letters, digits, '.', '_' or '-'",
                                  field="engines")
        if engine_id not in found:
            found.append(engine_id)
    if len(found) > MAX_ENGINES:
        raise ValidationError(f"a token is bound to at most {MAX_ENGINES} engines", field="engines")
    return found


def create_token(actor: str, user_id: int, name: str,
                 engines: Iterable[str] | str | None = ()) -> tuple[ApiToken, str]:
    """A new token for the user, bound to `engines` (ids it may report for; none: it may not ingest)."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 80 or has_control_characters(name):
        raise ValidationError("token name is required (at most 80 characters, no control characters)",
                              field="name")
    engine_ids = parse_engine_ids(engines)
    user = get_user(user_id)
    if not user.active:
        raise ValidationError(f"{user.username} is disabled; enable the user before issuing a token", field="user_id")
    mfa.require_fresh(actor, "creating an API token")  # a fresh second factor in a browser session (D80)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work() as session:
        token = ApiToken(name=name, prefix=secret[:10], token_hash=_digest(secret), user_id=user.id, created_by=actor,
                         engine_links=[ApiTokenEngine(engine_id=e) for e in engine_ids])
        session.add(token)
        session.flush()
        audit.record(actor, "token.create", f"token:{token.id}",
                     {"name": name, "user": user.username, "engines": engine_ids})
        return token, secret


def bind_engines(actor: str, token_id: int, engines: Iterable[str] | str) -> ApiToken:
    """Replace the engine ids a token may report for."""
    engine_ids = parse_engine_ids(engines)
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}", field="token_id")
    with unit_of_work():
        token.engine_links = [ApiTokenEngine(engine_id=e) for e in engine_ids]
        audit.record(actor, "token.bind", f"token:{token.id}", {"name": token.name, "engines": engine_ids})
        return token


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


def live_token(secret: str) -> ApiToken | None:
    """The live token (not revoked, its user active) for a secret, or None. Marks it as used."""
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
    return token


def user_for_token(secret: str) -> User | None:
    """The active user a live token acts as, or None. Marks the token as used."""
    token = live_token(secret)
    return token.user if token is not None else None


def engines_for_token(secret: str) -> frozenset[str]:
    """The engine ids a token may report for (empty for an unknown or dead token)."""
    token = live_token(secret)
    return token.engine_ids if token is not None else frozenset()
