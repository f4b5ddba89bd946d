"""Alerts and incidents: rules over the cockpit's metrics, one alert instance per (rule, label set)
with its state, the searchable history of every transition and human action, notification policies
(routing tree, contact points, silences, inhibition, mute/active timings), every notification attempt
or suppression, and incidents with their own timeline entries.

The state model (services/alerts/state.py) is Normal -> Pending -> Firing -> Recovering -> Normal, plus
NoData and Error. An instance row is kept for its label set across episodes; `episode` counts firings so
an acknowledgement belongs to one episode and a duplicate evaluation cannot undo it."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

RULE_KINDS = ("threshold", "anomaly", "pattern", "composite", "expression", "predictive")
SEVERITIES = ("critical", "high", "warning", "info")
ALERT_STATES = ("normal", "pending", "firing", "recovering", "nodata", "error")
CONTACT_KINDS = ("in_app", "email", "webhook", "slack", "pagerduty")
NOTIFICATION_STATUSES = ("queued", "sent", "retrying", "failed", "suppressed")
INCIDENT_STATES = ("open", "mitigated", "resolved")


class AlertRule(db.Model):
    """A rule, edited on the Alerts page by risk/admin. `spec` holds the kind's parameters, validated
    by the pydantic model of that kind (services/alerts/rules.py) before it is stored."""

    __tablename__ = "alert_rules"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), nullable=False, unique=True)
    description = sa.Column(sa.String(500), nullable=False, default="")
    kind = sa.Column(sa.String(16), nullable=False)
    spec = sa.Column(sa.JSON, nullable=False, default=dict)
    labels = sa.Column(sa.JSON, nullable=False, default=dict)  # static labels added to every instance
    severity = sa.Column(sa.String(12), nullable=False, default="warning")
    pending_seconds = sa.Column(sa.Integer, nullable=False, default=0)
    keep_firing_seconds = sa.Column(sa.Integer, nullable=False, default=0)
    runbook = sa.Column(sa.String(80), nullable=False, default="")  # slug in the runbook catalogue
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    builtin = sa.Column(sa.Boolean, nullable=False, default=False)  # seeded: breach/fault/job rules
    version = sa.Column(sa.Integer, nullable=False, default=1)
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("kind in ('threshold', 'anomaly', 'pattern', 'composite', 'expression', 'predictive')",
                           name="kind"),
        sa.CheckConstraint("severity in ('critical', 'high', 'warning', 'info')", name="severity"),
        sa.CheckConstraint("pending_seconds >= 0 and keep_firing_seconds >= 0", name="periods"),
    )


class AlertInstance(db.Model):
    """One alert per (rule, label set): its current state and who is handling it."""

    __tablename__ = "alert_instances"

    id = sa.Column(sa.Integer, primary_key=True)
    rule_id = sa.Column(sa.Integer, sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False)
    fingerprint = sa.Column(sa.String(64), nullable=False)  # sha256 of the canonical label set
    labels = sa.Column(sa.JSON, nullable=False, default=dict)  # rule labels + instance labels + alertname
    severity = sa.Column(sa.String(12), nullable=False, default="warning")
    state = sa.Column(sa.String(12), nullable=False, default="normal")
    episode = sa.Column(sa.Integer, nullable=False, default=0)  # bumps on every Pending/Firing start
    value = sa.Column(sa.Float, nullable=True)
    summary = sa.Column(sa.String(300), nullable=False, default="")
    state_since = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    pending_since = sa.Column(UTCDateTime, nullable=True)
    firing_since = sa.Column(UTCDateTime, nullable=True)
    recovering_since = sa.Column(UTCDateTime, nullable=True)
    resolved_at = sa.Column(UTCDateTime, nullable=True)
    last_evaluated_at = sa.Column(UTCDateTime, nullable=True)
    acknowledged_by = sa.Column(sa.String(64), nullable=True)
    acknowledged_at = sa.Column(UTCDateTime, nullable=True)
    ack_expires_at = sa.Column(UTCDateTime, nullable=True)  # None with acknowledged_at set = until resolved
    assignee = sa.Column(sa.String(64), nullable=True)
    snoozed_until = sa.Column(UTCDateTime, nullable=True)
    silenced_until_resolved = sa.Column(sa.Boolean, nullable=False, default=False)
    escalation_level = sa.Column(sa.Integer, nullable=False, default=0)
    incident_id = sa.Column(sa.Integer, sa.ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("rule_id", "fingerprint", name="uq_alert_instances_rule_fingerprint"),
        sa.CheckConstraint("state in ('normal', 'pending', 'firing', 'recovering', 'nodata', 'error')",
                           name="state"),
        sa.Index("ix_alert_instances_state", "state"),
    )


class AlertEvent(db.Model):
    """The searchable history: every state transition and every human action on an alert."""

    __tablename__ = "alert_events"

    id = sa.Column(sa.Integer, primary_key=True)
    instance_id = sa.Column(sa.Integer, sa.ForeignKey("alert_instances.id", ondelete="CASCADE"), nullable=False)
    rule_id = sa.Column(sa.Integer, sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False)
    at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # transition: the new state name; action: ack, unack, assign, snooze, silence, resolve, note, escalate
    kind = sa.Column(sa.String(16), nullable=False)
    from_state = sa.Column(sa.String(12), nullable=True)
    to_state = sa.Column(sa.String(12), nullable=True)
    episode = sa.Column(sa.Integer, nullable=False, default=0)
    value = sa.Column(sa.Float, nullable=True)
    actor = sa.Column(sa.String(64), nullable=False, default="system")
    note = sa.Column(sa.String(500), nullable=False, default="")

    __table_args__ = (
        sa.Index("ix_alert_events_at", "at"),
        sa.Index("ix_alert_events_instance_at", "instance_id", "at"),
    )


class ContactPoint(db.Model):
    __tablename__ = "contact_points"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), nullable=False, unique=True)
    kind = sa.Column(sa.String(12), nullable=False)
    settings = sa.Column(sa.JSON, nullable=False, default=dict)  # url / to / routing_key ... (validated)
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("kind in ('in_app', 'email', 'webhook', 'slack', 'pagerduty')", name="kind"),
    )


class NotificationPolicy(db.Model):
    """A node of the routing tree (parent_id NULL = the root, which matches everything). Children are
    tried in `position` order; the first match wins unless it says `continue_matching`. Timings left
    NULL inherit from the parent."""

    __tablename__ = "notification_policies"

    id = sa.Column(sa.Integer, primary_key=True)
    parent_id = sa.Column(sa.Integer, sa.ForeignKey("notification_policies.id", ondelete="CASCADE"), nullable=True)
    position = sa.Column(sa.Integer, nullable=False, default=0)
    name = sa.Column(sa.String(80), nullable=False, default="")
    matchers = sa.Column(sa.JSON, nullable=False, default=list)  # [[label, "=|!=|=~|!~", value], ...]
    contact_point_id = sa.Column(sa.Integer, sa.ForeignKey("contact_points.id", ondelete="SET NULL"), nullable=True)
    group_by = sa.Column(sa.JSON, nullable=True)  # list of label names; ["..."] = every label
    group_wait_seconds = sa.Column(sa.Integer, nullable=True)
    group_interval_seconds = sa.Column(sa.Integer, nullable=True)
    repeat_interval_seconds = sa.Column(sa.Integer, nullable=True)
    continue_matching = sa.Column(sa.Boolean, nullable=False, default=False)
    mute_timings = sa.Column(sa.JSON, nullable=False, default=list)  # names of TimeInterval rows
    active_timings = sa.Column(sa.JSON, nullable=False, default=list)
    escalation = sa.Column(sa.JSON, nullable=False, default=list)  # [{"after_minutes": 15, "contact_point": "name"}]
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class TimeInterval(db.Model):
    """A named set of time windows, used by policies as a mute or an active timing. `spec` is either
    explicit windows (weekdays, times of day, time zone) or an exchange calendar's sessions
    ({"calendar": "XNYS", "when": "closed"|"open"})."""

    __tablename__ = "time_intervals"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), nullable=False, unique=True)
    spec = sa.Column(sa.JSON, nullable=False, default=dict)
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class Silence(db.Model):
    __tablename__ = "silences"

    id = sa.Column(sa.Integer, primary_key=True)
    matchers = sa.Column(sa.JSON, nullable=False, default=list)
    starts_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    ends_at = sa.Column(UTCDateTime, nullable=False)
    comment = sa.Column(sa.String(300), nullable=False, default="")
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expired_by = sa.Column(sa.String(64), nullable=True)  # ended early by hand

    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="window"),)


class InhibitionRule(db.Model):
    """While an alert matching `source_matchers` fires, alerts matching `target_matchers` that share the
    values of the `equal` labels are not notified (they still show in the inbox)."""

    __tablename__ = "inhibition_rules"

    id = sa.Column(sa.Integer, primary_key=True)
    source_matchers = sa.Column(sa.JSON, nullable=False, default=list)
    target_matchers = sa.Column(sa.JSON, nullable=False, default=list)
    equal = sa.Column(sa.JSON, nullable=False, default=list)
    comment = sa.Column(sa.String(300), nullable=False, default="")
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class NotificationGroup(db.Model):
    """Aggregation state per (policy, group key): when it was first seen, last flushed, and what was in
    the last notification (so repeat_interval and group_interval can be honoured across processes)."""

    __tablename__ = "notification_groups"

    id = sa.Column(sa.Integer, primary_key=True)
    policy_id = sa.Column(sa.Integer, sa.ForeignKey("notification_policies.id", ondelete="CASCADE"), nullable=False)
    group_key = sa.Column(sa.String(64), nullable=False)
    labels = sa.Column(sa.JSON, nullable=False, default=dict)
    first_seen_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_flush_at = sa.Column(UTCDateTime, nullable=True)
    last_digest = sa.Column(sa.String(64), nullable=True)  # hash of (fingerprint, state) sent last

    __table_args__ = (sa.UniqueConstraint("policy_id", "group_key", name="uq_notification_groups_policy_key"),)


class Notification(db.Model):
    """Every notification the cockpit sent, tried, or decided not to send (status 'suppressed' with a
    reason: grouped, inhibited, silenced, muted, snoozed, acknowledged, repeat_interval, no_route)."""

    __tablename__ = "notifications"

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    instance_id = sa.Column(sa.Integer, sa.ForeignKey("alert_instances.id", ondelete="CASCADE"), nullable=True)
    group_id = sa.Column(sa.Integer, sa.ForeignKey("notification_groups.id", ondelete="SET NULL"), nullable=True)
    policy_id = sa.Column(sa.Integer, sa.ForeignKey("notification_policies.id", ondelete="SET NULL"), nullable=True)
    contact_point_id = sa.Column(sa.Integer, sa.ForeignKey("contact_points.id", ondelete="SET NULL"), nullable=True)
    event = sa.Column(sa.String(16), nullable=False)  # firing | resolved | acknowledged | escalation
    status = sa.Column(sa.String(12), nullable=False, default="queued")
    reason = sa.Column(sa.String(32), nullable=False, default="")
    dedup_key = sa.Column(sa.String(64), nullable=False, default="")
    payload = sa.Column(sa.JSON, nullable=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(UTCDateTime, nullable=True)
    last_error = sa.Column(sa.String(300), nullable=False, default="")
    sent_at = sa.Column(UTCDateTime, nullable=True)

    __table_args__ = (
        sa.CheckConstraint("status in ('queued', 'sent', 'retrying', 'failed', 'suppressed')", name="status"),
        sa.Index("ix_notifications_created_at", "created_at"),
        sa.Index("ix_notifications_status_next", "status", "next_attempt_at"),
    )


class Incident(db.Model):
    __tablename__ = "incidents"

    id = sa.Column(sa.Integer, primary_key=True)
    title = sa.Column(sa.String(200), nullable=False)
    severity = sa.Column(sa.String(12), nullable=False, default="high")
    state = sa.Column(sa.String(12), nullable=False, default="open")
    commander = sa.Column(sa.String(64), nullable=True)
    summary = sa.Column(sa.String(2000), nullable=False, default="")
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    mitigated_at = sa.Column(UTCDateTime, nullable=True)
    resolved_at = sa.Column(UTCDateTime, nullable=True)

    __table_args__ = (sa.CheckConstraint("state in ('open', 'mitigated', 'resolved')", name="state"),)


class IncidentEntry(db.Model):
    """What the incident itself records (notes, commander changes, state changes, runbook output). The
    timeline merges these with alert events, control actions, limit edits, engine events and job
    failures read from their own tables."""

    __tablename__ = "incident_entries"

    id = sa.Column(sa.Integer, primary_key=True)
    incident_id = sa.Column(sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    kind = sa.Column(sa.String(24), nullable=False)  # note | commander | state | alert_linked | runbook
    actor = sa.Column(sa.String(64), nullable=False, default="system")
    text = sa.Column(sa.String(4000), nullable=False, default="")
    data = sa.Column(sa.JSON, nullable=False, default=dict)
