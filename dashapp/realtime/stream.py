"""Server-sent events: `/events/stream` pushes bus events to a logged-in browser page.

The browser's EventSource reconnects by itself; while it is down the pages keep polling, so the
stream only makes them faster, never the only source of truth. Each open stream holds one Gunicorn
thread (gthread), which suits tens to low hundreds of desk users per web process."""
from __future__ import annotations

import json
import time

from flask import Blueprint, Response, abort, current_app, stream_with_context
from flask_login import current_user

from dashapp.realtime.bus import subscribe
from dashapp.security.permissions import Perm, has_permission

bp = Blueprint("realtime", __name__)
KEEPALIVE_SECONDS = 5.0  # also how soon a closed page's stream notices and frees its thread
MAX_STREAM_SECONDS = 3600.0  # browsers reconnect; recycling bounds a thread's life


@bp.get("/events/stream")
def stream():
    if not current_user.is_authenticated:
        abort(401)
    if not has_permission(current_user.role_name, Perm.VIEW_COMMAND_CENTER):
        abort(403)
    app = current_app._get_current_object()

    def generate():
        with app.app_context():
            subscription = subscribe()
        try:
            yield "retry: 2000\nevent: hello\ndata: {}\n\n"
            started = last_sent = time.monotonic()
            while time.monotonic() - started < MAX_STREAM_SECONDS:
                message = subscription.get(timeout=1.0)
                if message is not None:
                    yield f"event: cockpit\ndata: {json.dumps(message, default=str)}\n\n"
                    last_sent = time.monotonic()
                elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
        finally:
            subscription.close()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
