"""One dispatch pass's decisions: which alert goes in which notification group, whether the group is
due (group_wait, group_interval, repeat_interval), what is suppressed and why, and the notification
rows queued for delivery. Called by `dispatch.run` inside its transaction; no I/O beyond the store.

Every decision is a `notifications` row: `queued` (then sent/retrying/failed by delivery.py) or
`suppressed` with its reason: silenced, inhibited, snoozed, acknowledged, muted, grouped,
repeat_interval, no_route. A suppression is recorded once per (alert, group, reason) between two
flushes of the group, so a pass every second does not write a row every second."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from dashapp.services.alerts import inhibition, payloads, silences, timings
from dashapp.services.alerts.payloads import AlertView, GroupView
from dashapp.services.alerts.routing import Route, Tree
from dashapp.services.alerts.state import is_acknowledged
from models.alerts import AlertInstance, ContactPoint, Notification, NotificationGroup

NOTIFYING = ("firing", "recovering", "nodata", "error")  # states notified as "firing"
FIRING_SOURCES = ("firing", "recovering")  # states that inhibit others
RESOLVED_LOOKBACK = timedelta(days=2)
IDLE = "idle"  # NotificationGroup.last_digest of a group with nothing firing and nothing owed


@dataclass
class Context:
    """What one pass reads once."""

    now: datetime
    tree: Tree
    contact_points: dict[int, ContactPoint]
    silences: list
    inhibitions: list
    intervals: dict[str, dict]
    firing: list[tuple[str, dict]]
    external_url: str = ""
    smtp_from: str = "cockpit@localhost"
    recorded: dict = field(default_factory=dict)  # (instance, group, reason) -> newest suppression time
    counts: dict = field(default_factory=dict)  # "queued" / "suppressed" / reasons

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def load_context(session, now: datetime, candidates: list[AlertInstance]) -> Context:
    from dashapp.services.alerts import policies

    settings = current_app.config.get("COCKPIT_SETTINGS")
    extra = getattr(settings, "extra", {}) or {}
    ctx = Context(
        now=now, tree=Tree(policies.list_policies()),
        contact_points={cp.id: cp for cp in session.execute(sa.select(ContactPoint)).scalars()},
        silences=silences.active_silences(now), inhibitions=inhibition.list_rules(),
        intervals=timings.intervals_by_name(),
        firing=[(i.fingerprint, i.labels or {}) for i in candidates if i.state in FIRING_SOURCES],
        external_url=str(extra.get("public_url") or os.environ.get("COCKPIT_PUBLIC_URL", "")),
        smtp_from=getattr(settings, "smtp_from", "cockpit@localhost") or "cockpit@localhost")
    ids = [i.id for i in candidates]
    for chunk in range(0, len(ids), 500):
        for instance_id, group_id, reason, at in session.execute(
                sa.select(Notification.instance_id, Notification.group_id, Notification.reason,
                          sa.func.max(Notification.created_at))
                .where(Notification.status == "suppressed", Notification.instance_id.in_(ids[chunk:chunk + 500]),
                       Notification.created_at >= now - RESOLVED_LOOKBACK)
                .group_by(Notification.instance_id, Notification.group_id, Notification.reason)):
            ctx.recorded[(instance_id, group_id, reason)] = at
    return ctx


def candidates(session, now: datetime) -> list[AlertInstance]:
    """Alerts to notify as firing, and alerts resolved recently (their group may owe a "resolved")."""
    return list(session.execute(sa.select(AlertInstance).where(sa.or_(
        AlertInstance.state.in_(NOTIFYING),
        AlertInstance.resolved_at >= now - RESOLVED_LOOKBACK))).scalars())


def view(instance: AlertInstance) -> AlertView | None:
    if instance.state in NOTIFYING:
        starts = instance.firing_since if instance.state in FIRING_SOURCES else instance.state_since
        return AlertView(instance.id, instance.fingerprint, instance.labels or {}, "firing", instance.state,
                         instance.severity, instance.summary, instance.value, instance.episode, starts)
    if instance.resolved_at is not None and instance.firing_since is not None \
            and instance.resolved_at >= instance.firing_since:
        return AlertView(instance.id, instance.fingerprint, instance.labels or {}, "resolved", instance.state,
                         instance.severity, instance.summary, instance.value, instance.episode,
                         instance.firing_since, instance.resolved_at)
    return None


def digest(views: list[AlertView]) -> str:
    return hashlib.sha256(json.dumps(sorted((v.fingerprint, v.status) for v in views)).encode()).hexdigest()


def suppression(ctx: Context, instance: AlertInstance, alert: AlertView) -> str | None:
    """Why this alert must not be notified now, or None. Resolutions pass snooze and ack."""
    labels = instance.labels or {}
    if instance.silenced_until_resolved and alert.status == "firing":
        return "silenced"
    if silences.silencing(labels, ctx.silences) is not None:
        return "silenced"
    if inhibition.inhibiting(labels, instance.fingerprint, ctx.firing, ctx.inhibitions) is not None:
        return "inhibited"
    if alert.status == "firing":
        if instance.snoozed_until is not None and instance.snoozed_until > ctx.now:
            return "snoozed"
        if is_acknowledged(instance, ctx.now):
            return "acknowledged"
    return None


def muted(ctx: Context, route: Route) -> bool:
    eff = route.policy
    if any(timings.contains(ctx.intervals[n], ctx.now) for n in eff.mute_timings if n in ctx.intervals):
        return True
    active = [n for n in eff.active_timings if n in ctx.intervals]
    return bool(active) and not any(timings.contains(ctx.intervals[n], ctx.now) for n in active)


def record(session, ctx: Context, instance: AlertInstance, reason: str, since: datetime | None, *,
           group: NotificationGroup | None = None, policy_id: int | None = None, event: str = "firing") -> None:
    """A suppressed decision, unless the same one was recorded since `since`."""
    key = (instance.id, group.id if group is not None else None, reason)
    seen = ctx.recorded.get(key)
    if seen is not None and (since is None or seen >= since):
        return
    session.add(Notification(created_at=ctx.now, instance_id=instance.id, group_id=key[1],
                             policy_id=policy_id if policy_id is not None else (group.policy_id if group else None),
                             event=event, status="suppressed", reason=reason, attempts=0))
    ctx.recorded[key] = ctx.now
    ctx.count("suppressed")
    ctx.count(f"reason:{reason}")


def _since(instance: AlertInstance, group: NotificationGroup | None) -> datetime | None:
    marks = [m for m in (instance.pending_since, instance.firing_since,
                         group.last_flush_at if group is not None else None) if m is not None]
    return max(marks) if marks else None


def queue(session, ctx: Context, cp: ContactPoint, group: GroupView, *, event: str, policy_id: int | None,
          group_id: int | None, action: str = "") -> list[Notification]:
    """Queue the rows that send `group` to `cp` (one per alert for PagerDuty); returns them."""
    rows = []
    if cp.kind == "pagerduty":
        for alert in group.alerts:
            pd_action = action or ("trigger" if alert.status == "firing" else "resolve")
            rows.append((alert.instance_id, payloads.dedup_key(alert.fingerprint, alert.episode),
                         payloads.pagerduty(alert, cp.settings["routing_key"], pd_action,
                                            external_url=group.external_url)))
    else:
        body = {"webhook": payloads.webhook, "slack": payloads.slack, "in_app": payloads.in_app}.get(cp.kind)
        payload = body(group) if body else payloads.email(group, cp.settings.get("to", []),
                                                          cp.settings.get("from") or ctx.smtp_from)
        rows.append((group.alerts[0].instance_id if group.alerts else None, group.group_key[:64],
                     payloads.capped(payload)))
    queued = [Notification(created_at=ctx.now, instance_id=instance_id, group_id=group_id, policy_id=policy_id,
                           contact_point_id=cp.id, event=event, status="queued", dedup_key=dedup, payload=payload,
                           attempts=0, next_attempt_at=ctx.now) for instance_id, dedup, payload in rows]
    session.add_all(queued)
    ctx.count("queued", len(queued))
    return queued


def live_contact_point(ctx: Context, route: Route) -> ContactPoint | None:
    cp = ctx.contact_points.get(route.policy.contact_point_id) if route.policy.contact_point_id else None
    return cp if cp is not None and cp.enabled else None


def run_groups(session, ctx: Context, instances: list[AlertInstance], changed: set[int]) -> None:
    """Assign alerts to groups, flush the groups that are due, record every suppression."""
    members: dict[tuple[int, str], tuple[Route, list]] = {}
    for instance in instances:
        alert = view(instance)
        if alert is None:
            continue
        routes = [r for r in ctx.tree.routes(instance.labels or {}) if live_contact_point(ctx, r) is not None]
        if not routes:
            if instance.id in changed and alert.status == "firing":
                record(session, ctx, instance, "no_route", _since(instance, None))
            continue
        for route in routes:
            members.setdefault((route.policy.policy_id, route.group_key), (route, []))[1].append((instance, alert))
    stored = {(g.policy_id, g.group_key): g for g in session.execute(sa.select(NotificationGroup)).scalars()}
    for key, (route, entries) in members.items():
        group = stored.pop(key, None)
        firing_now = any(alert.status == "firing" for _, alert in entries)
        if group is None or group.last_digest == IDLE:
            if not firing_now:
                continue  # only resolutions of alerts this group never announced
            if group is None:
                group = NotificationGroup(policy_id=key[0], group_key=key[1], labels=dict(route.group_labels))
                session.add(group)
            group.first_seen_at, group.last_flush_at, group.last_digest = ctx.now, None, None
            session.flush()
        if not _flush(session, ctx, group, route, entries, changed):
            _idle(group)
    for group in stored.values():  # nothing routes here any more
        _idle(group)


def _idle(group: NotificationGroup) -> None:
    """A group with nothing firing and nothing owed waits for its next alert (kept, so the history's
    notifications keep their group); the next firing alert starts with group_wait again."""
    if group.last_digest != IDLE:
        group.last_flush_at, group.last_digest = None, IDLE


def _flush(session, ctx: Context, group: NotificationGroup, route: Route, entries: list, changed: set[int]) -> bool:
    """Decide and act for one group; returns False when it is over (nothing firing, nothing owed)."""
    last, visible, firing_left = group.last_flush_at, [], False
    for instance, alert in entries:
        if alert.status == "resolved":
            # Only alerts this group announced while firing, and only once.
            if last is None or instance.firing_since is None or instance.firing_since > last \
                    or instance.resolved_at <= last:
                continue
        else:
            firing_left = True
        reason = suppression(ctx, instance, alert)
        if reason:
            record(session, ctx, instance, reason, _since(instance, group), group=group)
            continue
        visible.append((instance, alert))
    if not visible:
        return firing_left
    eff, views = route.policy, [alert for _, alert in visible]
    now_digest = digest(views)
    if last is None:
        due, why = ctx.now >= group.first_seen_at + timedelta(seconds=eff.group_wait), "grouped"
    elif now_digest != group.last_digest:
        due, why = ctx.now >= last + timedelta(seconds=eff.group_interval), "grouped"
    else:
        due = firing_left and ctx.now >= last + timedelta(seconds=eff.repeat_interval)
        why = "repeat_interval"
    if due and muted(ctx, route):
        for instance, _ in visible:
            record(session, ctx, instance, "muted", _since(instance, group), group=group)
        return True
    if not due:
        for instance, _ in visible:
            if instance.id in changed:
                record(session, ctx, instance, why, _since(instance, group), group=group)
        return firing_left or now_digest != group.last_digest
    cp = live_contact_point(ctx, route)
    shown = GroupView(group_key=group.group_key, receiver=cp.name, group_labels=dict(route.group_labels),
                      alerts=views, external_url=ctx.external_url)
    queue(session, ctx, cp, shown, event=shown.status, policy_id=group.policy_id, group_id=group.id)
    group.last_flush_at, group.last_digest = ctx.now, now_digest
    return firing_left


def run_acks(session, ctx: Context, instances: dict[int, AlertInstance], acked: list[int]) -> None:
    """An acknowledgement tells PagerDuty (event_action "acknowledge"); other channels need nothing."""
    for instance_id in dict.fromkeys(acked):
        instance = instances.get(instance_id)
        alert = view(instance) if instance is not None else None
        if alert is None or alert.status != "firing":
            continue
        for route in ctx.tree.routes(instance.labels or {}):
            cp = live_contact_point(ctx, route)
            if cp is not None and cp.kind == "pagerduty":
                shown = GroupView(route.group_key, cp.name, dict(route.group_labels), [alert], ctx.external_url)
                queue(session, ctx, cp, shown, event="acknowledged", policy_id=route.policy.policy_id,
                      group_id=None, action="acknowledge")
