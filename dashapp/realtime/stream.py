"""Server-sent events: `/events/stream` pushes bus events to a logged-in browser.

The browser opens one stream for all topics, shared by its tabs (dashapp/assets/cockpit.js); the
EventSource reconnects by itself, and while it is down or refused the pages keep polling, so the
stream only makes them faster, never the only source of truth.

An open stream holds one Gunicorn thread (gthread) for its life, so streams are capped (D37): per
user (`COCKPIT_STREAMS_PER_USER`, 429) and per process (`COCKPIT_STREAMS_PER_PROCESS`, default a
quarter of the threads, 503), both with Retry-After. The rest of the threads stay for pages,
control actions and probes (dashapp/security/capacity.py).
"""
from __future__ import annotations

import json
import threading
import time

from flask import Blueprint, Response, abort, stream_with_context
from flask_login import current_user

from dashapp.extensions import db
from dashapp.realtime.bus import subscribe
from dashapp.security import capacity
from dashapp.security.permissions import Perm, has_permission

bp = Blueprint("realtime", __name__)
KEEPALIVE_SECONDS = 5.0  # also how soon a closed page's stream notices and frees its thread
MAX_STREAM_SECONDS = 3600.0  # browsers reconnect; recycling bounds a thread's life


def _once(fn):
    """Call `fn` the first time only: the WSGI server's close() and the generator's end both release."""
    lock, done = threading.Lock(), [False]

    def run():
        with lock:
            if done[0]:
                return
            done[0] = True
        fn()

    return run


@bp.get("/events/stream")
def stream():
    if not current_user.is_authenticated:
        abort(401)
    if not has_permission(current_user.role_name, Perm.VIEW_COMMAND_CENTER):
        abort(403)
    # The user is loaded; give the session's connection back to the pool for the stream's whole life.
    db.session.remove()
    slots = capacity.of().streams
    user = str(current_user.get_id())
    refusal = slots.try_open(user)
    if refusal == "user":
        return capacity.busy_response(f"you already have {slots.per_user} live streams open; this page polls "
                                      "instead", capacity.STREAM_RETRY_AFTER, status=429)
    if refusal is not None:
        return capacity.busy_response("every live-stream slot of this web process is taken; this page polls "
                                      "instead", capacity.STREAM_RETRY_AFTER)
    try:
        subscription = subscribe()
    except Exception:
        slots.release(user)
        raise

    def _close():
        subscription.close()
        slots.release(user)

    release = _once(_close)

    def generate():
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
            release()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    # A response that is never iterated (the client left first) is still closed by the server.
    response.call_on_close(release)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response

