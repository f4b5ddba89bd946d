"""What each contact point kind sends, built from plain data (no database), documented in
docs/ALERTS.md "Notifications" and tested against those documented shapes.

- webhook: Alertmanager's webhook JSON (version "4"), plus the cockpit's `state`, `value`, `summary`;
- slack: an incoming-webhook body: `text` (the fallback line) + `blocks` (header, one section per alert);
- pagerduty: one Events API v2 event per alert: `routing_key`, `event_action` trigger|acknowledge|resolve,
  `dedup_key` (instance fingerprint + episode), `payload` {summary, source, severity, custom_details};
- email: `{"subject", "text", "to", "from"}` (sent as a plain-text message);
- in_app: `{"title", "text", "severity", "status", "alerts": [...]}` (the stored row is the message)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

MAX_ALERTS = 50  # alerts listed in one message; the rest are counted in `truncatedAlerts`
MAX_BODY_BYTES = 256 * 1024
PD_SEVERITY = {"critical": "critical", "high": "error", "warning": "warning", "info": "info"}
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not ended"


@dataclass(frozen=True)
class AlertView:
    """One alert as a notification shows it."""

    instance_id: int
    fingerprint: str
    labels: dict
    status: str  # firing | resolved
    state: str  # the instance state: firing, recovering, nodata, error, normal
    severity: str
    summary: str
    value: float | None
    episode: int
    starts_at: datetime | None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class GroupView:
    group_key: str
    receiver: str  # the contact point's name
    group_labels: dict
    alerts: list[AlertView] = field(default_factory=list)
    external_url: str = ""

    @property
    def status(self) -> str:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"

    def common_labels(self) -> dict:
        if not self.alerts:
            return {}
        common = dict(self.alerts[0].labels)
        for alert in self.alerts[1:]:
            common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
        return common


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else ZERO_TIME


def generator_url(external_url: str, alert: AlertView) -> str:
    return f"{external_url.rstrip('/')}/alerts?instance={alert.instance_id}"


def dedup_key(fingerprint: str, episode: int) -> str:
    """PagerDuty's incident key for one episode of one alert: fingerprint (48 hex) + "-e" + episode."""
    return f"{fingerprint[:48]}-e{int(episode)}"


def title(group: GroupView) -> str:
    firing = sum(a.status == "firing" for a in group.alerts)
    name = group.common_labels().get("alertname") or ", ".join(sorted({a.labels.get("alertname", "?")
                                                                         for a in group.alerts}))[:120]
    if group.status == "firing":
        return f"[FIRING:{firing}] {name}"
    return f"[RESOLVED] {name}"


def _line(alert: AlertView) -> str:
    value = "" if alert.value is None else f" (value {alert.value:g})"
    return f"{alert.status.upper()} {alert.severity}: {alert.summary or alert.labels.get('alertname', '')}{value}"


def webhook(group: GroupView) -> dict:
    shown = group.alerts[:MAX_ALERTS]
    return {
        "version": "4", "status": group.status, "receiver": group.receiver, "groupKey": group.group_key,
        "truncatedAlerts": len(group.alerts) - len(shown), "groupLabels": group.group_labels,
        "commonLabels": group.common_labels(), "commonAnnotations": {}, "externalURL": group.external_url,
        "alerts": [{
            "status": a.status, "labels": a.labels, "annotations": {"summary": a.summary},
            "state": a.state, "value": a.value, "startsAt": _iso(a.starts_at), "endsAt": _iso(a.ends_at),
            "generatorURL": generator_url(group.external_url, a), "fingerprint": a.fingerprint,
        } for a in shown],
    }


def slack(group: GroupView) -> dict:
    shown = group.alerts[:MAX_ALERTS]
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title(group)[:150]}}]
    for alert in shown[:20]:  # Slack allows 50 blocks; keep messages readable
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*{_line(alert)}*\n{labels}\n<{generator_url(group.external_url, alert)}|Open in the cockpit>")[:3000]}})
    if len(shown) > 20 or len(group.alerts) > len(shown):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {len(group.alerts) - min(len(shown), 20)} more"}]})
    return {"text": title(group), "blocks": blocks}


def pagerduty(alert: AlertView, routing_key: str, action: str, source: str = "trading-desk-cockpit",
              external_url: str = "") -> dict:
    """One event: action is trigger, acknowledge or resolve."""
    body = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(alert.fingerprint,
                                                                                        alert.episode)}
    if action == "trigger":
        body["payload"] = {
            "summary": (alert.summary or alert.labels.get("alertname", "alert"))[:1024],
            "source": source, "severity": PD_SEVERITY.get(alert.severity, "warning"),
            "timestamp": _iso(alert.starts_at) if alert.starts_at else None,
            "component": alert.labels.get("alertname", ""), "group": alert.labels.get("desk", ""),
            "custom_details": {"labels": alert.labels, "state": alert.state, "value": alert.value,
                               "episode": alert.episode},
        }
        body["payload"] = {k: v for k, v in body["payload"].items() if v not in (None, "")}
        body["client"] = "Trading Desk Cockpit"
        body["client_url"] = generator_url(external_url, alert)
    return body


def email(group: GroupView, to: list[str], sender: str) -> dict:
    lines = [title(group), ""]
    for alert in group.alerts[:MAX_ALERTS]:
        lines.append(_line(alert))
        lines.append("  labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
        lines.append(f"  since: {_iso(alert.starts_at)}" + (f"  ended: {_iso(alert.ends_at)}" if alert.ends_at else ""))
        lines.append(f"  {generator_url(group.external_url, alert)}")
    if len(group.alerts) > MAX_ALERTS:
        lines.append(f"... and {len(group.alerts) - MAX_ALERTS} more")
    return {"subject": title(group)[:200], "text": "\n".join(lines), "to": list(to), "from": sender}


def in_app(group: GroupView) -> dict:
    worst = min((a.severity for a in group.alerts), key=lambda s: ("critical", "high", "warning", "info").index(s)
                if s in ("critical", "high", "warning", "info") else 9, default="info")
    return {"title": title(group), "text": "; ".join(_line(a) for a in group.alerts[:5])[:500],
            "severity": worst, "status": group.status,
            "alerts": [{"instance_id": a.instance_id, "status": a.status, "alertname": a.labels.get("alertname", "")}
                       for a in group.alerts[:MAX_ALERTS]]}


def capped(body: dict) -> dict:
    """The body, with its alert list shortened until it fits MAX_BODY_BYTES as JSON."""
    while len(json.dumps(body, default=str)) > MAX_BODY_BYTES and body.get("alerts"):
        dropped = max(1, len(body["alerts"]) // 2)
        body = dict(body, alerts=body["alerts"][:-dropped])
        body["truncatedAlerts"] = body.get("truncatedAlerts", 0) + dropped
    return body
