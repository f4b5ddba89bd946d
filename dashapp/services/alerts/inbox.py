"""The alerts inbox: what is wrong now and who handles it.

Reading: the open alerts (any state but normal, or the states asked for) filtered by severity, state,
owner (assignee), acknowledged or not, label matchers and free text, grouped by chosen labels, and the
navbar's counts (firing and not acknowledged, by severity).

Acting (ALERTS_ACT: trader, risk, admin): acknowledge (with an optional expiry), unacknowledge,
assign to an existing user, snooze until a time (at most 7 days ahead), silence until resolved,
resolve with a note, add a note. Each action writes one `AlertEvent` and one audit record in one
`unit_of_work`, so the history and the audit trail never disagree. "Acknowledged" is computed when
read (`state.is_acknowledged`): acknowledged_at set and the expiry not passed. A duplicate ack of an
alert that is still acknowledged changes nothing (its expiry is kept), and evaluation never touches
these fields except when a new episode starts (services/alerts/state.py), so neither can undo an ack.
A manual resolve puts the instance to normal; if its condition still holds, the next evaluation
starts a new episode.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit, bounds
from dashapp.services.alerts import matchers as matcher_lib
from dashapp.services.alerts.state import is_acknowledged
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import AlertEvent, AlertInstance, AlertRule, User, utcnow
from models.alerts import ALERT_STATES, SEVERITIES

OPEN_STATES = ("pending", "firing", "recovering", "nodata", "error")
SEVERITY_ORDER = {name: index for index, name in enumerate(SEVERITIES)}
MAX_SNOOZE = timedelta(days=7)
MAX_ACK = timedelta(days=7)
NOTE_MAX = 500  # AlertEvent.note
TEXT_MAX = 200
MAX_ROWS = 2000  # an inbox never reads more instances than this (oldest first are dropped)
GROUPABLE_MAX = 5


# --- label matchers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """One label matcher (`label=value`, `!=`, `=~regex`, `!~regex`), parsed and matched by matchers.py (RE2)."""

    label: str
    op: str
    value: str

    def matches(self, labels: dict) -> bool:
        return matcher_lib.matches_one((self.label, self.op, self.value), labels)


def parse_matchers(value, field_name: str = "labels") -> list[Matcher]:
    """Matchers from "team=risk, venue=~X.*" or from [[label, op, value], ...]; ValidationError naming the field."""
    if value in (None, "", []):
        return []
    if isinstance(value, str) and len(value) > 1000:
        raise ValidationError(f"{field_name}: at most 1000 characters", field=field_name)
    return [Matcher(*m) for m in matcher_lib.parse(value, field_name)]


def labels_text(labels: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((labels or {}).items()) if k != "alertname")


# --- reading -----------------------------------------------------------------------------------


@dataclass
class InboxFilter:
    states: tuple[str, ...] = OPEN_STATES
    severities: tuple[str, ...] = ()
    owner: str | None = None  # a username, "-" = unassigned, None = anyone
    acknowledged: bool | None = None
    matchers: list[Matcher] = field(default_factory=list)
    text: str = ""
    rule_id: int | None = None


def make_filter(states=None, severities=None, owner=None, acknowledged=None, labels=None, text=None,
                rule_id=None) -> InboxFilter:
    """An InboxFilter from edge values (page, REST), each checked and named when wrong."""
    states = _choices(states, ALERT_STATES, "state") or OPEN_STATES
    severities = _choices(severities, SEVERITIES, "severity")
    owner = _bounded_text(owner, "owner", 64) or None
    if acknowledged not in (None, True, False):
        if str(acknowledged).lower() in ("true", "yes", "1"):
            acknowledged = True
        elif str(acknowledged).lower() in ("false", "no", "0"):
            acknowledged = False
        elif str(acknowledged).lower() in ("", "any", "all"):
            acknowledged = None
        else:
            raise ValidationError("acknowledged: true, false or empty (either)", field="acknowledged")
    return InboxFilter(states, severities, owner, acknowledged, parse_matchers(labels),
                       _bounded_text(text, "text", TEXT_MAX), _optional_id(rule_id, "rule_id"))


def _choices(value, allowed, field_name: str) -> tuple[str, ...]:
    if value in (None, "", []):
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or len(items) > len(allowed):
        raise ValidationError(f"{field_name}: choose from {', '.join(allowed)}", field=field_name)
    out = tuple(str(item).strip() for item in items if str(item).strip())
    bad = [item for item in out if item not in allowed]
    if bad:
        raise ValidationError(f"{field_name}: {bad[0][:40]!r} is not one of {', '.join(allowed)}", field=field_name)
    return out


def _bounded_text(value, field_name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{field_name}: must be text", field=field_name)
    value = value.strip()
    if len(value) > limit:
        raise ValidationError(f"{field_name}: at most {limit} characters", field=field_name)
    if bounds.has_control_characters(value):
        raise ValidationError(f"{field_name}: must not contain control characters", field=field_name)
    return value


def _optional_id(value, field_name: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).isdigit() or int(value) > bounds.INT32_MAX:
        raise ValidationError(f"{field_name}: must be a positive whole number", field=field_name)
    return int(value)


def _rule_names() -> dict[int, str]:
    return dict(db.session.execute(sa.select(AlertRule.id, AlertRule.name)).all())


def instances(flt: InboxFilter | None = None, now: datetime | None = None) -> list[AlertInstance]:
    """The instances that pass the filter, worst first (severity, then longest in its state)."""
    flt, now = flt or InboxFilter(), now or utcnow()
    stmt = sa.select(AlertInstance).where(AlertInstance.state.in_(flt.states))
    if flt.severities:
        stmt = stmt.where(AlertInstance.severity.in_(flt.severities))
    if flt.owner == "-":
        stmt = stmt.where(AlertInstance.assignee.is_(None))
    elif flt.owner:
        stmt = stmt.where(AlertInstance.assignee == flt.owner.lower())
    if flt.rule_id is not None:
        stmt = stmt.where(AlertInstance.rule_id == flt.rule_id)
    rows = db.session.execute(stmt.order_by(AlertInstance.state_since.desc()).limit(MAX_ROWS)).scalars().all()
    names = _rule_names()
    text = flt.text.lower()
    out = []
    for row in rows:
        if flt.acknowledged is not None and is_acknowledged(row, now) != flt.acknowledged:
            continue
        if flt.matchers and not all(m.matches(row.labels or {}) for m in flt.matchers):
            continue
        if text and text not in " ".join((names.get(row.rule_id, ""), row.summary, labels_text(row.labels),
                                          row.assignee or "")).lower():
            continue
        out.append(row)
    out.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.state_since))
    return out


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else None


def ack_text(row: AlertInstance, now: datetime) -> str:
    if not is_acknowledged(row, now):
        return "expired" if row.acknowledged_at is not None else ""
    until = f" until {row.ack_expires_at:%m-%d %H:%M}" if row.ack_expires_at else ""
    return f"{row.acknowledged_by}{until}"


def row_dict(row: AlertInstance, now: datetime, rule_names: dict[int, str] | None = None) -> dict:
    """One inbox row (grid and REST)."""
    names = rule_names if rule_names is not None else _rule_names()
    snoozed = row.snoozed_until is not None and row.snoozed_until > now
    return {"id": row.id, "severity": row.severity, "state": row.state, "rule": names.get(row.rule_id, ""),
            "rule_id": row.rule_id, "labels": labels_text(row.labels), "label_map": dict(row.labels or {}),
            "value": row.value, "summary": row.summary, "since": _iso(row.state_since),
            "owner": row.assignee or "", "ack": ack_text(row, now), "acknowledged": is_acknowledged(row, now),
            "ack_expires_at": _iso(row.ack_expires_at), "snoozed_until": _iso(row.snoozed_until) if snoozed else None,
            "silenced": bool(row.silenced_until_resolved), "episode": row.episode, "incident_id": row.incident_id,
            "fingerprint": row.fingerprint}


def list_alerts(flt: InboxFilter | None = None, now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    names = _rule_names()
    return [row_dict(row, now, names) for row in instances(flt, now)]


def group_rows(rows: list[dict], by: list[str] | tuple[str, ...]) -> list[dict]:
    """Rows grouped by the values of the chosen labels ("severity", "state" and "rule" work too):
    [{"key": {label: value}, "title": "team=risk", "count", "firing", "rows": [...]}], biggest first."""
    by = [str(b) for b in (by or [])][:GROUPABLE_MAX]
    if not by:
        return [{"key": {}, "title": "all alerts", "count": len(rows),
                 "firing": sum(r["state"] == "firing" for r in rows), "rows": rows}]
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(str(row.get(name) if name in ("severity", "state", "rule", "owner")
                        else row["label_map"].get(name, "")) for name in by)
        group = groups.setdefault(key, {"key": dict(zip(by, key)), "count": 0, "firing": 0, "rows": [],
                                        "title": ", ".join(f"{n}={v or '(none)'}" for n, v in zip(by, key))})
        group["count"] += 1
        group["firing"] += row["state"] == "firing"
        group["rows"].append(row)
    return sorted(groups.values(), key=lambda g: (-g["firing"], -g["count"], g["title"]))


def groupable_labels(rows: list[dict]) -> list[str]:
    names = {name for row in rows for name in row["label_map"]}
    return ["severity", "state", "rule", "owner"] + sorted(names - {"alertname"})[:50]


def navbar_counts(now: datetime | None = None) -> dict:
    """Firing alerts, and those not acknowledged, by severity (the navbar badge)."""
    now = now or utcnow()
    not_acked = sa.or_(AlertInstance.acknowledged_at.is_(None),
                       sa.and_(AlertInstance.ack_expires_at.is_not(None), AlertInstance.ack_expires_at <= now))
    stmt = (sa.select(AlertInstance.severity, sa.func.count(), sa.func.sum(sa.case((not_acked, 1), else_=0)))
            .where(AlertInstance.state == "firing").group_by(AlertInstance.severity))
    by_severity = {sev: {"firing": 0, "unacknowledged": 0} for sev in SEVERITIES}
    for severity, firing, unacked in db.session.execute(stmt).all():
        by_severity.setdefault(severity, {"firing": 0, "unacknowledged": 0})
        by_severity[severity] = {"firing": int(firing or 0), "unacknowledged": int(unacked or 0)}
    return {"firing": sum(v["firing"] for v in by_severity.values()),
            "unacknowledged": sum(v["unacknowledged"] for v in by_severity.values()), "by_severity": by_severity}


# --- acting ------------------------------------------------------------------------------------


def _require(actor: str, role: str | None, action: str, target: str) -> None:
    if not has_permission(role, Perm.ALERTS_ACT):
        with unit_of_work():
            audit.record(actor, action, target, {"role": role}, outcome="denied")
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.ALERTS_ACT.value} needed to act on "
                               "alerts")


def get_instance(instance_id, lock: bool = False) -> AlertInstance:
    ident = _optional_id(instance_id, "alert_id")
    row = db.session.get(AlertInstance, ident, with_for_update=lock) if ident is not None else None
    if row is None:
        raise NotFound(f"no alert with id {instance_id}", field="alert_id")
    return row


def clean_note(note, required: bool = False, field_name: str = "note") -> str:
    text = _bounded_text(note, field_name, NOTE_MAX)
    if required and not text:
        raise ValidationError(f"{field_name}: say what was done (1 to {NOTE_MAX} characters)", field=field_name)
    return text


def _event(row: AlertInstance, kind: str, actor: str, now: datetime, note: str = "",
           to_state: str | None = None) -> AlertEvent:
    event = AlertEvent(instance_id=row.id, rule_id=row.rule_id, at=now, kind=kind, from_state=row.state,
                       to_state=to_state or row.state, episode=row.episode, value=row.value, actor=actor, note=note)
    db.session.add(event)
    return event


def _act(actor: str, role: str | None, instance_id, action: str, change, now: datetime | None) -> AlertInstance:
    """Permission, then one transaction: lock the row, apply `change(row, now) -> (kind, note, details) | None`
    (None = nothing to do), write the event and the audit record."""
    _require(actor, role, f"alert.{action}", f"alert:{instance_id}")
    now = now or utcnow()
    with unit_of_work():
        row = get_instance(instance_id, lock=True)
        outcome = change(row, now)
        if outcome is None:
            return row
        kind, note, details, to_state = (*outcome, None)[:4]
        _event(row, kind, actor, now, note, to_state)
        if to_state:
            row.state = to_state
        row.updated_at = now
        audit.record(actor, f"alert.{action}", f"alert:{row.id}", {"rule_id": row.rule_id, "episode": row.episode,
                                                                   "labels": row.labels, **details})
    _announce(row, action)
    return row


def _announce(row: AlertInstance, action: str) -> None:
    try:
        from dashapp.realtime import publish

        publish("alerts", {"instance_id": row.id, "action": action, "state": row.state})
    except Exception:  # noqa: BLE001 - the store is the truth; pages also poll
        pass


def _future(value, field_name: str, now: datetime, limit: timedelta) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{field_name}: {value[:40]!r} is not a date and time (ISO 8601)",
                                  field=field_name) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 < value <= limit.total_seconds() / 60:
            raise ValidationError(f"{field_name}: minutes from now, 1 to {int(limit.total_seconds() // 60)}",
                                  field=field_name)
        value = now + timedelta(minutes=value)
    if not isinstance(value, datetime):
        raise ValidationError(f"{field_name}: give a time (ISO 8601) or minutes from now", field=field_name)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if value <= now:
        raise ValidationError(f"{field_name}: must be in the future", field=field_name)
    if value > now + limit:
        raise ValidationError(f"{field_name}: at most {limit.days} days ahead", field=field_name)
    return value


def _must_be_open(row: AlertInstance, what: str) -> None:
    if row.state == "normal":
        raise Conflict(f"alert {row.id} is resolved (normal): nothing to {what}", field="alert_id")


def acknowledge(actor: str, role: str | None, instance_id, expires=None, note=None,
                now: datetime | None = None) -> AlertInstance:
    """Acknowledge the current episode, until `expires` (a time or minutes from now; None = until
    resolved). A second ack while the first holds changes nothing: its expiry stays."""
    note = clean_note(note)
    now = now or utcnow()
    until = None if expires in (None, "") else _future(expires, "expires", now, MAX_ACK)

    def change(row, at):
        _must_be_open(row, "acknowledge")
        if is_acknowledged(row, at):
            return None
        row.acknowledged_by, row.acknowledged_at, row.ack_expires_at = actor, at, until
        return "ack", note, {"expires_at": _iso(until)}

    return _act(actor, role, instance_id, "ack", change, now)


def unacknowledge(actor: str, role: str | None, instance_id, now: datetime | None = None) -> AlertInstance:
    def change(row, _at):
        if row.acknowledged_at is None:
            return None
        was = row.acknowledged_by
        row.acknowledged_by = row.acknowledged_at = row.ack_expires_at = None
        return "unack", "", {"was_acknowledged_by": was}

    return _act(actor, role, instance_id, "unack", change, now)


def assign(actor: str, role: str | None, instance_id, username, now: datetime | None = None) -> AlertInstance:
    """Give the alert an owner (an existing, active user), or none with an empty name."""
    name = _bounded_text(username, "assignee", 64).lower()
    if name:
        user = db.session.execute(sa.select(User).where(User.username == name)).scalar()
        if user is None or not user.active:
            raise ValidationError(f"assignee: no active user called {name!r}", field="assignee")

    def change(row, _at):
        if (row.assignee or "") == name:
            return None
        before, row.assignee = row.assignee, name or None
        return "assign", name or "(unassigned)", {"from": before, "to": name or None}

    return _act(actor, role, instance_id, "assign", change, now)


def snooze(actor: str, role: str | None, instance_id, until, note=None, now: datetime | None = None) -> AlertInstance:
    """No notifications for this alert until `until` (at most 7 days ahead); it stays in the inbox."""
    note = clean_note(note)
    now = now or utcnow()
    when = _future(until, "until", now, MAX_SNOOZE)

    def change(row, _at):
        _must_be_open(row, "snooze")
        row.snoozed_until = when
        return "snooze", note or f"until {when:%Y-%m-%d %H:%M} UTC", {"until": _iso(when)}

    return _act(actor, role, instance_id, "snooze", change, now)


def silence_until_resolved(actor: str, role: str | None, instance_id, note=None,
                           now: datetime | None = None) -> AlertInstance:
    """No notifications for this alert until it resolves (a new episode clears it)."""
    note = clean_note(note)

    def change(row, _at):
        _must_be_open(row, "silence")
        if row.silenced_until_resolved:
            return None
        row.silenced_until_resolved = True
        return "silence", note or "until resolved", {}

    return _act(actor, role, instance_id, "silence", change, now)


def resolve(actor: str, role: str | None, instance_id, note, now: datetime | None = None) -> AlertInstance:
    """Resolve by hand with a note (required): state -> normal. If the condition still holds, the
    next evaluation starts a new episode."""
    note = clean_note(note, required=True)

    def change(row, at):
        _must_be_open(row, "resolve")
        before = row.state
        row.state_since, row.resolved_at = at, at
        row.pending_since = row.recovering_since = None
        return "resolve", note, {"from_state": before}, "normal"

    return _act(actor, role, instance_id, "resolve", change, now)


def add_note(actor: str, role: str | None, instance_id, note, now: datetime | None = None) -> AlertInstance:
    note = clean_note(note, required=True)
    return _act(actor, role, instance_id, "note", lambda row, _at: ("note", note, {}), now)


ACTIONS = ("ack", "unack", "assign", "snooze", "silence", "resolve", "note")
