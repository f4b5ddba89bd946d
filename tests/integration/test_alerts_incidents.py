"""Incidents on SQLite and PostgreSQL: created from alerts, commander, forward-only states, and a
timeline that merges, in time order, the incident's entries, the linked alerts' events, control
actions, limit edits, engine warnings, job failures and notifications; the postmortem in Markdown and PDF."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import controls
from dashapp.services.alerts import inbox, incidents, postmortem, timeline
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from dashapp.services.risk import limits
from models import AuditRecord, ContactPoint, EngineEvent, IncidentEntry, Job, Notification, utcnow
from tests.support.alerts import make_alert, make_rule


def _store_the_world(alert_id: int, t0):
    """One fact from every source the timeline reads, each at a known time after t0."""
    cp = ContactPoint(name="desk-webhook", kind="webhook", settings={"url": "http://127.0.0.1:9/hook"})
    db.session.add(cp)
    db.session.flush()
    db.session.add_all([
        EngineEvent(engine_id="paper-1", event_id="e-warn", ts=t0 + timedelta(seconds=20), level="warning",
                    kind="venue_latency", message="XNAS latency 850 ms"),
        EngineEvent(engine_id="paper-1", event_id="e-info", ts=t0 + timedelta(seconds=21), level="info",
                    kind="heartbeat", message="fine"),
        Job(id=str(uuid.uuid4()), job_type="stress", state="failed", created_by="risk1",
            error="Traceback\nValueError: bad",
            created_at=t0, finished_at=t0 + timedelta(seconds=40)),
        Job(id=str(uuid.uuid4()), job_type="export", state="succeeded", created_by="risk1",
            created_at=t0, finished_at=t0 + timedelta(seconds=41)),
        Notification(instance_id=alert_id, contact_point_id=cp.id, event="firing", status="sent",
                     created_at=t0 + timedelta(seconds=5), sent_at=t0 + timedelta(seconds=6)),
        Notification(instance_id=alert_id, event="firing", status="suppressed", reason="silenced",
                     created_at=t0 + timedelta(seconds=50)),
    ])
    db.session.commit()


def test_incident_from_alerts_timeline_merges_every_source_in_time_order(server, make_user):
    make_user("trader")
    make_user("risk")
    t0 = utcnow() - timedelta(minutes=10)
    alert = make_alert(make_rule("net_exposure_high"), at=t0)
    other = make_alert(make_rule("var_high", severity="critical"), at=t0 + timedelta(seconds=3))
    _store_the_world(alert.id, t0)
    limits.save_limit("risk1", "risk", "net_exposure", "*", 2_000_000, 0.8, "alert")
    controls.activate_kill_switch("trader1", "trader", "net exposure over limit", "ks-1")
    inbox.acknowledge("trader1", "trader", alert.id)

    incident = incidents.create("trader1", "trader", "Net exposure over limit", "critical", [alert.id, other.id],
                                commander="risk1")
    incidents.add_note("risk1", "risk", incident.id, "follow-up: tighten the warn level to 70%")
    incidents.record_runbook("ops-bot", incident.id, "runbook reduce_exposure: 3 orders cancelled")
    incidents.set_state("risk1", "risk", incident.id, "mitigated", "exposure back under 90%")
    with pytest.raises(Conflict):
        incidents.set_state("risk1", "risk", incident.id, "open")
    with pytest.raises(ValidationError) as err:
        incidents.set_commander("risk1", "risk", incident.id, "ghost")
    assert err.value.field == "commander"
    incidents.unlink("risk1", "risk", incident.id, other.id)

    entries = timeline.build(incident.id)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    sources = {e.source for e in entries}
    assert sources == {"incident", "runbook", "alert", "control", "limit", "engine", "job", "notification"}
    texts = [e.text for e in entries]
    assert any("pending -> firing" in t and "net_exposure_high" in t for t in texts)
    assert not any("var_high" in t and "->" in t for t in texts)  # unlinked: its events left the timeline
    assert any(t.startswith("kill_switch.activate global") for t in texts)
    assert any("limit net_exposure *: new limit 2000000.0" in t for t in texts)
    assert any("XNAS latency 850 ms" in t for t in texts) and not any("heartbeat" in t for t in texts)
    assert any(t == "job stress failed: ValueError: bad" for t in texts)
    assert not any("export" in t for t in texts)  # succeeded jobs are not failures
    assert "firing notification sent to desk-webhook" in texts
    assert "firing notification not sent (silenced)" in texts
    assert [e.kind for e in entries if e.source == "incident"][:2] == ["created", "commander"]
    notification_at = [e.at for e in entries if e.text.startswith("firing notification sent")][0]
    engine_at = [e.at for e in entries if e.source == "engine"][0]
    assert notification_at < engine_at  # t0+6 s before t0+20 s, whatever order they were stored in

    md = postmortem.markdown(incident.id)
    for heading in ("## Summary", "## Impact window", "## Timeline", "## Alerts", "## Actions", "## Follow-ups"):
        assert heading in md
    assert "Net exposure over limit" in md and "**Commander:** risk1" in md
    assert "- [ ] tighten the warn level to 70%" in md
    assert "XNAS latency 850 ms" in md and "runbook reduce_exposure" in md
    assert "**trader1**: net_exposure_high: ack" in md
    body = postmortem.pdf(incident.id)
    assert body.startswith(b"%PDF") and len(body) > 2000
    kinds = list(db.session.execute(sa.select(IncidentEntry.kind).where(IncidentEntry.incident_id == incident.id)
                                    .order_by(IncidentEntry.id)).scalars())
    assert kinds == ["created", "commander", "alert_linked", "alert_linked", "note", "runbook", "state",
                     "alert_unlinked"]
    actions = set(db.session.execute(sa.select(AuditRecord.action).where(AuditRecord.target ==
                                                                         f"incident:{incident.id}")).scalars())
    assert {"incident.create", "incident.note", "incident.state", "incident.unlink"} <= actions


def test_incident_permissions_and_bounds(server, make_user):
    make_user("viewer")
    with pytest.raises(PermissionDenied):
        incidents.create("viewer1", "viewer", "nope")
    with pytest.raises(ValidationError) as err:
        incidents.create("trader1", "trader", "  ")
    assert err.value.field == "title"
    with pytest.raises(ValidationError) as err:
        incidents.create("trader1", "trader", "x", alert_ids=[999])
    assert err.value.field == "alert_ids"
    empty = incidents.create("trader1", "trader", "Engine restarts", "warning")
    assert timeline.build(empty.id)[0].kind == "created"
    md = postmortem.markdown(empty.id)
    assert "_No alerts linked._" in md and "- [ ] Root cause:" in md
    incidents.set_state("trader1", "trader", empty.id, "resolved")
    assert incidents.get(empty.id).mitigated_at is not None
    assert [i.id for i in incidents.list_incidents("resolved")] == [empty.id]
