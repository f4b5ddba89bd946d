"""Real local receivers for alert notifications: an HTTP server (http.server on a free port, in a
thread) that records every POST and answers per path as told, and an SMTP server (aiosmtpd); plus
`Breach`, which writes AlertInstance/AlertEvent rows for one label set exactly as the contract says
evaluation does (through the pure state machine, services/alerts/state.py)."""
from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dashapp.services.alerts import state
from dashapp.services.unit_of_work import unit_of_work
from models.alerts import AlertEvent, AlertInstance, AlertRule


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """Every POST as (path, headers, parsed JSON). `answers[path]` is a list of status codes used
    one per request (the last one repeats); default 200."""

    def __init__(self):
        self.requests: list[tuple[str, dict, dict]] = []
        self.answers: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers), json.loads(body or b"{}")))
                    codes = receiver.answers.get(self.path) or [200]
                    code = codes.pop(0) if len(codes) > 1 else codes[0]
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "ok"}' if code < 300 else b'{"error": "receiver says no"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str) -> list[dict]:
        with self.lock:
            return [body for p, _, body in self.requests if p == path]


@contextlib.contextmanager
def http_receiver():
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


class Mailbox:
    def __init__(self, port: int):
        self.port = port
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@contextlib.contextmanager
def smtp_server():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


class Breach:
    """One rule and one label set whose condition a test turns true or false at explicit instants."""

    def __init__(self, name: str, labels: dict, severity: str = "critical", pending_seconds: int = 0):
        with unit_of_work() as session:
            self.rule = AlertRule(name=name, kind="threshold", spec={"metric": "test", "op": ">", "threshold": 1},
                                  labels={}, severity=severity, pending_seconds=pending_seconds,
                                  keep_firing_seconds=0, enabled=True, updated_by="test")
            session.add(self.rule)
            session.flush()
            self.labels = {"alertname": name, "severity": severity, **labels}
            self.instance = AlertInstance(rule_id=self.rule.id, fingerprint=state.fingerprint(self.labels),
                                          labels=self.labels, severity=severity, state="normal", episode=0)
            session.add(self.instance)

    def observe(self, condition: bool, now: datetime, value: float = 1.04, summary: str = "") -> str:
        """One evaluation at `now`; returns the new state."""
        with unit_of_work() as session:
            row = session.get(AlertInstance, self.instance.id)
            obs = state.Observation(state.TRUE if condition else state.FALSE, value,
                                    summary or f"{self.rule.name} at {value:g}")
            result = state.step(state.from_row(row), obs, now, self.rule.pending_seconds, 0)
            state.to_row(result.state, row)
            for t in result.transitions:
                session.add(AlertEvent(instance_id=row.id, rule_id=row.rule_id, at=now, kind=t.to_state,
                                       from_state=t.from_state, to_state=t.to_state, episode=t.episode, value=t.value))
            return row.state
