"""An incident's timeline: one query per source over a bounded window, merged by time. Nothing is
copied into the incident; the timeline reads what the store already holds (DESIGN: one event log,
many readers):

- incident entries (created, notes, commander, state, alerts linked, runbook output);
- the linked alerts' AlertEvents (transitions and human actions);
- control actions (`control_actions`: engine start/stop/restart, kill switch activate/reset);
- limit edits (audit records `risk.limit_save`, with before and after);
- engine events of level warning and above;
- job failures (jobs that ended failed or timed out);
- notifications sent (or suppressed, with the reason) for the linked alerts.

The window runs from a little before the earliest of (incident opened, linked alerts' episodes began)
to a little after the incident resolved (or now), at most MAX_WINDOW; each source gives at most
PER_SOURCE rows."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import incidents as incidents_service
from dashapp.services.alerts import inbox
from models import (AlertEvent, AlertRule, AuditRecord, ContactPoint, ControlAction, EngineEvent, Incident,
                    IncidentEntry, Job, Notification, utcnow)

LEAD = timedelta(minutes=30)
TAIL = timedelta(minutes=15)
MAX_WINDOW = timedelta(days=14)
PER_SOURCE = 500
SOURCES = ("incident", "runbook", "alert", "control", "limit", "engine", "job", "notification")
WARNING_LEVELS = ("warning", "error", "critical")
FAILED_JOBS = ("failed", "timed_out")


@dataclass(frozen=True)
class Entry:
    at: datetime
    source: str  # one of SOURCES
    kind: str
    actor: str
    text: str
    ref: str = ""  # what it points at: alert:12, engine:paper-1, job:<id>, limit:3

    def to_dict(self) -> dict:
        return {**asdict(self), "at": self.at.isoformat(timespec="milliseconds")}


def window(incident: Incident, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or utcnow()
    starts = [incident.created_at]
    for alert in incidents_service.linked_alerts(incident.id):
        starts += [t for t in (alert.pending_since, alert.firing_since) if t is not None]
    end = min((incident.resolved_at or now) + TAIL, now + TAIL)
    start = min(starts) - LEAD
    return max(start, end - MAX_WINDOW), end


def build(incident_id, now: datetime | None = None) -> list[Entry]:
    """Every entry of the incident's window, oldest first (ties keep source order)."""
    incident = incidents_service.get(incident_id)
    start, end = window(incident, now)
    alerts = incidents_service.linked_alerts(incident.id)
    alert_ids = [a.id for a in alerts] or [-1]
    entries = (_incident_entries(incident.id, start, end) + _alert_events(alert_ids, start, end)
               + _control_actions(start, end) + _limit_edits(start, end) + _engine_events(start, end)
               + _job_failures(start, end) + _notifications(alert_ids, start, end))
    order = {name: index for index, name in enumerate(SOURCES)}
    return sorted(entries, key=lambda e: (e.at, order.get(e.source, 99)))


def _rows(stmt, column):
    return db.session.execute(stmt.order_by(column).limit(PER_SOURCE)).scalars().all()


def _incident_entries(incident_id: int, start: datetime, end: datetime) -> list[Entry]:
    # The incident's own entries are never cut by the window (a note written later still belongs).
    rows = _rows(sa.select(IncidentEntry).where(IncidentEntry.incident_id == incident_id), IncidentEntry.at)
    return [Entry(r.at, "runbook" if r.kind == "runbook" else "incident", r.kind, r.actor, r.text,
                  f"alert:{r.data['alert_id']}" if isinstance(r.data, dict) and "alert_id" in r.data else "")
            for r in rows]


def _alert_events(alert_ids: list[int], start: datetime, end: datetime) -> list[Entry]:
    names = dict(db.session.execute(sa.select(AlertRule.id, AlertRule.name)).all())
    rows = _rows(sa.select(AlertEvent).where(AlertEvent.instance_id.in_(alert_ids), AlertEvent.at >= start,
                                             AlertEvent.at <= end), AlertEvent.at)
    out = []
    for e in rows:
        rule = names.get(e.rule_id, f"rule {e.rule_id}")
        if e.kind in ("pending", "firing", "recovering", "normal", "nodata", "error"):
            value = "" if e.value is None else f" (value {e.value:,.4g})"
            text = f"{rule}: {e.from_state or '?'} -> {e.to_state}{value}"
        else:
            text = f"{rule}: {e.kind}" + (f": {e.note}" if e.note else "")
        out.append(Entry(e.at, "alert", e.kind, e.actor, text, f"alert:{e.instance_id}"))
    return out


