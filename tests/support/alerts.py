"""Alert rows for tests and demos of the inbox, incidents and the Alerts page: a rule and instances
in a chosen state, written the way evaluation leaves them (instance + its transition events)."""
from __future__ import annotations

from datetime import datetime, timedelta

from dashapp.extensions import db
from dashapp.services.alerts.state import fingerprint
from models import AlertEvent, AlertInstance, AlertRule, utcnow


def make_rule(name: str = "net_exposure_high", severity: str = "high", labels: dict | None = None) -> AlertRule:
    rule = db.session.query(AlertRule).filter_by(name=name).one_or_none()
    if rule is None:
        rule = AlertRule(name=name, kind="threshold", severity=severity, labels=labels or {"team": "risk"},
                         spec={"metric": "risk.limit_utilisation", "op": ">", "threshold": 1.0}, description=name)
        db.session.add(rule)
        db.session.flush()
    return rule


def make_alert(rule: AlertRule | None = None, state: str = "firing", labels: dict | None = None,
               value: float = 1.04, at: datetime | None = None, summary: str = "") -> AlertInstance:
    """An instance that went pending -> firing (or stays pending) at `at`, with its events; committed."""
    rule = rule or make_rule()
    at = at or utcnow() - timedelta(minutes=5)
    full = {"alertname": rule.name, **(rule.labels or {}), **(labels or {})}
    row = AlertInstance(rule_id=rule.id, fingerprint=fingerprint(full), labels=full, severity=rule.severity,
                        state=state, episode=1, value=value, summary=summary or f"{rule.name} at {value}",
                        state_since=at, pending_since=at, firing_since=at if state == "firing" else None,
                        last_evaluated_at=at, updated_at=at)
    db.session.add(row)
    db.session.flush()
    db.session.add(AlertEvent(instance_id=row.id, rule_id=rule.id, at=at, kind="pending", from_state="normal",
                              to_state="pending", episode=1, value=value))
    if state == "firing":
        db.session.add(AlertEvent(instance_id=row.id, rule_id=rule.id, at=at, kind="firing", from_state="pending",
                                  to_state="firing", episode=1, value=value))
    db.session.commit()
    return row


def seed_screenshot_alerts() -> None:
    """A desk with something to show on the Alerts page (screenshots): alerts in several states, an
    acknowledged and an assigned one, an incident with notes, the default routing tree, a silence, an
    inhibition rule, a mute timing and a few notification log rows. Runs inside an app context."""
    from dashapp.services.alerts import inbox, incidents, inhibition, seed, silences, timings
    from models import ContactPoint, Notification

    seed.ensure_defaults("screens")
    now = utcnow()
    exposure = make_alert(make_rule("net_exposure_high", "critical", {"team": "risk", "desk": "macro"}),
                          value=1.04, at=now - timedelta(minutes=42), summary="net exposure at 104% of its limit")
    slip = make_rule("slippage_high", "warning", {"team": "execution"})
    xnas = make_alert(slip, labels={"venue": "XNAS"}, value=12.5, at=now - timedelta(minutes=18),
                      summary="slippage 12.5 bps on XNAS (limit 8)")
    make_alert(slip, labels={"venue": "ARCA"}, value=9.1, at=now - timedelta(minutes=3), state="pending",
               summary="slippage 9.1 bps on ARCA")
    make_alert(make_rule("engine_heartbeat_stale", "high", {"team": "ops"}), labels={"engine_id": "paper-1"},
               value=42.0, at=now - timedelta(minutes=7), summary="no heartbeat from paper-1 for 42 s")
    inbox.acknowledge("risk-anna", "risk", exposure.id, expires=120, note="hedging with futures")
    inbox.assign("screens", "admin", xnas.id, "desk-admin")
    incident = incidents.create("desk-admin", "admin", "Net exposure over limit on the macro desk", "critical",
                                [exposure.id], commander="desk-admin")
    incidents.add_note("desk-admin", "admin", incident.id, "follow-up: lower the net exposure warn level to 70%")
    silences.create_silence("desk-admin", {"matchers": "alertname=slippage_high, venue=ARCA", "duration_minutes": 120,
                                           "comment": "ARCA maintenance window"})
    inhibition.save_rule("desk-admin", {"source_matchers": "alertname=engine_heartbeat_stale",
                                        "target_matchers": "team=execution", "equal": [],
                                        "comment": "a silent engine explains its execution alerts"})
    timings.save_interval("desk-admin", {"name": "outside NYSE hours", "spec": {"calendar": "XNYS", "when": "closed"}})
    inbox_cp = db.session.query(ContactPoint).filter_by(name=seed.INBOX).one()
    db.session.add_all([Notification(instance_id=exposure.id, event="firing", status="sent", dedup_key="x",
                                     contact_point_id=inbox_cp.id,
                                     created_at=now - timedelta(minutes=41), sent_at=now - timedelta(minutes=41),
                                     attempts=1),
                        Notification(instance_id=xnas.id, event="firing", status="suppressed", reason="grouped",
                                     created_at=now - timedelta(minutes=17))])
    db.session.commit()
