"""How the browser gets the application's files: compressed, cached, and never behind a page's work.

Why full page loads sometimes hung ~50 s on "plotly.js did not load after 30 seconds" while navbar
navigation never did: Dash loads plotly.js lazily. On a full load the first dcc.Graph appends a
<script> for `_dash-component-suites/plotly/package_data/plotly.min.js` (the renderer builds that
URL WITHOUT Dash's version fingerprint), so the browser could not keep it: every full load asked for
4.6 MB again (a conditional request at best), uncompressed, from the one gthread web process while
the page's dozen first callbacks held its threads. When the script took longer than 30 s, dcc.Graph
gave up and the page sat on the loading screen; a navbar navigation already had `window.Plotly`.

The cure, at that cause:
* plotly.js is a fingerprinted <script> of the index page (`load_plotly_with_the_page`), loaded
  before the renderer starts, so `window.Plotly` exists when the first graph mounts and no graph
  waits for a lazy script (Dash's `eager_loading=True` would do it too, but would also send the
  ag-grid Enterprise and MathJax chunks, ~1.5 MB compressed, that no page uses);
* fingerprinted bundles and `/assets/` files carrying Dash's `?m=<mtime>` are cached for a year
  (`immutable`): a warm load asks the server for none of them;
* responses are compressed (flask-compress; brotli/gzip, 4.6 MB plotly -> ~1.3 MB); a static file
  is compressed once per encoding and kept in memory, never again per request;
* static files bypass admission control (dashapp.security.capacity), so they never queue behind
  page callbacks there.
"""
from __future__ import annotations

import threading

from dash.fingerprint import check_fingerprint
from flask import Flask, request
from flask_compress import Compress

STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
YEAR = 31_536_000
CACHE_LIMIT_BYTES = 64 * 1024 * 1024  # compressed static files kept in memory per process, at most


def _static_key(req) -> str:
    """Cache key for a compressed response: only static files (their URL names their version)."""
    return req.full_path if req.path.startswith(STATIC_PREFIXES) else ""


class StaticCompressionCache:
    """flask-compress's cache, for static files only: page and callback answers change on every
    request, and the empty key (`_static_key`) keeps them out. Bounded; the first files win."""

    def __init__(self):
        self._data: dict[str, bytes] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return None if key.endswith(";") else self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key.endswith(";"):
            return
        with self._lock:
            if key not in self._data and self._size + len(value) <= CACHE_LIMIT_BYTES:
                self._data[key] = value
                self._size += len(value)


def load_plotly_with_the_page() -> None:
    """Make Dash list plotly.js among the page's own scripts instead of loading it on demand. Dash
    registers it as an "eager" async resource of dcc (dash.Dash._setup_plotlyjs), which without
    eager_loading means "fetched by the first graph, by an unversioned URL"."""
    from dash import dcc

    for resource in dcc._js_dist:  # noqa: SLF001 (the only handle Dash gives on this resource)
        if resource.get("namespace") == "plotly":
            resource.pop("async", None)


def install(server: Flask) -> Compress:
    server.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    server.config.setdefault("COMPRESS_BR_LEVEL", 5)
    server.config.setdefault("COMPRESS_LEVEL", 6)
    # Never a streamed response: the live push (/events/stream) must reach the browser event by event.
    server.config["COMPRESS_STREAMS"] = False
    server.config["COMPRESS_CACHE_KEY"] = _static_key
    server.config["COMPRESS_CACHE_BACKEND"] = StaticCompressionCache
    compress = Compress(server)

    @server.after_request
    def _long_cache_for_versioned_files(response):
        versioned = (request.path.startswith("/_dash-component-suites/") and check_fingerprint(request.path)[1]) \
            or (request.path.startswith("/assets/") and "m" in request.args)
        if versioned and response.status_code == 200:
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response

    return compress
