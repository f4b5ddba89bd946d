"""The default notification setup, so a fresh desk's alerts reach someone: an in-app contact point
("Cockpit inbox") and a root policy routing everything to it (group by alertname, group_wait 30 s,
group_interval 5 min, repeat_interval 4 h). Idempotent: an existing root policy is left as it is.
Called from the demo seed and the first-run bootstrap."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.services import audit
from dashapp.services.alerts import contact_points, policies
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import ContactPoint, NotificationPolicy

INBOX = "Cockpit inbox"


def ensure_defaults(actor: str = "system") -> str | None:
    """Create what is missing; returns a line for the seed report, or None when nothing was needed."""
    if policies.root() is not None:
        return None
    try:
        with unit_of_work() as session:
            cp = contact_points.find_by_name(INBOX)
            if cp is None:
                cp = ContactPoint(name=INBOX, kind="in_app", settings={}, enabled=True, updated_by=actor,
                                  updated_at=utcnow())
                session.add(cp)
                session.flush()
            root = NotificationPolicy(parent_id=None, position=0, name="root", matchers=[], contact_point_id=cp.id,
                                      **{"group_by": policies.ROOT_DEFAULTS["group_by"],
                                         **{k: v for k, v in policies.ROOT_DEFAULTS.items() if k != "group_by"}},
                                      continue_matching=False, mute_timings=[], active_timings=[], escalation=[],
                                      updated_by=actor, updated_at=utcnow())
            session.add(root)
            session.flush()
            audit.record(actor, "alerts.policy.seed", f"notification_policy:{root.id}",
                         {"contact_point": INBOX, **policies.ROOT_DEFAULTS})
    except sa.exc.IntegrityError:  # a concurrent first start seeded it
        from dashapp.extensions import db

        db.session.rollback()
        return None
    return f"alerts: in-app contact point {INBOX!r} and a root notification policy routing every alert to it"
