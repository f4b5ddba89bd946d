"""Admission control: page traffic and live streams never take the threads that control actions,
probes and ingest need (D37).

Gunicorn's gthread worker serves every request from one pool of `WEB_THREADS` threads, first come,
first served. Without limits, fifty sessions' callbacks or one user's 34 live streams filled the
pool, and `/healthz`, the engine's ingest and a kill-switch click queued behind them. So every
request is sorted into a class before anything else runs (before authentication, which reads the
database):

* control: engine start/stop/status, kill switch and ingest under /api/v1, and the Dash callbacks
  guarded by a control permission (the kill-switch / engine buttons): never refused here;
* probe: /healthz, /readyz, /metrics: never refused;
* static: /assets/ and Dash's bundles: never refused (files; a refused script breaks a page for good);
* stream: /events/stream: its own caps, per user and per process, taken by the stream view;
* page: everything else (callbacks, page loads, Dash's layout, sign-in, other API reads): at most
  `page_slots` at once. One more is answered 503 + Retry-After at once, never queued.

`page_slots = threads - stream slots - reserve`, so `reserve` threads stay free for control and
probes even when every page and stream slot is taken. The counters are per process, like the
thread pool they protect; N web processes behind a balancer admit N times as much (D37).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app, jsonify, make_response, request

from dashapp.security.permissions import Perm

EXTENSION = "cockpit_capacity"
CONTROL_PREFIXES = ("/api/v1/ingest/", "/api/v1/engines/", "/api/v1/kill-switch/")
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
STATIC_PATHS = frozenset({"/favicon.ico", "/_favicon.ico"})
STREAM_PATH = "/events/stream"
CALLBACK_PATH = "/_dash-update-component"
# A callback guarded by one of these acts on the desk (the Command Center's control buttons).
CONTROL_PERMS = frozenset({Perm.ENGINE_CONTROL, Perm.KILL_SWITCH_ACTIVATE, Perm.KILL_SWITCH_REQUEST_RESET,
                           Perm.KILL_SWITCH_APPROVE_RESET, Perm.TRADING_MODE_SET})
PAGE_RETRY_AFTER = 1  # seconds: a page request is short, the next try usually fits
STREAM_RETRY_AFTER = 30  # seconds: the page polls meanwhile, a stream is only an accelerator
_SLOT_KEY = "cockpit.page_slot"


@dataclass(frozen=True)
class Limits:
    threads: int
    page_slots: int
    streams_per_process: int
    streams_per_user: int
    reserve: int

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        threads = max(1, settings.web_threads)
        streams = settings.streams_per_process or max(1, threads // 4)
        reserve = max(1, settings.web_reserve_threads)
        return cls(threads=threads, page_slots=max(1, threads - streams - reserve), streams_per_process=streams,
                   streams_per_user=max(1, settings.streams_per_user), reserve=reserve)


class Gate:
    """A counter that admits up to `size` holders and refuses the next one at once (never waits)."""

    def __init__(self, size: int):
        self.size = size
        self.in_use = 0
        self.refused = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self.in_use >= self.size:
                self.refused += 1
                return False
            self.in_use += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_use = max(0, self.in_use - 1)


class StreamSlots:
    """Open live streams of this process, in total and per user."""

    def __init__(self, per_process: int, per_user: int):
        self.per_process, self.per_user = per_process, per_user
        self.by_user: dict[str, int] = {}
        self.refused = {"user": 0, "process": 0}
        self.admitted = 0  # streams opened since start
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        with self._lock:
            return sum(self.by_user.values())

    def try_open(self, user: str) -> str | None:
        """None when admitted; otherwise which cap refused it: "user" or "process"."""
        with self._lock:
            if self.by_user.get(user, 0) >= self.per_user:
                self.refused["user"] += 1
                return "user"
            if sum(self.by_user.values()) >= self.per_process:
                self.refused["process"] += 1
                return "process"
            self.by_user[user] = self.by_user.get(user, 0) + 1
            self.admitted += 1
            return None

    def release(self, user: str) -> None:
        with self._lock:
            left = self.by_user.get(user, 0) - 1
            if left > 0:
                self.by_user[user] = left
            else:
                self.by_user.pop(user, None)


class Capacity:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.pages = Gate(limits.page_slots)
        self.streams = StreamSlots(limits.streams_per_process, limits.streams_per_user)
        self.dash_app = None  # set by attach_dash: needed to tell a control callback from a page one


def of(app: Flask | None = None) -> Capacity:
    return (app or current_app).extensions[EXTENSION]


def request_class(path: str, method: str) -> str:
    """control, probe, static, stream or page (a callback POST is refined by `_callback_class`)."""
    if path in PROBE_PATHS:
        return "probe"
    if path.startswith(CONTROL_PREFIXES):
        return "control"
    if path.startswith(STATIC_PREFIXES) or path in STATIC_PATHS:
        return "static"
    if path == STREAM_PATH:
        return "stream"
    return "page"


def _callback_class(capacity: Capacity) -> str:
    """control when the callback named in the body is guarded by a control permission, else page."""
    from dashapp.security import callback_requests
    from dashapp.security.guards import callback_permission

    if capacity.dash_app is None:
        return "page"
    output_key = callback_requests.named_output(request.get_json(silent=True))
    if isinstance(output_key, callback_requests.Refused):
        return "page"  # malformed: the guard refuses it, and it waits its turn like any page request
    return "control" if callback_permission(capacity.dash_app, output_key) in CONTROL_PERMS else "page"


def busy_response(what: str, retry_after: int, status: int = 503):
    """503 (or 429) with Retry-After: JSON for the renderer and API clients, a self-refreshing page
    for a browser's page load (no script, so it fits the strict CSP)."""
    # A page load or a form post (sign-in) from a browser; the refresh reloads the address with a GET.
    if request.accept_mimetypes.accept_html and not request.path.startswith(("/_dash-", "/api/", "/events/")):
        html = (f'<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="{retry_after}">'
                "<title>Cockpit busy</title></head><body><p>The cockpit is busy; this page retries in "
                f"{retry_after} s.</p></body></html>")
        response = make_response(html, status)
    else:
        response = make_response(jsonify(error="Service Unavailable" if status == 503 else "Too Many Requests",
                                         message=what, retry_after=retry_after), status)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def install(server: Flask) -> Capacity:
    """Bind admission control to the server (after the body limit, before the login guard)."""
    capacity = server.extensions[EXTENSION] = Capacity(Limits.from_settings(server.config["COCKPIT_SETTINGS"]))

    @server.before_request
    def _admit():
        kind = request_class(request.path, request.method)
        if kind == "page" and request.method == "POST" and request.path.endswith(CALLBACK_PATH):
            kind = _callback_class(capacity)
        request.environ["cockpit.request_class"] = kind  # the SLO tally reads it (dashapp/ops_web.py)
        if kind != "page":
            return None
        if not capacity.pages.try_enter():
            return busy_response(f"the cockpit is busy ({capacity.limits.page_slots} page requests running); "
                                 f"retry in {PAGE_RETRY_AFTER} s", PAGE_RETRY_AFTER)
        request.environ[_SLOT_KEY] = True
        return None

    @server.teardown_request
    def _leave(_exc):
        if request.environ.pop(_SLOT_KEY, False):
            capacity.pages.leave()

    return capacity


def attach_dash(server: Flask, dash_app) -> None:
    """Let the gate recognise the Dash callbacks that are control actions."""
    of(server).dash_app = dash_app
