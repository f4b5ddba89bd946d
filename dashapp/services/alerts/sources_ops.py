"""Operations metrics for alert rules (services/ops): whether each process is up, its heartbeat age,
the messages waiting per queue, and SLO burn rates, per window and per multi-window pair.

`ops.slo_burn_alert` is the pair made one number: min(long burn, short burn) / the pair's threshold,
so a plain threshold rule "value >= 1" fires exactly when both windows burn at or above the threshold
(the workbook's AND of two windows), for the page pairs (burn=page) or the ticket pairs (burn=ticket).
A clean shutdown (stopped) is left out of `ops.service_up`, so stopping a process on purpose alerts nobody.
"""
from __future__ import annotations

import math
from datetime import datetime

from dashapp.services.alerts.metrics import MetricSource, Sample, register_metric


def _process_samples(now: datetime):
    from dashapp.services.ops import health

    for key, _title in health.PROCESS_SERVICES:
        for inst in health.process_service(key, now).instances:
            if inst.state != "stopped":
                yield inst


def _service_up(now: datetime) -> list[Sample]:
    return [Sample({"service": i.service, "instance": i.instance}, 1.0 if i.state in ("up", "degraded") else 0.0)
            for i in _process_samples(now)]


def _heartbeat_age(now: datetime) -> list[Sample]:
    return [Sample({"service": i.service, "instance": i.instance}, i.age_s) for i in _process_samples(now)]


def _queue_depth(_now: datetime) -> list[Sample]:
    from dashapp.services.ops.health import _default_queue_depths

    return [Sample({"queue": q}, None if n is None else float(n)) for q, n in sorted(_default_queue_depths().items())]


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _burn_rate(_now: datetime) -> list[Sample]:
    from dashapp.services.ops import slo

    return [Sample({"slo": st.slo.key, "window": window}, _finite(value))
            for st in slo.cached_status() for window, value in st.burn.items()]


def burn_alert_value(long_burn: float, short_burn: float, threshold: float) -> float | None:
    """>= 1 exactly when both windows burn at or above `threshold`; None without evidence."""
    if not (math.isfinite(long_burn) and math.isfinite(short_burn)) or threshold <= 0:
        return None
    return min(long_burn, short_burn) / threshold


def _burn_alert(_now: datetime) -> list[Sample]:
    from dashapp.kernels.burn_rate import alert_pairs, window_label
    from dashapp.services.ops import slo

    out = []
    for st in slo.cached_status():
        for pair in alert_pairs(st.window_days):
            value = burn_alert_value(st.burn.get(window_label(pair.long_minutes), math.nan),
                                     st.burn.get(window_label(pair.short_minutes), math.nan), pair.threshold)
            out.append(Sample({"slo": st.slo.key, "burn": pair.severity, "windows": pair.name}, value))
    return out


register_metric(MetricSource("ops.service_up", "Process up (1) or down (0), per service and instance", "bool",
                             ("service", "instance"), _service_up))
register_metric(MetricSource("ops.heartbeat_age", "Process heartbeat age", "s", ("service", "instance"),
                             _heartbeat_age))
register_metric(MetricSource("ops.queue_depth", "Messages waiting in a queue", "count", ("queue",), _queue_depth))
register_metric(MetricSource("ops.slo_burn_rate", "SLO error-budget burn rate per window", "x", ("slo", "window"),
                             _burn_rate))
register_metric(MetricSource("ops.slo_burn_alert", "SLO burn-rate pair (both windows / threshold; >= 1 fires)", "x",
                             ("slo", "burn", "windows"), _burn_alert))


BUILTIN_RULES = [
    dict(name="Worker down", kind="threshold", severity="critical", runbook="worker-down",
         description="A Celery worker stopped heartbeating (killed or hung) without a clean shutdown.",
         spec={"metric": "ops.service_up", "op": "<", "value": 1, "filter": {"service": "worker"},
               "every_seconds": 2, "no_data": "ok"}),
    dict(name="Queue backlog", kind="threshold", severity="warning", pending_seconds=120, runbook="queue-backlog",
         description="More than 100 messages have waited in a queue for two minutes: workers are missing or slow.",
         spec={"metric": "ops.queue_depth", "op": ">", "value": 100, "every_seconds": 15, "no_data": "ok"}),
    dict(name="SLO burn (page)", kind="threshold", severity="critical", runbook="slo-burn",
         description="An SLO burns its error budget at 14.4x over 1 h and 5 m, or 6x over 6 h and 30 m "
                     "(30-day window; scaled for others).",
         spec={"metric": "ops.slo_burn_alert", "op": ">=", "value": 1, "filter": {"burn": "page"},
               "every_seconds": 30, "no_data": "ok"}),
    dict(name="SLO burn (ticket)", kind="threshold", severity="warning", runbook="slo-burn",
         description="An SLO burns its error budget at 3x over 1 d and 2 h, or 1x over 3 d and 6 h.",
         spec={"metric": "ops.slo_burn_alert", "op": ">=", "value": 1, "filter": {"burn": "ticket"},
               "every_seconds": 60, "no_data": "ok"}),
]


def ensure_builtin_rules() -> str | None:
    """Create or refresh the operations rules (idempotent; a person's edit is kept by rules.ensure_builtin_rule)."""
    from dashapp.services.alerts import rules

    before = {rule.name for rule in rules.list_rules()}
    for definition in BUILTIN_RULES:
        rules.ensure_builtin_rule(**definition)
    created = [d["name"] for d in BUILTIN_RULES if d["name"] not in before]
    return f"operations: built-in rules {', '.join(created)}" if created else None
