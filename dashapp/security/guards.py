"""Server-side guards. Every request is classified here, before any view or callback runs:

* not found: a path that only looks like a public or self-guarded one (`/loginx`, `/login/../x`,
  `/api/nope`) and would otherwise reach Dash's catch-all page route: 404 for everyone, before
  authentication, so neither the app shell nor a redirect answers it;
* public: the login page, health probes and static assets (exact paths, or whole path segments);
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
from dash.exceptions import DependencyException
from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from dashapp.security import callback_requests
from dashapp.security.permissions import Perm, has_permission

# Exact paths, and folders matched by whole segment: `/loginx` is not `/login` (a prefix match let
# it through unauthenticated to the app shell).
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/readyz", "/favicon.ico", "/_favicon.ico"})
PUBLIC_FOLDERS = ("/assets/", "/_dash-component-suites/")
# Paths that authenticate on their own (bearer token or session) inside the view.
SELF_GUARDED_PATHS = frozenset({"/metrics"})
SELF_GUARDED_FOLDERS = ("/api/",)
# First path segments that belong to the server, not to a page: a path starting with one of these
# that reaches Dash's catch-all route is a typo or a probe, and gets a plain 404.
RESERVED_STEMS = ("login", "logout", "healthz", "readyz", "metrics", "api", "assets", "events", "favicon",
                  "_favicon", "_dash-", "_reload-hash")
CATCH_ALL_RULE = "/<path:path>"
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


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_FOLDERS)


def is_self_guarded(path: str) -> bool:
    return path in SELF_GUARDED_PATHS or path.startswith(SELF_GUARDED_FOLDERS)


def _reaches_catch_all() -> bool:
    """True when no real route serves this path, only Dash's index-for-any-path route (for any
    method: a POST to an unknown API path must be a 404 too, not a 405)."""
    if request.url_rule is not None:
        return request.url_rule.rule == CATCH_ALL_RULE
    adapter = current_app.url_map.bind("localhost")
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            rule, _ = adapter.match(request.path, method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.rule != CATCH_ALL_RULE:
            return False  # a real route, only not for this method: a 405 is the right answer
    return True


def not_found_for_reserved_path():
    """The 404 for a path under a server prefix that no route serves (None for any other path)."""
    first_segment = request.path.lstrip("/").split("/", 1)[0].lower()
    if not first_segment.startswith(RESERVED_STEMS) or not _reaches_catch_all():
        return None
    return jsonify(error="Not Found", message=f"no such path: {request.path[:200]}"), 404


def install(server, dash_app: dash.Dash) -> None:
    """Register the request guard on the Flask server, and contain what crafted callback bodies do."""
    callback_requests.contain_dispatch_errors(server)

    @server.errorhandler(DependencyException)
    def _missing_bundle(_err):
        # Dash raises this for an unknown /_dash-component-suites/ file (a 500 listing every
        # registered library otherwise).
        return jsonify(error="Not Found", message="no such component file"), 404

    @server.before_request
    def _guard():
        path = request.path
        if (missing := not_found_for_reserved_path()) is not None:
            return missing
        if is_public(path) or is_self_guarded(path):
            return None
        if not current_user.is_authenticated:
            if path.startswith(("/_dash-", "/events/")):
                return jsonify(error="Unauthorized", message="log in first"), 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if path.endswith("/_dash-update-component") and request.method == "POST":
            return _callback_refusal(dash_app)
        return None


def _callback_refusal(dash_app: dash.Dash):
    """The 4xx for a callback POST that is malformed or names a callback the role may not call."""
    body = request.get_json(silent=True)
    output_key = callback_requests.named_output(body)
    if isinstance(output_key, callback_requests.Refused):
        return _refused(output_key)
    perm = callback_permission(dash_app, output_key)
    if perm is None:
        current_app.logger.warning("refused unknown or unguarded callback %.200r", output_key)
        return jsonify(error="Forbidden", message="unknown callback"), 403
    if perm != AUTHENTICATED_ONLY and not has_permission(current_user.role_name, perm):
        return jsonify(error="Forbidden", message=f"your role lacks the permission {Perm(perm).value}"), 403
    problem = callback_requests.body_problem(body, dash_app.callback_map[output_key])
    return None if problem is None else _refused(problem)


def _refused(problem):
    current_app.logger.warning("refused callback body: %s", problem.message)
    return jsonify(error="Bad Request", message=problem.message), problem.status
