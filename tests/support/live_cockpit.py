"""The cockpit's Flask server on a real loopback port (a thread of the test process), for tests that
run an engine as a real process against it. A WSGI wrapper can make ingest answer 503 (an outage
the test switches on and off) and records what ingest accepted, in arrival order."""
from __future__ import annotations

import json
import socket
import threading

from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveCockpit:
    def __init__(self, app):
        self.app = app
        self.unavailable = False  # while True, every ingest POST answers 503 + Retry-After: 1
        self.refused_503 = 0
        self.accepted: list[tuple[str, list[dict]]] = []  # (kind, items) of every 2xx ingest, in order
        self.in_flight = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-cockpit", daemon=True)

    def _wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        ingest = environ.get("REQUEST_METHOD") == "POST" and path.startswith("/api/v1/ingest/")
        if ingest and self.unavailable:
            with self._lock:
                self.refused_503 += 1
            start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "1")])
            return [b'{"error": "unavailable", "message": "test outage"}']
        body = b""
        if ingest:  # read it here to record it, then hand the same bytes to the app
            import io

            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size)
            environ["wsgi.input"] = io.BytesIO(body)
        status_seen = {}

        def start(status, headers, exc_info=None):
            status_seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        with self._lock:
            self.in_flight += 1
        try:
            result = list(self.app(environ, start))
        finally:
            with self._lock:
                self.in_flight -= 1
        if ingest and status_seen.get("status", 500) < 300:
            with self._lock:
                self.accepted.append((path.rsplit("/", 1)[-1], json.loads(body)["items"]))
        return result

    def __enter__(self) -> "LiveCockpit":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
