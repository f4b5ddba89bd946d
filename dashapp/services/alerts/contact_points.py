"""Contact points: where notifications go (in-app, e-mail over SMTP, generic webhook, Slack
incoming-webhook, PagerDuty Events API v2). CRUD with per-kind settings validation, audited.

Settings per kind (`ContactPoint.settings`, JSON):
- in_app: `{}` (the notification row itself is the in-app message; the bus topic `alerts` tells pages);
- email: `{"to": ["a@x.com", ...], "from": "cockpit@x.com", "smtp_host": "...", "smtp_port": 587,
  "starttls": true}`; host/port/from/starttls default to the server's SMTP_* settings when left out;
- webhook: `{"url": "https://..."}` (http or https, at most 500 characters);
- slack: `{"url": "https://hooks.slack.com/services/..."}` (an incoming-webhook URL, http(s));
- pagerduty: `{"routing_key": "<32 characters>", "events_url": "https://events.pagerduty.com/v2/enqueue"}`.
Payload builders live in `payloads.py`."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, bounds
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import CONTACT_KINDS, ContactPoint, NotificationPolicy

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_URL = 500
MAX_RECIPIENTS = 20
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{20,64}$")


def _url(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required", field=field)
    value = value.strip()
    if len(value) > MAX_URL:
        raise ValidationError(f"{field} must be at most {MAX_URL} characters", field=field)
    if bounds.has_control_characters(value) or " " in value:
        raise ValidationError(f"{field} must not contain spaces or control characters", field=field)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{field} must be an http:// or https:// URL with a host", field=field)
    if parts.username or parts.password:
        raise ValidationError(f"{field} must not carry a user name or password", field=field)
    return value


def _email(value, field: str) -> str:
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.match(value.strip()):
        raise ValidationError(f"{field}: {str(value)[:60]!r} is not an e-mail address", field=field)
    return value.strip()


def validate_settings(kind: str, settings) -> dict:
    """The clean settings of a contact point of `kind`, or a ValidationError naming the field."""
    if kind not in CONTACT_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(CONTACT_KINDS)}", field="kind")
    settings = settings or {}
    if not isinstance(settings, dict):
        raise ValidationError("settings must be an object", field="settings")
    if kind == "in_app":
        return {}
    if kind in ("webhook", "slack"):
        return {"url": _url(settings.get("url"), "url")}
    if kind == "pagerduty":
        key = settings.get("routing_key")
        if not isinstance(key, str) or not ROUTING_KEY.match(key):
            raise ValidationError("routing_key must be the 32-character integration key (20-64 letters and digits)",
                                  field="routing_key")
        return {"routing_key": key, "events_url": _url(settings.get("events_url") or PAGERDUTY_EVENTS_URL,
                                                        "events_url")}
    to = settings.get("to")
    if isinstance(to, str):
        to = [part.strip() for part in to.replace(";", ",").split(",") if part.strip()]
    if not isinstance(to, list) or not to:
        raise ValidationError("to must list at least one e-mail address", field="to")
    if len(to) > MAX_RECIPIENTS:
        raise ValidationError(f"to: at most {MAX_RECIPIENTS} addresses", field="to")
    clean = {"to": [_email(address, "to") for address in to]}
    if settings.get("from"):
        clean["from"] = _email(settings["from"], "from")
    if settings.get("smtp_host"):
        host = str(settings["smtp_host"]).strip()
        if not HOST.match(host):
            raise ValidationError("smtp_host must be a host name or address", field="smtp_host")
        clean["smtp_host"] = host
    if settings.get("smtp_port") not in (None, ""):
        port = settings["smtp_port"]
        if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isdigit() \
                or not 1 <= int(port) <= 65535:
            raise ValidationError("smtp_port must be a port number 1-65535", field="smtp_port")
        clean["smtp_port"] = int(port)
    if "starttls" in settings:
        if not isinstance(settings["starttls"], bool):
            raise ValidationError("starttls must be true or false", field="starttls")
        clean["starttls"] = settings["starttls"]
    return clean


def _name(value) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not NAME.match(name):
        raise ValidationError("name must be 1-80 letters, digits, spaces, '.', '_' or '-'", field="name")
    return name


def list_contact_points() -> list[ContactPoint]:
    return list(db.session.execute(sa.select(ContactPoint).order_by(ContactPoint.name)).scalars())


def get_contact_point(cp_id: int) -> ContactPoint:
    row = db.session.get(ContactPoint, cp_id)
    if row is None:
        raise NotFound(f"contact point {cp_id} not found")
    return row


def find_by_name(name: str) -> ContactPoint | None:
    return db.session.execute(sa.select(ContactPoint).where(ContactPoint.name == name)).scalar_one_or_none()


def _redacted(kind: str, settings: dict) -> dict:
    """What the audit trail keeps: PagerDuty keys and webhook URLs (which embed tokens) shortened."""
    out = dict(settings)
    if "routing_key" in out:
        out["routing_key"] = out["routing_key"][:4] + "..."
    if kind in ("webhook", "slack") and "url" in out:
        parts = urlsplit(out["url"])
        out["url"] = f"{parts.scheme}://{parts.netloc}/..."
    return out


def create_contact_point(actor: str, data: dict) -> ContactPoint:
    """`data = {"name", "kind", "settings": {...}, "enabled": true}`."""
    return _save(actor, data, None)


def update_contact_point(cp_id: int, actor: str, data: dict) -> ContactPoint:
    return _save(actor, data, cp_id)


def _save(actor: str, data: dict, cp_id: int | None) -> ContactPoint:
    if not isinstance(data, dict):
        raise ValidationError("a contact point is an object", field="contact_point")
    name, kind = _name(data.get("name")), data.get("kind")
    settings = validate_settings(kind, data.get("settings"))
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationError("enabled must be true or false", field="enabled")
    with unit_of_work() as session:
        clash = find_by_name(name)
        if clash is not None and clash.id != cp_id:
            raise Conflict(f"a contact point named {name!r} exists", field="name")
        if cp_id is None:
            row = ContactPoint(name=name, kind=kind, settings=settings, enabled=enabled, updated_by=actor,
                               updated_at=utcnow())
            session.add(row)
            session.flush()
        else:
            row = get_contact_point(cp_id)
            row.name, row.kind, row.settings, row.enabled = name, kind, settings, enabled
            row.updated_by, row.updated_at = actor, utcnow()
        audit.record(actor, "alerts.contact_point.save", f"contact_point:{row.id}",
                     {"name": name, "kind": kind, "enabled": enabled, "settings": _redacted(kind, settings)})
    return row


def delete_contact_point(cp_id: int, actor: str) -> None:
    """Refused while a policy routes to it (directly or in its escalation list)."""
    with unit_of_work() as session:
        row = get_contact_point(cp_id)
        policies = session.execute(sa.select(NotificationPolicy)).scalars()
        users = [p.name or f"#{p.id}" for p in policies if p.contact_point_id == row.id
                 or any(level.get("contact_point") == row.name for level in p.escalation or [])]
        if users:
            raise Conflict(f"contact point {row.name!r} is used by policies {', '.join(users)}", field="name")
        session.delete(row)
        audit.record(actor, "alerts.contact_point.delete", f"contact_point:{cp_id}", {"name": row.name})
