"""Incidents: related alerts grouped under one title, a commander, a state (open -> mitigated ->
resolved, forward only) and the incident's own entries (created, notes, commander and state changes,
alerts linked and unlinked, runbook output). Every change writes an `IncidentEntry` and an audit
record in one `unit_of_work`; ALERTS_ACT (trader, risk, admin) is checked here again, whoever calls.

The timeline (timeline.py) merges these entries with what other tables already hold; nothing is
copied into the incident."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit
from dashapp.services.alerts import inbox
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import AlertInstance, Incident, IncidentEntry, User, utcnow
from models.alerts import INCIDENT_STATES, SEVERITIES

MAX_LINKED = 200  # alerts linked in one call
TITLE_MAX = 200
SUMMARY_MAX = 2000
ENTRY_MAX = 4000
ENTRY_KINDS = ("created", "note", "commander", "state", "alert_linked", "alert_unlinked", "runbook")


def _require(actor: str, role: str | None, action: str, target: str) -> None:
    if not has_permission(role, Perm.ALERTS_ACT):
        with unit_of_work():
            audit.record(actor, action, target, {"role": role}, outcome="denied")
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.ALERTS_ACT.value} needed to "
                               "change incidents")


def get(incident_id, lock: bool = False) -> Incident:
    ident = inbox._optional_id(incident_id, "incident_id")
    row = db.session.get(Incident, ident, with_for_update=lock) if ident is not None else None
    if row is None:
        raise NotFound(f"no incident with id {incident_id}", field="incident_id")
    return row


def _alert_ids(value) -> list[int]:
    if value in (None, "", []):
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    if len(items) > MAX_LINKED:
        raise ValidationError(f"alert_ids: at most {MAX_LINKED} alerts at once", field="alert_ids")
    ids = [inbox._optional_id(item if not isinstance(item, str) else item.strip(), "alert_ids") for item in items]
    ids = list(dict.fromkeys(i for i in ids if i is not None))
    found = set(db.session.execute(sa.select(AlertInstance.id).where(AlertInstance.id.in_(ids or [-1]))).scalars())
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(f"alert_ids: no alert with id {missing[0]}", field="alert_ids")
    return ids


def _user(username, field_name: str) -> str | None:
    name = inbox._bounded_text(username, field_name, 64).lower()
    if not name:
        return None
    user = db.session.execute(sa.select(User).where(User.username == name)).scalar()
    if user is None or not user.active:
        raise ValidationError(f"{field_name}: no active user called {name!r}", field=field_name)
    return name


def _entry(incident: Incident, kind: str, actor: str, text: str, now: datetime, data: dict | None = None) -> None:
    db.session.add(IncidentEntry(incident_id=incident.id, at=now, kind=kind, actor=actor, text=text[:ENTRY_MAX],
                                 data=data or {}))


def _link(incident: Incident, ids: list[int], actor: str, now: datetime) -> list[int]:
    linked = []
    for row in db.session.execute(sa.select(AlertInstance).where(AlertInstance.id.in_(ids or [-1]))).scalars():
        if row.incident_id == incident.id:
            continue
        row.incident_id = incident.id
        linked.append(row.id)
        name = (row.labels or {}).get("alertname", f"alert {row.id}")
        _entry(incident, "alert_linked", actor, f"{name} ({inbox.labels_text(row.labels)}) linked, {row.state}",
               now, {"alert_id": row.id, "state": row.state, "severity": row.severity})
    return linked


def create(actor: str, role: str | None, title, severity="high", alert_ids=None, summary="", commander=None,
           now: datetime | None = None) -> Incident:
    """A new open incident, with the selected alerts linked (or none)."""
    _require(actor, role, "incident.create", "incident:new")
    now = now or utcnow()
    title = inbox._bounded_text(title, "title", TITLE_MAX)
    if not title:
        raise ValidationError("title: give the incident a title", field="title")
    if severity not in SEVERITIES:
        raise ValidationError(f"severity: one of {', '.join(SEVERITIES)}", field="severity")
    summary = inbox._bounded_text(summary, "summary", SUMMARY_MAX)
    ids = _alert_ids(alert_ids)
    commander = _user(commander, "commander")
    with unit_of_work() as session:
        incident = Incident(title=title, severity=severity, state="open", commander=commander, summary=summary,
                            created_by=actor, created_at=now)
        session.add(incident)
        session.flush()
        _entry(incident, "created", actor, f"incident opened: {title}", now, {"severity": severity})
        if commander:
            _entry(incident, "commander", actor, f"commander: {commander}", now, {"to": commander})
        linked = _link(incident, ids, actor, now)
        audit.record(actor, "incident.create", f"incident:{incident.id}",
                     {"title": title, "severity": severity, "alerts": linked, "commander": commander})
    return incident


def link(actor: str, role: str | None, incident_id, alert_ids, now: datetime | None = None) -> list[int]:
    _require(actor, role, "incident.link", f"incident:{incident_id}")
    now = now or utcnow()
    ids = _alert_ids(alert_ids)
    if not ids:
        raise ValidationError("alert_ids: choose at least one alert", field="alert_ids")
    with unit_of_work():
        incident = get(incident_id, lock=True)
        linked = _link(incident, ids, actor, now)
        if linked:
            audit.record(actor, "incident.link", f"incident:{incident.id}", {"alerts": linked})
    return linked


def unlink(actor: str, role: str | None, incident_id, alert_id, now: datetime | None = None) -> None:
    _require(actor, role, "incident.unlink", f"incident:{incident_id}")
    now = now or utcnow()
    with unit_of_work():
        incident = get(incident_id, lock=True)
        row = inbox.get_instance(alert_id)
        if row.incident_id != incident.id:
            raise Conflict(f"alert {row.id} is not linked to incident {incident.id}", field="alert_id")
        row.incident_id = None
        _entry(incident, "alert_unlinked", actor, f"alert {row.id} unlinked", now, {"alert_id": row.id})
        audit.record(actor, "incident.unlink", f"incident:{incident.id}", {"alert_id": row.id})


def set_commander(actor: str, role: str | None, incident_id, username, now: datetime | None = None) -> Incident:
    _require(actor, role, "incident.commander", f"incident:{incident_id}")
    now = now or utcnow()
    name = _user(username, "commander")
    with unit_of_work():
        incident = get(incident_id, lock=True)
        if incident.commander == name:
            return incident
        before, incident.commander = incident.commander, name
        _entry(incident, "commander", actor, f"commander: {name or '(none)'}", now, {"from": before, "to": name})
        audit.record(actor, "incident.commander", f"incident:{incident.id}", {"from": before, "to": name})
    return incident


def set_state(actor: str, role: str | None, incident_id, state, note="", now: datetime | None = None) -> Incident:
    """open -> mitigated -> resolved (a step may be skipped; never backwards)."""
    _require(actor, role, "incident.state", f"incident:{incident_id}")
    now = now or utcnow()
    if state not in INCIDENT_STATES:
        raise ValidationError(f"state: one of {', '.join(INCIDENT_STATES)}", field="state")
    note = inbox._bounded_text(note, "note", 500)
    with unit_of_work():
        incident = get(incident_id, lock=True)
        if INCIDENT_STATES.index(state) <= INCIDENT_STATES.index(incident.state):
            if state == incident.state:
                return incident
            raise Conflict(f"state: incident {incident.id} is {incident.state}; it cannot go back to {state}",
                           field="state")
        before, incident.state = incident.state, state
        if state == "mitigated":
            incident.mitigated_at = now
        if state == "resolved":
            incident.resolved_at = now
            incident.mitigated_at = incident.mitigated_at or now
        _entry(incident, "state", actor, f"{before} -> {state}" + (f": {note}" if note else ""), now,
               {"from": before, "to": state})
        audit.record(actor, "incident.state", f"incident:{incident.id}", {"from": before, "to": state, "note": note})
    return incident


def add_note(actor: str, role: str | None, incident_id, text, now: datetime | None = None) -> None:
    _require(actor, role, "incident.note", f"incident:{incident_id}")
    text = inbox._bounded_text(text, "note", ENTRY_MAX)
    if not text:
        raise ValidationError("note: write something", field="note")
    with unit_of_work():
        incident = get(incident_id)
        _entry(incident, "note", actor, text, now or utcnow())
        audit.record(actor, "incident.note", f"incident:{incident.id}", {"length": len(text)})


def record_runbook(actor: str, incident_id, text, data: dict | None = None, now: datetime | None = None) -> None:
    """A runbook's output on the incident (called by the operations runbooks after their own checks)."""
    text = inbox._bounded_text(text, "text", ENTRY_MAX)
    with unit_of_work():
        incident = get(incident_id)
        _entry(incident, "runbook", actor, text, now or utcnow(), data)
        audit.record(actor, "incident.runbook", f"incident:{incident.id}", {"length": len(text)})


