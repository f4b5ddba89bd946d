"""/api/v1/models: the model registry for engines and scripts.

GET  /models                          registered models with champion/challenger (VIEW_MODELS)
GET  /models/<name>/signal            the champion's signal on the newest bar; the challenger is evaluated
                                      on the same bar in shadow and recorded, never served (VIEW_MODELS)
GET  /models/<name>/live?alias=&at=   which version held the alias at an instant (VIEW_MODELS)
POST /models/<name>/promote           {version, reason} (MODELS_PROMOTE; gates must pass; audited)
POST /models/<name>/rollback          {reason} (MODELS_PROMOTE; audited)
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from dashapp.api.auth import install_guards, requires
from dashapp.security.guards import current_role, current_username
from dashapp.security.permissions import Perm
from dashapp.services.errors import ValidationError
from dashapp.services.fields import NO_CONTROL
from dashapp.services.models import registry, shadow

bp = Blueprint("api_v1_models", __name__)
install_guards(bp)


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    version: int = Field(..., ge=1, le=1_000_000)
    reason: str = Field(..., min_length=3, max_length=500, pattern=NO_CONTROL)


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(..., min_length=3, max_length=500, pattern=NO_CONTROL)


def _body(model: type[BaseModel]) -> BaseModel:
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ValidationError("body must be a JSON object", field="body")
    try:
        return model.model_validate(raw)
    except PydanticError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        message = ("must not contain control characters" if first["type"] == "string_pattern_mismatch"
                   else first["msg"])
        raise ValidationError(f"{field}: {message}", field=field) from None


@bp.get("/models")
@requires(Perm.VIEW_MODELS)
def list_models():
    return jsonify(models=[{**m, "created_at": m["created_at"].isoformat()} for m in registry.list_models()])


@bp.get("/models/<name>/signal")
@requires(Perm.VIEW_MODELS)
def signal(name: str):
    return jsonify(shadow.latest_signal(registry.check_name(name)))


@bp.get("/models/<name>/live")
@requires(Perm.VIEW_MODELS)
def live(name: str):
    alias = request.args.get("alias", "champion")
    text = request.args.get("at", "")
    try:
        at = datetime.fromisoformat(text[:40]) if text else datetime.now(timezone.utc)
    except ValueError:
        raise ValidationError("at must be an ISO 8601 time", field="at") from None
    at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at
    return jsonify(model=name, alias=alias, at=at.isoformat(), version=registry.live_at(name, alias, at))


@bp.post("/models/<name>/promote")
@requires(Perm.MODELS_PROMOTE)
def promote(name: str):
    body = _body(PromoteBody)
    # 202: a promotion is a four-eyes request; a second person approves it at /api/v1/approvals/<id>/approve.
    return jsonify(registry.promote(current_username(), current_role(), registry.check_name(name), body.version,
                                    body.reason)), 202


@bp.post("/models/<name>/rollback")
@requires(Perm.MODELS_PROMOTE)
def rollback(name: str):
    body = _body(RollbackBody)
    return jsonify(registry.rollback(current_username(), current_role(), registry.check_name(name), body.reason))
