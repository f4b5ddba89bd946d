"""Limits on what a request body may be, for every endpoint (API, Dash callbacks, login, ...).

- Size: `COCKPIT_MAX_BODY_BYTES` (Flask's MAX_CONTENT_LENGTH). A declared Content-Length above it is
  refused before any handler (or CSRF check) reads a byte; a chunked body that grows past it is cut
  off by Werkzeug's limited stream. Either way the answer is 413 with a message: JSON under /api/,
  plain text elsewhere.
- Nesting: a JSON body nested deeper than the parser's stack ("[[[[...") makes `json.loads` raise
  RecursionError, which Flask would answer with a 500. The app's JSON provider turns it into the
  ValueError of any other malformed body, so `request.get_json()` answers 400 (or None when silent).
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge


class BoundedJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON is nested too deeply") from None


def _too_large() -> RequestEntityTooLarge:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return RequestEntityTooLarge(description=f"the request body is larger than {limit} bytes "
                                             "(COCKPIT_MAX_BODY_BYTES); split it into smaller requests")


def install(server: Flask, limit: int) -> None:
    server.config["MAX_CONTENT_LENGTH"] = limit  # read per request: Werkzeug's stream limit uses it too
    server.json = BoundedJSONProvider(server)

    def refuse_declared_oversize():
        if request.content_length is not None and request.content_length > current_app.config["MAX_CONTENT_LENGTH"]:
            raise _too_large()
        return None

    # First of all before-request functions: CSRF checks and the callback guard read the body.
    server.before_request_funcs.setdefault(None, []).insert(0, refuse_declared_oversize)

    @server.errorhandler(RequestEntityTooLarge)
    def _answer(err: RequestEntityTooLarge):
        message = err.description if "COCKPIT_MAX_BODY_BYTES" in (err.description or "") \
            else _too_large().description
        if request.path.startswith("/api/"):
            return jsonify(error="Request Entity Too Large", message=message), 413
        return message, 413, {"Content-Type": "text/plain; charset=utf-8"}
