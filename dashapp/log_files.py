"""Every process's JSON log lines, also written to `<instance>/logs/<process>.jsonl` for the
Operations console's log search (dashapp/services/ops/logs.py).

- One line per record with the fields the search filters on: time (ISO 8601 UTC, sortable as text),
  level, process, logger, message, request_id, user, job_id, order_id, then the record's extras.
- Context, set where it is known and read when a line is written: the request id and the signed-in
  user in web requests (observability), the job id inside a job handler (`log_context(job_id=...)`
  in workers/tasks.py), the order's client id where the ingest code writes about an order
  (`extra={"order_id": ...}` or `log_context`).
- Non-blocking: the caller's thread only puts the record on a bounded queue (a full queue drops the
  line and counts it); one listener thread per process writes the file. The file handler is
  concurrent-log-handler's rotating handler: the Celery worker's pool children and the web process's
  threads share a file, and it rotates under a lock file (size-bounded, a few backups).
- Secrets never reach a line: values of keys that name a password, token, secret or authorization
  are replaced, and bearer tokens / API token secrets / `password=...` inside messages are masked.
"""
from __future__ import annotations

import atexit
import contextlib
import contextvars
import logging
import os
import queue
import re
import sys
import threading
from datetime import datetime, timezone
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path

from pythonjsonlogger.core import RESERVED_ATTRS, merge_record_extra
from pythonjsonlogger.json import JsonFormatter

