"""The built-in rules: how the risk monitor's breaches, engine faults, stale heartbeats, failed jobs and
stale quotes raise alerts, through the same rules, evaluation and notifications as anything a person
writes. Seeded by `dashapp up` (first-run bootstrap) and `dashapp demo`; idempotent, and a rule a
person has edited is left as they left it (rules.ensure_builtin_rule)."""
from __future__ import annotations

from dashapp.services.alerts import rules

BREACH_SEVERITY = {"label": "breach_action",
                   "map": {"kill_switch": "critical", "block_new_orders": "high", "alert": "high"}}

BUILTIN_RULES = [
    dict(name="Limit breach", kind="threshold", severity="high", labels={"area": "risk"}, runbook="limit-breach",
         description="A risk limit is used at 100% or more; severity follows the limit's breach action.",
         spec={"metric": "risk.limit_utilisation", "op": ">=", "value": 100, "every_seconds": 1,
               "severity_from": BREACH_SEVERITY}),
    dict(name="Limit warning", kind="expression", severity="warning", labels={"area": "risk"},
         description="A risk limit is past its warning level but not yet breached.",
         spec={"text": "risk.limit_warn_utilisation >= 100 and risk.limit_utilisation < 100", "every_seconds": 1}),
    dict(name="Engine fault", kind="pattern", severity="high", labels={"area": "engines"}, keep_firing_seconds=0,
         description="An engine reported an error or critical event in the last 5 minutes.",
         spec={"source": "engine.fault", "count": 1, "within_seconds": 300, "group_by": ["engine", "kind", "level"],
               "every_seconds": 2,
               "severity_from": {"label": "level", "map": {"critical": "critical", "error": "high"}}}),
    dict(name="Engine heartbeat stale", kind="threshold", severity="critical", labels={"area": "engines"},
         pending_seconds=10, runbook="engine-restart",
         description="An engine that should be running has not sent a heartbeat for 20 seconds.",
         spec={"metric": "engine.heartbeat_age", "op": ">", "value": 20, "every_seconds": 5, "no_data": "ok"}),
    dict(name="Job failed", kind="pattern", severity="warning", labels={"area": "jobs"},
         description="A job failed or timed out in the last 10 minutes.",
         spec={"source": "jobs.failed", "count": 1, "within_seconds": 600, "group_by": ["job_type"],
               "every_seconds": 5}),
    dict(name="Quotes stale", kind="threshold", severity="warning", labels={"area": "data"}, pending_seconds=60,
         description="An instrument quoted in the last hour has had no new quote for 2 minutes.",
         spec={"metric": "data.quote_age", "op": ">", "value": 120, "every_seconds": 10, "no_data": "ok"}),
]


def ensure_builtin_rules() -> str | None:
    """Create or refresh the built-in rules; returns a line for the seed report when any was created."""
    before = {rule.name for rule in rules.list_rules()}
    for definition in BUILTIN_RULES:
        rules.ensure_builtin_rule(**definition)
    created = [d["name"] for d in BUILTIN_RULES if d["name"] not in before]
    return f"alerts: built-in rules {', '.join(created)}" if created else None