def _control_actions(start: datetime, end: datetime) -> list[Entry]:
    rows = _rows(sa.select(ControlAction).where(ControlAction.created_at >= start, ControlAction.created_at <= end),
                 ControlAction.created_at)
    return [Entry(r.created_at, "control", r.action, r.actor, f"{r.action} {r.target}: {r.outcome}".strip(),
                  f"{'kill_switch' if r.action.startswith('kill_switch') else 'engine'}:{r.target}") for r in rows]


def _limit_edits(start: datetime, end: datetime) -> list[Entry]:
    rows = _rows(sa.select(AuditRecord).where(AuditRecord.action == "risk.limit_save", AuditRecord.created_at >= start,
                                              AuditRecord.created_at <= end), AuditRecord.created_at)
    out = []
    for r in rows:
        try:
            d = json.loads(r.details)
        except ValueError:
            d = {}
        before, after = d.get("before") or {}, d.get("after") or {}
        change = (f"{before.get('value')} -> {after.get('value')}" if before else f"new limit {after.get('value')}")
        out.append(Entry(r.created_at, "limit", "limit_edit", r.actor,
                         f"limit {d.get('kind', '?')} {d.get('scope', '*')}: {change}, action "
                         f"{after.get('action', '?')}", r.target))
    return out


def _engine_events(start: datetime, end: datetime) -> list[Entry]:
    rows = _rows(sa.select(EngineEvent).where(EngineEvent.level.in_(WARNING_LEVELS), EngineEvent.ts >= start,
                                              EngineEvent.ts <= end), EngineEvent.ts)
    return [Entry(r.ts, "engine", r.kind, r.engine_id, f"{r.level.upper()} {r.kind}: {r.message}",
                  f"engine:{r.engine_id}") for r in rows]


def _job_failures(start: datetime, end: datetime) -> list[Entry]:
    rows = _rows(sa.select(Job).where(Job.state.in_(FAILED_JOBS), Job.finished_at >= start, Job.finished_at <= end),
                 Job.finished_at)
    return [Entry(r.finished_at, "job", r.state, r.created_by, _job_text(r), f"job:{r.id}") for r in rows]


def _job_text(job: Job) -> str:
    detail = (job.error or job.message or "").strip().splitlines()
    return (f"job {job.job_type} {job.state}" + (f": {detail[-1]}" if detail else ""))[:300]


def _notifications(alert_ids: list[int], start: datetime, end: datetime) -> list[Entry]:
    names = dict(db.session.execute(sa.select(ContactPoint.id, ContactPoint.name)).all())
    rows = _rows(sa.select(Notification).where(Notification.instance_id.in_(alert_ids),
                                               Notification.status.in_(("sent", "suppressed", "failed")),
                                               Notification.created_at >= start, Notification.created_at <= end),
                 Notification.created_at)
    out = []
    for r in rows:
        target = names.get(r.contact_point_id, "")
        if r.status == "sent":
            text = f"{r.event} notification sent" + (f" to {target}" if target else "")
        elif r.status == "suppressed":
            text = f"{r.event} notification not sent ({r.reason or 'suppressed'})"
        else:
            text = f"{r.event} notification{f' to {target}' if target else ''} failed: {r.last_error}"
        out.append(Entry(r.sent_at or r.created_at, "notification", r.status, "system", text,
                         f"alert:{r.instance_id}"))
    return out


def rows(incident_id, now: datetime | None = None) -> list[dict]:
    """The timeline as grid rows."""
    return [{**e.to_dict(), "id": index} for index, e in enumerate(build(incident_id, now))]


def alert_rows(incident_id) -> list[dict]:
    now, names = utcnow(), inbox._rule_names()
    return [inbox.row_dict(a, now, names) for a in incidents_service.linked_alerts(
        inbox._optional_id(incident_id, "incident_id"))]
