"""Server-side guards. Every request is classified here, before any view or callback runs:

* public: the login page, health probes and static assets;
* REST (`/api/`): the API blueprint authenticates its own bearer tokens (see dashapp.api.auth);
* Dash callbacks (`/_dash-update-component`): the callback named in the body must carry a
  permission (set by `guarded_callback`) that the user's role holds; unknown callbacks are refused;
* everything else: a logged-in session, or a redirect to /login (401 for Dash's own endpoints).

`guarded_callback` also checks inside the callback, so a callback is safe even when called some
other way. Page layouts are wrapped by `dashapp.pages` with the page's permission.
"""
from __future__ import annotations

import functools

import dash
from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user

from dashapp.security.permissions import Perm, has_permission

PUBLIC_PREFIXES = ("/login", "/healthz", "/readyz", "/assets/", "/_dash-component-suites/", "/favicon.ico",
                   "/_favicon.ico")
# Paths that authenticate on their own (bearer token or session) inside the view.
SELF_GUARDED_PREFIXES = ("/api/", "/metrics")
# Callbacks that Dash itself registers: the Pages router only calls our page layout functions,
# each of which is wrapped with its own permission check, so any logged-in user may call it.
AUTHENTICATED_ONLY = "authenticated"
PERMISSION_ATTR = "__cockpit_permission__"


def current_role() -> str | None:
    if getattr(g, "api_user", None) is not None:
        return g.api_user.role_name
    if current_user and current_user.is_authenticated:
        return current_user.role_name
    return None


def current_username() -> str:
    if getattr(g, "api_user", None) is not None:
        return g.api_user.username
    if current_user and current_user.is_authenticated:
        return current_user.username
    return "anonymous"


def allowed(perm: Perm) -> bool:
    return has_permission(current_role(), perm)


def require(perm: Perm) -> None:
    """Abort 403 unless the current user holds `perm` (401 when nobody is logged in)."""
    if current_role() is None:
        abort(401)
    if not has_permission(current_role(), perm):
        abort(403, description=f"your role lacks the permission {perm.value}")


def guarded_callback(perm: Perm | str, *args, **kwargs):
    """`dash.callback` that demands `perm` on the server, both at the edge and inside the call."""

    def decorator(func):
        @functools.wraps(func)
        def checked(*a, **k):
            if perm != AUTHENTICATED_ONLY:
                require(Perm(perm))
            elif current_role() is None:
                abort(401)
            return func(*a, **k)

        setattr(checked, PERMISSION_ATTR, perm)
        dash.callback(*args, **kwargs)(checked)
        return func

    return decorator


def callback_permission(dash_app: dash.Dash, output_key: str):
    """The permission a registered callback demands, or None when it has none (then it is refused)."""
    entry = dash_app.callback_map.get(output_key)
    if entry is None:
        return None
    func = entry.get("callback")
    perm = getattr(func, PERMISSION_ATTR, None)
    if perm is None and output_key.startswith("..") and "_pages_content.children" in output_key:
        return AUTHENTICATED_ONLY  # Dash Pages' router
    return perm


def install(server, dash_app: dash.Dash) -> None:
    """Register the request guard on the Flask server."""

    @server.before_request
    def _guard():
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path.startswith(SELF_GUARDED_PREFIXES):
            return None
        if not current_user.is_authenticated:
            if path.startswith(("/_dash-", "/events/")):
                return jsonify(error="Unauthorized", message="log in first"), 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if path.endswith("/_dash-update-component") and request.method == "POST":
            body = request.get_json(silent=True) or {}
            output_key = body.get("output", "")
            perm = callback_permission(dash_app, output_key)
            if perm is None:
                current_app.logger.warning("refused unknown or unguarded callback %r", output_key)
                return jsonify(error="Forbidden", message="unknown callback"), 403
            if perm != AUTHENTICATED_ONLY and not has_permission(current_user.role_name, perm):
                return jsonify(error="Forbidden", message=f"your role lacks the permission {Perm(perm).value}"), 403
        return None
