"""Escalation: a firing alert nobody has acknowledged after N minutes goes to the next level's
contact point (the policy's `escalation` list: `[{"after_minutes": 15, "contact_point": "desk-head"},
...]`, measured from `firing_since`). Each step bumps the instance's `escalation_level`, queues a
notification (event "escalation") and writes an AlertEvent "escalate" on the alert. A new episode
resets the level (evaluation clears it), so each firing climbs the ladder from the first rung.
A silenced, snoozed or acknowledged alert does not escalate."""
from __future__ import annotations

from datetime import timedelta

from dashapp.services.alerts import grouping
from dashapp.services.alerts.payloads import GroupView
from models.alerts import AlertEvent, AlertInstance, ContactPoint


def run(session, ctx: grouping.Context, instances: list[AlertInstance]) -> int:
    """Escalate what is due at ctx.now; returns the number of steps taken."""
    by_name = {cp.name: cp for cp in ctx.contact_points.values()}
    steps = 0
    for instance in instances:
        if instance.state not in grouping.FIRING_SOURCES or instance.firing_since is None:
            continue
        alert = grouping.view(instance)
        if alert is None or grouping.suppression(ctx, instance, alert) is not None:
            continue
        ladder = next((route.policy.escalation for route in ctx.tree.routes(instance.labels or {})
                       if route.policy.escalation), ())
        level = instance.escalation_level or 0
        if level >= len(ladder):
            continue
        step = ladder[level]
        if ctx.now < instance.firing_since + timedelta(minutes=int(step["after_minutes"])):
            continue
        cp: ContactPoint | None = by_name.get(step["contact_point"])
        instance.escalation_level = level + 1
        note = f"level {level + 1}: unacknowledged after {step['after_minutes']} min -> {step['contact_point']}"
        session.add(AlertEvent(instance_id=instance.id, rule_id=instance.rule_id, at=ctx.now, kind="escalate",
                               episode=instance.episode, value=instance.value, actor="system", note=note[:500]))
        if cp is not None and cp.enabled:
            shown = GroupView(f"escalation:{instance.fingerprint[:40]}:{level + 1}", cp.name,
                              {"alertname": (instance.labels or {}).get("alertname", "")}, [alert], ctx.external_url)
            grouping.queue(session, ctx, cp, shown, event="escalation", policy_id=None, group_id=None)
        else:
            grouping.record(session, ctx, instance, "no_route", None, event="escalation")
        steps += 1
    return steps
