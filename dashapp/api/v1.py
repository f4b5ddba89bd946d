"""/api/v1 endpoints. Every view carries `@requires(<permission>)`; a test checks that.

Free values are checked here before any service sees them: path engine ids against the engine id
pattern, control bodies against `ControlBody` (bounded text, no control characters); ingest bodies
are the ingest service's own business (schemas + per-batch bounds)."""
import re

from flask import Blueprint, g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from dashapp.api.auth import install_guards, requires
from dashapp.security.permissions import MATRIX, Perm
from dashapp.services.errors import PermissionDenied, ValidationError
from dashapp.services.fields import ENGINE_ID_PATTERN, NO_CONTROL

bp = Blueprint("api_v1", __name__)
install_guards(bp)  # once, where the blueprint is made: no endpoint can skip it
_ENGINE_ID = re.compile(ENGINE_ID_PATTERN)


class ControlBody(BaseModel):
    """The body of a control action (engine start/stop/restart, kill switch)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str | None = Field(None, max_length=300, pattern=NO_CONTROL)
    idempotency_key: str | None = Field(None, min_length=1, max_length=128, pattern=NO_CONTROL)


def _control_body() -> ControlBody:
    """The JSON body as a ControlBody (an empty or absent body is an empty one); the
    `Idempotency-Key` header stands in for a missing key."""
    raw = request.get_json(silent=True) if request.get_data(cache=True) else {}
    if not isinstance(raw, dict):
        raise ValidationError("body must be a JSON object: reason, idempotency_key", field="body")
    if raw.get("idempotency_key") is None and request.headers.get("Idempotency-Key"):
        raw = {**raw, "idempotency_key": request.headers["Idempotency-Key"]}
    try:
        return ControlBody.model_validate(raw)
    except PydanticError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        message = ("must not contain control characters" if first["type"] == "string_pattern_mismatch"
                   else first["msg"])
        raise ValidationError(f"{field}: {message}", field=field) from None


def _engine_id(engine_id: str) -> str:
    if not _ENGINE_ID.match(engine_id):
        raise ValidationError("engine id must be 1-32 letters, digits, '.', '_' or '-'", field="engine_id")
    return engine_id


def _token_engines() -> frozenset[str] | None:
    """The engine ids a bearer token may report for; None for a person's session (their role's
    permission is the whole answer)."""
    from dashapp.services import tokens

    if g.get("api_user") is None:
        return None
    return tokens.engines_for_token(request.headers.get("Authorization", "")[7:].strip())


@bp.get("/me")
@requires(Perm.VIEW_COMMAND_CENTER)
def me():
    """Who the caller is and what its role may do (useful to check a token)."""
    user = g.get("api_user") or current_user
    return jsonify(username=user.username, role=user.role_name,
                   permissions=sorted(p.value for p in MATRIX[user.role_name]))


@bp.post("/ingest/<kind>")
@requires(Perm.INGEST_WRITE)
def ingest(kind: str):
    """Store a batch: `{"engine_id": "...", "items": [...]}`. All of it or none; repeats are stored once.
    A bearer token may report only for the engine ids bound to it (403 naming `engine_id`)."""
    from dashapp.realtime import publish
    from dashapp.services.ingest import ingest_json

    if not request.is_json:
        raise ValidationError("body must be a JSON object with engine_id and items", field="body")
    # The raw bytes: the service parses and validates them in one pass.
    result = ingest_json(kind, request.get_data(cache=False), engines=_token_engines())
    if result.stored or result.updated:
        publish(f"ingest.{kind}", {"engine_id": result.engine_id, "stored": result.stored, "updated": result.updated})
    return jsonify(result.to_dict())


@bp.get("/engines/<engine_id>/control")
@requires(Perm.INGEST_WRITE)
def engine_control(engine_id: str):
    """What an engine must do now: desired status, restart generation, kill switch, trading mode.
    A bearer token reads it only for the engine ids bound to it."""
    from dashapp.services.controls import engine_view

    engines = _token_engines()
    if engines is not None and _engine_id(engine_id) not in engines:
        raise PermissionDenied(f"this API token is not bound to engine {engine_id!r}", field="engine_id")
    return jsonify(engine_view(_engine_id(engine_id)).to_dict())


@bp.get("/engines/<engine_id>/recovery")
@requires(Perm.INGEST_WRITE)
def engine_recovery(engine_id: str):
    """What the store holds of an engine, for it to resume after a restart (read-only): positions and
    cash per strategy, working orders, last prices, its last id sequence number. Same token binding
    as the control endpoint."""
    from dashapp.services.engine_recovery import recovery_view

    engines = _token_engines()
    if engines is not None and _engine_id(engine_id) not in engines:
        raise PermissionDenied(f"this API token is not bound to engine {engine_id!r}", field="engine_id")
    return jsonify(recovery_view(_engine_id(engine_id)))


@bp.get("/engines/<engine_id>")
@requires(Perm.VIEW_COMMAND_CENTER)
def engine_status(engine_id: str):
    """An engine's desired and actual state."""
    from dashapp.services.controls import engine_view

    return jsonify(engine_view(_engine_id(engine_id)).to_dict())


@bp.post("/engines/<engine_id>/<action>")
@requires(Perm.ENGINE_CONTROL)
def engine_action(engine_id: str, action: str):
    """Start / stop / restart through the API: `{"reason": "...", "idempotency_key": "..."}`."""
    from dashapp.security.guards import current_role, current_username
    from dashapp.services.controls import control_engine

    body = _control_body()
    outcome = control_engine(current_username(), current_role(), _engine_id(engine_id), action, body.reason,
                             body.idempotency_key)
    return jsonify(outcome=outcome)


@bp.post("/kill-switch/<action>")
@requires(Perm.KILL_SWITCH_ACTIVATE)
def kill_switch_action(action: str):
    """activate | request-reset | approve-reset; each checks its own permission in the service."""
    from dashapp.security.guards import current_role, current_username
    from dashapp.services import controls
    from dashapp.services.errors import NotFound

    body = _control_body()
    key = body.idempotency_key
    who, role = current_username(), current_role()
    if action == "activate":
        outcome = controls.activate_kill_switch(who, role, body.reason, key)
    elif action == "request-reset":
        outcome = controls.request_kill_switch_reset(who, role, body.reason, key)
    elif action == "approve-reset":
        outcome = controls.approve_kill_switch_reset(who, role, key)
    else:
        raise NotFound(f"unknown kill-switch action {action!r}", field="action")
    return jsonify(outcome=outcome)


@bp.get("/openapi.json")
@requires(Perm.VIEW_COMMAND_CENTER)
def openapi():
    """This API's OpenAPI 3.1 document."""
    from flask import current_app

    from dashapp.api.openapi import document

    return jsonify(document(current_app))
