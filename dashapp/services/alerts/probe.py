"""A test notification to one contact point ("does this webhook / mailbox / PagerDuty key work?"):
a made-up firing alert `alertname=Cockpit test notification`, sent at once (inline, one attempt, no
retry), recorded in the notification history with event "test" and audited. For the Alerts page's
contact-point editor and `dashapp alerts notify-test NAME`."""
from __future__ import annotations

from datetime import datetime

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.alerts import contact_points, delivery, payloads
from dashapp.services.alerts.grouping import load_context, queue
from dashapp.services.errors import ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import Notification

TEST_LABELS = {"alertname": "Cockpit test notification", "severity": "info"}


def send_test(actor: str, contact_point, now: datetime | None = None) -> Notification:
    """`contact_point`: id or name. Returns the notification row: status "sent", or "failed" with
    `last_error` saying what the receiver answered."""
    now = now or utcnow()
    cp = (contact_points.get_contact_point(contact_point) if isinstance(contact_point, int)
          else contact_points.find_by_name(str(contact_point)[:80]))
    if cp is None:
        raise ValidationError(f"contact point {str(contact_point)[:80]!r} does not exist", field="contact_point")
    alert = payloads.AlertView(0, "0" * 64, TEST_LABELS, "firing", "firing", "info",
                               f"test notification sent by {actor}", None, 0, now)
    with unit_of_work() as session:
        ctx = load_context(session, now, [])
        group = payloads.GroupView(f"test:{cp.id}", cp.name, dict(TEST_LABELS), [alert], ctx.external_url)
        row = queue(session, ctx, cp, group, event="test", policy_id=None, group_id=None)[0]
        row.instance_id, row.attempts, row.next_attempt_at = None, 1, None  # ours: the dispatcher leaves it
        session.flush()
        nid = row.id
        audit.record(actor, "alerts.contact_point.test", f"contact_point:{cp.id}", {"name": cp.name})
    policy = delivery.RetryPolicy.current()
    once = delivery.RetryPolicy(1, policy.base_seconds, policy.cap_seconds, policy.timeout_seconds)
    delivery.attempt_one(nid, 1, now, once)
    db.session.expire_all()
    return db.session.get(Notification, nid)
