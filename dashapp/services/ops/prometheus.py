"""/metrics for the Operations console: every figure of the health snapshot, the task history and the
SLOs with conventional Prometheus names, collected from the store at scrape time (a custom collector),
so whichever web process is scraped reports the truth about all of them."""
from __future__ import annotations

import logging
import math

from flask import Flask, current_app, has_app_context
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

log = logging.getLogger("cockpit.ops.metrics")
_registered: list = []


def _gauge(name, doc, labels=()):
    return GaugeMetricFamily(name, doc, labels=list(labels))


class OpsCollector:
    def __init__(self, app: Flask):
        self.app = app

    def describe(self):
        return []  # nothing is read at registration; the families are known only at scrape time

    def collect(self):
        if has_app_context():
            yield from self._families()
            return
        with self.app.app_context():
            yield from self._families()

    def _families(self):
        from dashapp.extensions import db
        from dashapp.services.ops import health, slo, task_history

        try:
            snap = health.snapshot()
            statuses = slo.cached_status()
            task_totals = task_history.totals_by_name_state()
        except Exception as exc:  # a scrape never fails because the store is down; /readyz says why
            db.session.rollback()
            log.warning("ops metrics not collected: %s", type(exc).__name__)
            return
        yield from _service_families(snap)
        yield from _infrastructure_families(snap)
        tasks = CounterMetricFamily("cockpit_task_runs", "Celery task runs in the durable history, by name and state",
                                    labels=["name", "state"])
        for name, state, count in task_totals:
            tasks.add_metric([name, state], count)
        yield tasks
        yield from _slo_families(statuses)


def _service_families(snap):
    up = _gauge("cockpit_service_up", "1 when the process heartbeats in time (up or degraded), else 0",
                ("service", "instance"))
    age = _gauge("cockpit_service_heartbeat_age_seconds", "Seconds since the process's last heartbeat",
                 ("service", "instance"))
    uptime = _gauge("cockpit_service_uptime_seconds", "Seconds since the process started", ("service", "instance"))
    for service in snap.services:
        for inst in service.instances:
            labels = [inst.service, inst.instance]
            up.add_metric(labels, 1.0 if inst.state in ("up", "degraded") else 0.0)
            if inst.age_s is not None:
                age.add_metric(labels, inst.age_s)
            if inst.uptime_s is not None:
                uptime.add_metric(labels, inst.uptime_s)
    yield from (up, age, uptime)


def _infrastructure_families(snap):
    database = _gauge("cockpit_database_up", "1 when the database answers")
    database.add_metric([], 1.0 if snap.database["state"] == "up" else 0.0)
    broker = _gauge("cockpit_broker_up", "1 when the broker answers")
    broker.add_metric([], 1.0 if snap.broker["state"] == "up" else 0.0)
    depth = _gauge("cockpit_queue_depth", "Messages waiting in the broker per queue", ("queue",))
    for queue, count in sorted(snap.queues.items()):
        if count is not None:
            depth.add_metric([queue], count)
    pool = snap.database.get("pool") or {}
    in_use = _gauge("cockpit_db_pool_in_use", "Database connections checked out of this process's pool")
    in_use.add_metric([], pool.get("in_use") or 0)
    size = _gauge("cockpit_db_pool_size", "Size of this process's database pool")
    size.add_metric([], pool.get("size") or 0)
    push = _gauge("cockpit_push_connections", "Open live streams (/events/stream) per web process", ("instance",))
    for instance, count in sorted(snap.push["by_instance"].items()):
        push.add_metric([instance], count)
    latency = _gauge("cockpit_endpoint_latency_seconds",
                     "Request latency quantiles of the busiest endpoints per web process (histogram bucket bounds)",
                     ("instance", "method", "endpoint", "quantile"))
    for row in snap.latency:
        for quantile, key in (("0.5", "p50_ms"), ("0.95", "p95_ms")):
            if row.get(key) is not None:
                latency.add_metric([row["instance"], row["method"], row["endpoint"], quantile], row[key] / 1000)
    rate = _gauge("cockpit_task_runs_per_minute", "Task runs started per minute over the last 5 minutes", ("name",))
    for row in snap.task_rates:
        rate.add_metric([row["name"]], row["per_minute"])
    yield from (database, broker, depth, in_use, size, push, latency, rate)


def _slo_families(statuses):
    objective = _gauge("cockpit_slo_objective_ratio", "The SLO's target share of good events", ("slo",))
    remaining = _gauge("cockpit_slo_error_budget_remaining_ratio", "Share of the window's error budget left", ("slo",))
    burn = _gauge("cockpit_slo_burn_rate", "Error-budget burn rate over a trailing window", ("slo", "window"))
    firing = _gauge("cockpit_slo_burn_alert_firing", "1 when a multi-window burn-rate pair fires",
                    ("slo", "severity", "windows"))
    exhaustion = _gauge("cockpit_slo_seconds_to_exhaustion", "Seconds until the budget is spent at the 1 h burn",
                        ("slo",))
    from dashapp.kernels.burn_rate import alert_pairs

    for st in statuses:
        key = st.slo.key
        objective.add_metric([key], st.slo.objective)
        remaining.add_metric([key], st.budget_remaining)
        for window, value in st.burn.items():
            if not math.isnan(value):
                burn.add_metric([key, window], value)
        for pair in alert_pairs(st.window_days):
            firing.add_metric([key, pair.severity, pair.name], 1.0 if f"{pair.severity} {pair.name}" in st.firing else 0.0)
        if st.seconds_to_exhaustion is not None:
            exhaustion.add_metric([key], st.seconds_to_exhaustion)
    yield from (objective, remaining, burn, firing, exhaustion)


def register(server: Flask) -> None:
    """Register the collector once per process (it reads whichever app is serving the scrape)."""
    from dashapp.observability import REGISTRY

    if _registered:
        return
    collector = OpsCollector(server)
    REGISTRY.register(collector)
    _registered.append(collector)