# --- reading -----------------------------------------------------------------------------------


def list_incidents(state=None, limit: int = 200) -> list[Incident]:
    stmt = sa.select(Incident)
    if state not in (None, "", "all"):
        if state not in INCIDENT_STATES:
            raise ValidationError(f"state: one of {', '.join(INCIDENT_STATES)}", field="state")
        stmt = stmt.where(Incident.state == state)
    return list(db.session.execute(stmt.order_by(Incident.created_at.desc()).limit(limit)).scalars())


def linked_alerts(incident_id: int) -> list[AlertInstance]:
    return list(db.session.execute(sa.select(AlertInstance).where(AlertInstance.incident_id == incident_id)
                                   .order_by(AlertInstance.id)).scalars())


def summary(incident: Incident) -> dict:
    count = db.session.execute(sa.select(sa.func.count()).where(AlertInstance.incident_id == incident.id)).scalar()
    return {"id": incident.id, "title": incident.title, "severity": incident.severity, "state": incident.state,
            "commander": incident.commander or "", "alerts": int(count or 0), "created_by": incident.created_by,
            "created_at": incident.created_at.isoformat(timespec="seconds"),
            "mitigated_at": incident.mitigated_at.isoformat(timespec="seconds") if incident.mitigated_at else None,
            "resolved_at": incident.resolved_at.isoformat(timespec="seconds") if incident.resolved_at else None,
            "summary": incident.summary}
