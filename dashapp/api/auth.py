"""Bearer-token (or session) authentication for REST endpoints, and the error -> HTTP mapping."""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from dashapp.extensions import csrf
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import tokens
from dashapp.services.errors import ServiceError


STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def authenticate_request(perm: Perm):
    """None when the caller may use `perm`; otherwise the 401/403 response to send."""
    header = request.headers.get("Authorization", "")
    user = None
    if header.startswith("Bearer "):
        user = tokens.user_for_token(header[7:].strip())
        if user is None:
            return jsonify(error="Unauthorized", message="invalid or revoked API token"), 401
        g.api_user = user
    elif current_user.is_authenticated:
        user = current_user
    if user is None:
        return jsonify(error="Unauthorized", message="send 'Authorization: Bearer <token>' or log in"), 401
    if not has_permission(user.role_name, perm):
        return jsonify(error="Forbidden", message=f"role {user.role_name!r} lacks the permission {perm.value}"), 403
    return None


def requires(perm: Perm):
    def decorator(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            denied = authenticate_request(perm)
            if denied is not None:
                return denied
            return view(*args, **kwargs)

        checked.required_permission = perm
        return checked

    return decorator


def install_guards(bp: Blueprint) -> None:
    """Refuse any endpoint that does not declare its permission, and map errors to JSON."""

    @bp.before_request
    def _must_declare_permission():
        view = current_app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "required_permission", None) is None:
            return jsonify(error="Forbidden", message="endpoint declares no permission"), 403
        return None

    @bp.before_request
    def _csrf_for_cookie_sessions():
        """A state-changing request authenticated by the session cookie must carry the CSRF token
        (X-CSRFToken, as Dash's renderer sends it): a browser attaches the cookie to a cross-site
        form post too. A bearer token is never sent by a browser on its own, so it needs none."""
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if request.method in STATE_CHANGING and not bearer and current_user.is_authenticated:
            csrf.protect()  # raises CSRFError (400), answered as JSON below
        return None

    @bp.errorhandler(ServiceError)
    def _service_error(err: ServiceError):
        return jsonify(err.to_dict()), err.http_status

    @bp.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        return jsonify(error=err.name, message=err.description), err.code
