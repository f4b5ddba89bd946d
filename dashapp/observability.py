"""Structured JSON logs with a request id, Prometheus metrics, and the health probes.

/healthz says the process is alive; /readyz checks the database and the broker and names the one
that failed (a short name and status: the driver's text, which can carry hosts and user names, goes
to the log only); /metrics serves Prometheus text to an admin session or a bearer token holding
`ops:metrics`. Metrics live in this process: Gunicorn runs one worker process with threads.
"""
from __future__ import annotations

import logging
import sys
import time
import uuid

import sqlalchemy as sa
from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter

from dashapp.extensions import db

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("cockpit_http_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram("cockpit_http_request_seconds", "HTTP request latency", ["method", "endpoint"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


def _log_stream():
    """sys.stderr, except in a Celery pool child: there it is Celery's logging proxy, which drops
    a record written from inside logging (every app log line of a job was lost)."""
    from celery.utils.log import LoggingProxy

    return sys.__stderr__ if isinstance(sys.stderr, LoggingProxy) else sys.stderr


def configure_logging(level: str = "INFO", instance_dir=None) -> None:
    """JSON lines on stderr, and (given the instance directory) in <instance>/logs/<process>.jsonl
    through a non-blocking writer thread, for the Operations console's log search (log_files)."""
    from dashapp import log_files

    handler = logging.StreamHandler(_log_stream())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"asctime": "ts", "levelname": "level"}))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    to_file = log_files.file_handler(instance_dir) if instance_dir is not None else None
    root.handlers[:] = [handler] + ([to_file] if to_file is not None else [])
    root.setLevel(level)


class _JobsCollector:
    """Jobs by state, read from the store at scrape time (so every process reports the truth)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from models import Job

        gauge = GaugeMetricFamily("cockpit_jobs", "Jobs by state", labels=["state"])
        try:
            with self.app.app_context():
                rows = db.session.execute(sa.select(Job.state, sa.func.count()).group_by(Job.state)).all()
        except Exception:  # a scrape must not fail because the store is down; /readyz reports that
            rows = []
        for state, count in rows:
            gauge.add_metric([state], count)
        yield gauge


def check_database() -> str | None:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:  # report, do not raise: this is a probe
        db.session.rollback()
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def readiness(settings) -> tuple[dict, list[str]]:
    """The probe's public answer and the names of the failed dependencies. Details are logged."""
    checks = {"database": check_database(), "broker": check_broker(settings)}
    failed = [name for name, problem in checks.items() if problem is not None]
    for name in failed:
        logging.getLogger("cockpit.readyz").error("readiness: %s unavailable: %s", name, checks[name])
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "broker_kind": settings.broker_kind}
    body.update({name: ("unavailable" if problem else "ok") for name, problem in checks.items()})
    return body, failed


def check_broker(settings) -> str | None:
    from workers.celery_app import broker_problem

    return broker_problem(settings)


def install(server: Flask) -> None:
    configure_logging(server.config["COCKPIT_SETTINGS"].log_level, server.config["COCKPIT_SETTINGS"].instance_dir)
    access_log = logging.getLogger("cockpit.access")
    collector = _JobsCollector(server)
    try:
        REGISTRY.register(collector)
    except ValueError:
        pass  # another app in this process registered it already (tests)
    from dashapp import ops_web

    ops_web.install(server)  # SLO outcomes per request, the Operations collector for /metrics

    @server.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        g.started = time.perf_counter()

    @server.after_request
    def _finish(response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(request.method, endpoint).observe(elapsed)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path not in ("/healthz",):
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"method": request.method, "path": request.path,
                                   "status": response.status_code, "ms": round(elapsed * 1000, 2)})
        return response

    @server.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @server.get("/readyz")
    def readyz():
        body, failed = readiness(server.config["COCKPIT_SETTINGS"])
        return jsonify(body), (503 if failed else 200)

    @server.get("/metrics")
    def metrics():
        from dashapp.api.auth import authenticate_request
        from dashapp.security.permissions import Perm

        denied = authenticate_request(Perm.OPS_METRICS)
        if denied is not None:
            return denied
        return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
