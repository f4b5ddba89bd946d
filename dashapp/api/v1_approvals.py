"""/api/v1/approvals: the four-eyes requests over REST, the same service as the Approvals page.

Listing needs VIEW_COMMAND_CENTER (what a role sees is filtered by the actions it may request or
decide); deciding is checked by services/approvals.py: never your own request, the action's approve
permission, unexpired, and a fresh second factor for MFA actions (which bearer tokens cannot give, so a
token can list but not approve them). Bodies: a reason of 5-300 characters, no control characters."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from dashapp.api.auth import install_guards, requires
from dashapp.security.permissions import Perm
from dashapp.services.errors import ValidationError
from dashapp.services.fields import NO_CONTROL

bp = Blueprint("api_approvals", __name__)
install_guards(bp)
ID_MAX = 2**31 - 1


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(..., min_length=5, max_length=300, pattern=NO_CONTROL)


def _actor():
    from dashapp.security.guards import current_role, current_username
    from dashapp.services.approvals import Actor

    return Actor(current_username(), current_role())


def _id(request_id: str) -> int:
    """Path ids arrive as text (a non-number is a 422 naming the field, not an HTML 404)."""
    if not (request_id.isascii() and request_id.isdigit() and len(request_id) <= 10 and 0 < int(request_id) <= ID_MAX):
        raise ValidationError("request id must be a positive 32-bit integer", field="request_id")
    return int(request_id)


def _reason() -> str:
    raw = request.get_json(silent=True)
    try:
        return ReasonBody.model_validate(raw if isinstance(raw, dict) else {}).reason
    except PydanticError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationError(f"{field}: {first['msg']}", field=field) from None


@bp.get("/approvals")
@requires(Perm.VIEW_COMMAND_CENTER)
def list_approvals():
    """Pending requests this role may request or decide, and the recent history (`?history=1`)."""
    from dashapp.services import approvals

    if request.args.get("history") == "1":
        return jsonify(items=[approvals.to_dict(r) for r in approvals.history(limit=200)])
    actor = _actor()
    return jsonify(items=[{**approvals.to_dict(r), "may_approve": approvals.can_approve(r, actor)}
                          for r in approvals.pending(actor)])


@bp.post("/approvals/<request_id>/approve")
@requires(Perm.VIEW_COMMAND_CENTER)
def approve(request_id: str):
    """Approve (and so execute) another person's request."""
    from dashapp.services import approvals

    return jsonify(approvals.to_dict(approvals.approve(_id(request_id), _actor())))


@bp.post("/approvals/<request_id>/reject")
@requires(Perm.VIEW_COMMAND_CENTER)
def reject(request_id: str):
    """Reject another person's request: `{"reason": "..."}`."""
    from dashapp.services import approvals

    return jsonify(approvals.to_dict(approvals.reject(_id(request_id), _actor(), _reason())))


@bp.post("/approvals/<request_id>/cancel")
@requires(Perm.VIEW_COMMAND_CENTER)
def cancel(request_id: str):
    """Cancel your own pending request."""
    from dashapp.services import approvals

    return jsonify(approvals.to_dict(approvals.cancel(_id(request_id), _actor())))