MAX_BYTES = 10 * 1024 * 1024  # per file before it rotates
BACKUPS = 4  # <process>.jsonl.1 .. .4: at most 50 MB of lines per process
QUEUE_SIZE = 10_000  # records waiting for the writer thread; more are dropped (and counted)
PROCESS_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CONTEXT_FIELDS = ("request_id", "user", "job_id", "order_id")
_context: dict[str, contextvars.ContextVar] = {
    name: contextvars.ContextVar(f"cockpit_log_{name}", default=None) for name in ("user", "job_id", "order_id")}
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|authorization|api[_-]?key|cookie", re.IGNORECASE)
_SECRET_TEXT = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    (re.compile(r"\btdc_[A-Za-z0-9_-]{8,}"), "tdc_[redacted]"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"),
     r"\1\2[redacted]"),
]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours (werkzeug's dev server) are not text


def redact_text(text: str) -> str:
    text = _ANSI.sub("", text)
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def redact(value, key: str = ""):
    """`value` with secrets masked: whole values under a secret-looking key, patterns in text."""
    if key and _SECRET_KEY.search(key) and value not in (None, "", "-"):
        return "[redacted]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def process_name() -> str:
    """The name this process's file takes: $COCKPIT_PROCESS_NAME, else supervisord's program name
    (`dashapp up`), else guessed from the command line (web, worker, beat, engine, ...), else "app"."""
    for name in (os.environ.get("COCKPIT_PROCESS_NAME"), os.environ.get("SUPERVISOR_PROCESS_NAME")):
        if name and PROCESS_NAME.match(name.lower()):
            return name.lower()
    words = [word.rsplit("/", 2)[-2] if word.endswith("__main__.py") else word.rsplit("/", 1)[-1]
             for word in sys.argv[:8]]  # `python -m celery` shows as .../celery/__main__.py
    if "gunicorn" in words:
        return "web"
    if "celery" in words:
        return "beat" if "beat" in words else "worker"
    for pair, name in ((("engine", "supervise"), "engine-supervisor"), (("engine", "run"), "engine"),
                       (("alerts", "run"), "alerter")):
        if any(words[i:i + 2] == list(pair) for i in range(len(words) - 1)):
            return name
    return "app"


@contextlib.contextmanager
def log_context(**values):
    """Lines written inside the block carry these context fields (user, job_id, order_id)."""
    tokens = [(_context[name], _context[name].set(None if value is None else str(value)[:128]))
              for name, value in values.items() if name in _context]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def _web_user() -> str | None:
    """The signed-in user of the current request, if flask-login has loaded it (never a query here)."""
    try:
        from flask import g, has_request_context

        if not has_request_context():
            return None
        user = g.get("_login_user") or g.get("api_user")  # a session, or an API token's user
        return getattr(user, "username", None) if user is not None and user.is_authenticated else None
    except Exception:  # logging must never fail a request
        return None


def _request_id() -> str | None:
    try:
        from flask import g, has_app_context

        return g.get("request_id") if has_app_context() else None
    except Exception:
        return None


class ContextFilter(logging.Filter):
    """Stamps the context fields on a record in the thread that logs it (before the queue)."""

    def filter(self, record):
        for name, var in _context.items():
            if getattr(record, name, None) in (None, ""):
                setattr(record, name, var.get())
        if record.user is None:
            record.user = _web_user()
        if getattr(record, "request_id", None) in (None, "", "-"):
            record.request_id = _request_id()
        return True


class LineFormatter(JsonFormatter):
    """time, level, process, logger, message, the context fields, then the record's extras."""

    def __init__(self, process: str):
        super().__init__()
        self.process = process
        self._skip = set(RESERVED_ATTRS) | set(CONTEXT_FIELDS) | {"message", "asctime"}

    def add_fields(self, log_data, record, message_dict):
        log_data["time"] = datetime.fromtimestamp(record.created, tz=timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        log_data["level"] = record.levelname
        log_data["process"] = self.process
        log_data["logger"] = record.name
        log_data["message"] = record.message
        for name in CONTEXT_FIELDS:
            log_data[name] = getattr(record, name, None)
        log_data["pid"] = record.process
        merge_record_extra(record, log_data, reserved=self._skip)
        log_data.update(message_dict)

    def process_log_record(self, log_data):
        return {key: redact(value, key if key not in ("message",) else "") for key, value in log_data.items()}


class _DroppingQueueHandler(QueueHandler):
    dropped = 0

    def enqueue(self, record):
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            type(self).dropped += 1  # a slow disk costs lines, never a request's time



_state: dict = {}
_lock = threading.Lock()


def logs_dir(instance_dir: Path | str) -> Path:
    return Path(instance_dir) / "logs"


def _file_handler(path: Path, process: str) -> logging.Handler:
    from concurrent_log_handler import ConcurrentRotatingFileHandler

    handler = ConcurrentRotatingFileHandler(str(path), maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(LineFormatter(process))
    return handler


def _start(path: Path, process: str) -> QueueHandler:
    records: queue.Queue = queue.Queue(QUEUE_SIZE)
    listener = QueueListener(records, _file_handler(path, process), respect_handler_level=False)
    listener.start()
    handler = _DroppingQueueHandler(records)
    handler.addFilter(ContextFilter())
    _state.update(path=path, process=process, listener=listener, handler=handler)
    return handler


def file_handler(instance_dir: Path | str, process: str | None = None) -> logging.Handler | None:
    """The queue handler that feeds `<instance>/logs/<process>.jsonl` (one writer thread per process;
    called again with another instance directory, e.g. in tests, it moves to that file)."""
    process = process or process_name()
    path = logs_dir(instance_dir) / f"{process}.jsonl"
    with _lock:
        if _state.get("path") == path and _state.get("pid") == os.getpid():
            return _state["handler"]
        stop()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = _start(path, process)
        except OSError as exc:  # an unwritable instance dir costs the file, not the process
            logging.getLogger("cockpit.logs").warning("log file %s unavailable: %s", path, exc)
            return None
        _state["pid"] = os.getpid()
        return handler


def stop() -> None:
    """Flush and stop the writer thread (at exit, or before moving to another file)."""
    listener = _state.pop("listener", None)
    if listener is not None and _state.get("pid") == os.getpid():
        with contextlib.suppress(Exception):
            listener.stop()
        for handler in listener.handlers:
            with contextlib.suppress(Exception):
                handler.close()
    _state.clear()


def flush() -> None:
    """Wait until every queued line is on disk (tests and the CLI)."""
    listener = _state.get("listener")
    if listener is not None and _state.get("pid") == os.getpid():
        listener.queue.join()


def _after_fork_in_child() -> None:
    """A forked child (Celery's pool) has the queue but not the writer thread: start its own."""
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    path, process = _state.get("path"), _state.get("process")
    _state.clear()
    if path is None:
        return
    handler = file_handler(path.parent.parent, process)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _DroppingQueueHandler)] + \
        ([handler] if handler is not None else [])


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(stop)
