"""Read-only rows for the Alerts page's Rules and Notifications tabs: rules, the routing tree with each
node's effective timings, contact points (secrets shortened for every viewer), silences, inhibition rules,
timings and the notification log (newest first, bounded). The writes are the owners' services
(rules.py, policies.py, contact_points.py, silences.py, inhibition.py, timings.py)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import contact_points, inbox, inhibition, policies, rules, silences, timings
from models import AlertInstance, AlertRule, ContactPoint, Notification, utcnow
from models.alerts import NOTIFICATION_STATUSES

LOG_LIMIT = 500
LOG_WINDOW = timedelta(days=7)


def _matchers_text(matchers) -> str:
    return ", ".join(f"{m[0]}{m[1]}{m[2]}" for m in (matchers or []) if isinstance(m, (list, tuple)) and len(m) == 3)


def rule_rows() -> list[dict]:
    out = []
    for rule in rules.list_rules():
        row = rules.as_dict(rule)
        out.append({**row, "enabled_text": "yes" if rule.enabled else "no",
                    "builtin_text": "yes" if rule.builtin else "",
                    "labels_text": inbox.labels_text(rule.labels), "spec_json": json.dumps(row["spec"], indent=2)})
    return out


def contact_point_rows() -> list[dict]:
    out = []
    for cp in contact_points.list_contact_points():
        shown = contact_points._redacted(cp.kind, dict(cp.settings or {}))
        out.append({"id": cp.id, "name": cp.name, "kind": cp.kind, "enabled_text": "yes" if cp.enabled else "no",
                    "settings_text": ", ".join(f"{k}={v}" for k, v in shown.items()),
                    "edit": {"name": cp.name, "kind": cp.kind, "settings": shown, "enabled": cp.enabled}})
    return out


def silence_rows(now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    out = []
    for s in silences.list_silences(now, include_ended=True, limit=100):
        status = "expired" if s.ends_at <= now else ("active" if s.starts_at <= now else "pending")
        out.append({"id": s.id, "matchers_text": _matchers_text(s.matchers), "starts_at": s.starts_at.isoformat(),
                    "ends_at": s.ends_at.isoformat(), "status": status, "comment": s.comment,
                    "created_by": s.created_by})
    return out


def inhibition_rows() -> list[dict]:
    return [{"id": r.id, "source_text": _matchers_text(r.source_matchers),
             "target_text": _matchers_text(r.target_matchers),
             "equal_text": ", ".join(r.equal or []), "comment": r.comment,
             "edit": {"source_matchers": _matchers_text(r.source_matchers),
                      "target_matchers": _matchers_text(r.target_matchers), "equal": list(r.equal or []),
                      "comment": r.comment}} for r in inhibition.list_rules()]


def timing_rows() -> list[dict]:
    return [{"id": t.id, "name": t.name, "spec_text": json.dumps(t.spec, separators=(", ", ": ")),
             "edit": {"name": t.name, "spec": t.spec}} for t in timings.list_intervals()]


def policy_tree() -> list[dict]:
    """Depth-first nodes: {id, depth, name, matchers, contact_point, timings text, edit}."""
    rows = policies.list_policies()
    tree, effective = policies.children_of(rows), policies.effective_all(rows)
    names = dict(db.session.execute(sa.select(ContactPoint.id, ContactPoint.name)).all())
    out: list[dict] = []

    def walk(node, depth: int) -> None:
        eff = effective.get(node.id)
        timing = (f"wait {eff.group_wait}s · interval {eff.group_interval}s · repeat {eff.repeat_interval}s"
                  if eff else "")
        problem = policies.timing_problem(eff) if eff else None
        out.append({"id": node.id, "depth": depth, "name": node.name or ("root" if depth == 0 else f"#{node.id}"),
                    "matchers": _matchers_text(node.matchers) or "(everything)",
                    "contact_point": names.get(eff.contact_point_id if eff else None, "(none)"),
                    "group_by": ", ".join(eff.group_by) if eff else "", "timings": timing, "problem": problem or "",
                    "mute": ", ".join(node.mute_timings or []), "edit": policies.as_dict(node)})
        if depth < 10:
            for child in tree.get(node.id, []):
                walk(child, depth + 1)

    for top in tree.get(None, []):
        walk(top, 0)
    return out


def notification_log(status: str | None = None, now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    stmt = sa.select(Notification).where(Notification.created_at >= now - LOG_WINDOW)
    if status:
        if status not in NOTIFICATION_STATUSES:
            return []
        stmt = stmt.where(Notification.status == status)
    rows = db.session.execute(stmt.order_by(Notification.id.desc()).limit(LOG_LIMIT)).scalars().all()
    cps = dict(db.session.execute(sa.select(ContactPoint.id, ContactPoint.name)).all())
    ids = {r.instance_id for r in rows if r.instance_id}
    rule_of = dict(db.session.execute(sa.select(AlertInstance.id, AlertRule.name).join(
        AlertRule, AlertRule.id == AlertInstance.rule_id).where(AlertInstance.id.in_(ids or [-1]))).all())
    return [{"id": r.id, "created_at": r.created_at.isoformat(), "event": r.event, "status": r.status,
             "reason": r.reason, "contact_point": cps.get(r.contact_point_id, ""),
             "rule": rule_of.get(r.instance_id, ""),
             "alert_id": r.instance_id, "attempts": r.attempts, "last_error": r.last_error} for r in rows]


def policy_edit(policy_id: int) -> dict | None:
    """A policy node's own settings, as the editor shows them (contact point by name)."""
    row = db.session.get(policies.NotificationPolicy, policy_id) if 0 < policy_id < 2**31 else None
    if row is None:
        return None
    data = policies.as_dict(row)
    cp = db.session.get(ContactPoint, data.pop("contact_point_id")) if row.contact_point_id else None
    return {**data, "contact_point": cp.name if cp else None, "matchers": _matchers_text(row.matchers)}


def unredact(cp_id: int, settings) -> dict:
    """Settings from the editor, where a value still equal to its shortened form (shown to people) means
    "unchanged": the stored secret is kept instead of the shortened text."""
    row = db.session.get(ContactPoint, cp_id)
    if row is None or not isinstance(settings, dict):
        return settings
    stored = dict(row.settings or {})
    shown = contact_points._redacted(row.kind, stored)
    return {k: (stored[k] if k in stored and v == shown.get(k) and shown.get(k) != stored[k] else v)
            for k, v in settings.items()}
