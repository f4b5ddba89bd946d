"""/api/v1 endpoints. Every view carries `@requires(<permission>)`; a test checks that."""
from flask import Blueprint, g, jsonify
from flask_login import current_user

from dashapp.api.auth import install_guards, requires
from dashapp.security.permissions import MATRIX, Perm

bp = Blueprint("api_v1", __name__)
install_guards(bp)  # once, where the blueprint is made: no endpoint can skip it


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
    """Store a batch: `{"engine_id": "...", "items": [...]}`. All of it or none; repeats are stored once."""
    from flask import request

    from dashapp.realtime import publish
    from dashapp.services.errors import ValidationError
    from dashapp.services.ingest import ingest_json

    if not request.is_json:
        raise ValidationError("body must be a JSON object with engine_id and items", field="body")
    # The raw bytes: the service parses and validates them in one pass.
    result = ingest_json(kind, request.get_data(cache=False))
    if result.stored or result.updated:
        publish(f"ingest.{kind}", {"engine_id": result.engine_id, "stored": result.stored, "updated": result.updated})
    return jsonify(result.to_dict())


@bp.get("/engines/<engine_id>/control")
@requires(Perm.INGEST_WRITE)
def engine_control(engine_id: str):
    """What an engine must do now: desired status, restart generation, kill switch, trading mode."""
    from dashapp.services.controls import engine_view

    return jsonify(engine_view(engine_id).to_dict())


@bp.get("/engines/<engine_id>")
@requires(Perm.VIEW_COMMAND_CENTER)
def engine_status(engine_id: str):
    from dashapp.services.controls import engine_view

    return jsonify(engine_view(engine_id).to_dict())


@bp.post("/engines/<engine_id>/<action>")
@requires(Perm.ENGINE_CONTROL)
def engine_action(engine_id: str, action: str):
    """Start / stop / restart through the API: `{"reason": "...", "idempotency_key": "..."}`."""
    from flask import request

    from dashapp.security.guards import current_role, current_username
    from dashapp.services.controls import control_engine

    body = request.get_json(silent=True) or {}
    outcome = control_engine(current_username(), current_role(), engine_id, action, body.get("reason"),
                             body.get("idempotency_key") or request.headers.get("Idempotency-Key"))
    return jsonify(outcome=outcome)


@bp.post("/kill-switch/<action>")
@requires(Perm.KILL_SWITCH_ACTIVATE)
def kill_switch_action(action: str):
    """activate | request-reset | approve-reset; each checks its own permission in the service."""
    from flask import request

    from dashapp.security.guards import current_role, current_username
    from dashapp.services import controls
    from dashapp.services.errors import NotFound

    body = request.get_json(silent=True) or {}
    key = body.get("idempotency_key") or request.headers.get("Idempotency-Key")
    who, role = current_username(), current_role()
    if action == "activate":
        outcome = controls.activate_kill_switch(who, role, body.get("reason"), key)
    elif action == "request-reset":
        outcome = controls.request_kill_switch_reset(who, role, body.get("reason"), key)
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
