"""The web process's part of the Operations console:

- every request's outcome is tallied for the SLOs (services/ops/slo.py) in memory, per minute;
- a heartbeat thread (started by wsgi.py in the served process) stamps this process's row every
  couple of seconds with what only it knows (open push streams, the latency of its busiest endpoints
  from its Prometheus histogram, its database pool), and writes the SLO tally in one batch;
- the /metrics collector (dashapp/services/ops/prometheus.py) is registered once per process.
"""
from __future__ import annotations

import logging
import os
import sys
import time

from flask import Flask, g, request

log = logging.getLogger("cockpit.ops.web")
REQUEST_CLASS_KEY = "cockpit.request_class"  # set by security/capacity.py's admission hook
LATENCY_ROWS = 10
_started: dict[int, object] = {}


def install(server: Flask) -> None:
    from dashapp.security.capacity import request_class
    from dashapp.services.ops import prometheus
    from dashapp.services.ops.slo import RECORDER, classify

    prometheus.register(server)

    @server.after_request
    def _slo_outcome(response):
        try:
            kind = request.environ.get(REQUEST_CLASS_KEY) or request_class(request.path, request.method)
            elapsed = time.perf_counter() - g.get("started", time.perf_counter())
            RECORDER.add(classify(request.path, kind, response.status_code, elapsed))
        except Exception:  # a tally must never change an answer
            log.debug("slo outcome not recorded", exc_info=True)
        return response


def latency_summary(limit: int = LATENCY_ROWS) -> list[dict]:
    """p50/p95 (ms, from the histogram's buckets: the upper bound of the bucket holding the quantile)
    and count of this process's busiest endpoints since it started."""
    from dashapp.observability import LATENCY

    by_key: dict[tuple[str, str], dict] = {}
    for metric in LATENCY.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_bucket"):
                continue
            key = (sample.labels.get("method", ""), sample.labels.get("endpoint", ""))
            bound = sample.labels.get("le")
            by_key.setdefault(key, {})[float("inf") if bound == "+Inf" else float(bound)] = sample.value
    rows = []
    for (method, endpoint), buckets in by_key.items():
        bounds = sorted(buckets)
        count = buckets[bounds[-1]] if bounds else 0
        if not count or endpoint in ("/healthz", "unmatched") or endpoint.startswith(("/assets", "/_dash-component")):
            continue

        def quantile(q: float) -> float | None:
            for b in bounds:
                if buckets[b] >= q * count:
                    return None if b == float("inf") else b * 1000
            return None

        rows.append({"method": method, "endpoint": endpoint[:80], "count": int(count),
                     "p50_ms": quantile(0.5), "p95_ms": quantile(0.95)})
    rows.sort(key=lambda r: -r["count"])
    return rows[:limit]


def _instance_name() -> str:
    """host:port of this web process (gunicorn's --bind, else $PORT)."""
    from dashapp.services.ops.heartbeats import host

    port = os.environ.get("PORT", "8050")
    argv = sys.argv
    for i, arg in enumerate(argv):
        if arg == "--bind" and i + 1 < len(argv):
            port = argv[i + 1].rsplit(":", 1)[-1]
        elif arg.startswith("--bind="):
            port = arg.rsplit(":", 1)[-1]
    return f"{host()}:{port}"


def start_heartbeat(server: Flask):
    """Start this process's heartbeat thread (once per app); returns it."""
    from dashapp.security import capacity
    from dashapp.services.ops.dbstats import pool_stats
    from dashapp.services.ops.heartbeats import HeartbeatThread, timing
    from dashapp.services.ops.slo import RECORDER

    if id(server) in _started:
        return _started[id(server)]
    settings = server.config["COCKPIT_SETTINGS"]

    def detail() -> dict:
        streams = capacity.of(server).streams
        return {"push_connections": streams.open, "push_refused": dict(streams.refused), "latency": latency_summary(),
                "db_pool": pool_stats(), "threads": settings.web_threads}

    thread = HeartbeatThread(server, "web", _instance_name(), timing(settings).interval, detail,
                             on_beat=RECORDER.flush).start()
    _started[id(server)] = thread
    import atexit

    atexit.register(thread.stop)
    return thread
