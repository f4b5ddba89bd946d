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
