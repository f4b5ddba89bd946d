"""The alerts inbox on SQLite and PostgreSQL: actions write one event and one audit record, acks with
an expiry that a duplicate does not reset, assignment to real users only, snooze bounds, resolve with a
note, filters, grouping, navbar counts and the history search."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import history, inbox
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from models import AlertEvent, AuditRecord, utcnow
from tests.support.alerts import make_alert, make_rule


def _events(instance_id: int) -> list[str]:
    return list(db.session.execute(sa.select(AlertEvent.kind).where(AlertEvent.instance_id == instance_id)
                                   .order_by(AlertEvent.id)).scalars())


def _audits(action: str) -> list[AuditRecord]:
    return list(db.session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)).scalars())


def test_ack_with_expiry_is_not_reset_by_a_duplicate_ack_and_unack_clears_it(server, make_user):
    make_user("trader")
    alert = make_alert()
    now = utcnow()
    inbox.acknowledge("trader1", "trader", alert.id, expires=30, note="looking", now=now)
    db.session.expire_all()
    row = inbox.get_instance(alert.id)
    first_expiry = row.ack_expires_at
    assert row.acknowledged_by == "trader1" and first_expiry == now + timedelta(minutes=30)
    # A second ack ten minutes later (another person, a longer expiry): nothing changes.
    inbox.acknowledge("risk1", "risk", alert.id, expires=120, now=now + timedelta(minutes=10))
    db.session.expire_all()
    row = inbox.get_instance(alert.id)
    assert row.ack_expires_at == first_expiry and row.acknowledged_by == "trader1"
    assert _events(alert.id).count("ack") == 1 and len(_audits("alert.ack")) == 1
    assert inbox.list_alerts(inbox.make_filter(acknowledged=True), now=now)[0]["ack"].startswith("trader1 until")
    # After the expiry the alert reads as not acknowledged, and a new ack takes.
    later = first_expiry + timedelta(seconds=1)
    assert inbox.list_alerts(inbox.make_filter(acknowledged=False), now=later)[0]["ack"] == "expired"
    inbox.acknowledge("risk1", "risk", alert.id, now=later)
    db.session.expire_all()
    assert inbox.get_instance(alert.id).ack_expires_at is None and _events(alert.id).count("ack") == 2
    inbox.unacknowledge("risk1", "risk", alert.id, now=later)
    db.session.expire_all()
    assert inbox.get_instance(alert.id).acknowledged_at is None and _events(alert.id)[-1] == "unack"
    with pytest.raises(ValidationError) as err:
        inbox.acknowledge("risk1", "risk", alert.id, expires=60 * 24 * 8)
    assert err.value.field == "expires"


def test_assign_needs_an_existing_user_and_the_permission(server, make_user):
    make_user("trader")
    make_user("viewer")
    alert = make_alert()
    with pytest.raises(ValidationError) as err:
        inbox.assign("trader1", "trader", alert.id, "nobody-here")
    assert err.value.field == "assignee" and "nobody-here" in err.value.message
    inbox.assign("trader1", "trader", alert.id, "Viewer1")
    db.session.expire_all()
    assert inbox.get_instance(alert.id).assignee == "viewer1"
    assert inbox.list_alerts(inbox.make_filter(owner="viewer1"))[0]["owner"] == "viewer1"
    assert inbox.list_alerts(inbox.make_filter(owner="-")) == []
    with pytest.raises(PermissionDenied):
        inbox.assign("viewer1", "viewer", alert.id, "trader1")
    denied = _audits("alert.assign")
    assert [a.outcome for a in denied] == ["ok", "denied"]
    assert _events(alert.id)[-1] == "assign"


def test_snooze_bounds_silence_and_resolve_with_a_note(server, make_user):
    alert = make_alert()
    now = utcnow()
    for bad in (0, 60 * 24 * 7 + 1, "2020-01-01T00:00:00Z", "tomorrow", (now + timedelta(days=8)).isoformat()):
        with pytest.raises(ValidationError) as err:
            inbox.snooze("trader1", "trader", alert.id, bad, now=now)
        assert err.value.field == "until", bad
    inbox.snooze("trader1", "trader", alert.id, (now + timedelta(hours=2)).isoformat(), now=now)
    inbox.silence_until_resolved("trader1", "trader", alert.id, now=now)
    inbox.silence_until_resolved("trader1", "trader", alert.id, now=now)  # idempotent: one event
    with pytest.raises(ValidationError) as err:
        inbox.resolve("trader1", "trader", alert.id, "   ")
    assert err.value.field == "note"
    with pytest.raises(ValidationError):
        inbox.resolve("trader1", "trader", alert.id, "x" * 501)
    with pytest.raises(ValidationError):
        inbox.resolve("trader1", "trader", alert.id, "line\nbreak")
    inbox.resolve("trader1", "trader", alert.id, "limit raised after review", now=now)
    db.session.expire_all()
    row = inbox.get_instance(alert.id)
    assert row.state == "normal" and row.resolved_at is not None and row.silenced_until_resolved
    assert _events(alert.id)[-3:] == ["snooze", "silence", "resolve"]
    last = db.session.execute(sa.select(AlertEvent).order_by(AlertEvent.id.desc())).scalars().first()
    assert (last.from_state, last.to_state, last.note, last.actor) == ("firing", "normal",
                                                                       "limit raised after review", "trader1")
    assert len(_audits("alert.resolve")) == 1 and len(_audits("alert.silence")) == 1
    with pytest.raises(Conflict):
        inbox.acknowledge("trader1", "trader", alert.id)
    assert inbox.list_alerts() == []  # the inbox shows open alerts
    assert inbox.list_alerts(inbox.make_filter(states="normal"))[0]["id"] == alert.id


def test_filters_groups_counts_and_history(server, make_user):
    rule = make_rule("slippage_high", severity="warning", labels={"team": "execution"})
    a = make_alert(rule, labels={"venue": "XNAS"})
    b = make_alert(rule, labels={"venue": "ARCA"})
    c = make_alert(make_rule("engine_heartbeat", severity="critical", labels={"team": "ops"}), state="pending")
    inbox.acknowledge("trader1", "trader", a.id)
    rows = inbox.list_alerts()
    assert [r["id"] for r in rows][0] == c.id  # critical first
    assert {r["id"] for r in inbox.list_alerts(inbox.make_filter(labels="venue=~XN.*"))} == {a.id}
    assert {r["id"] for r in inbox.list_alerts(inbox.make_filter(labels="team!=execution"))} == {c.id}
    assert {r["id"] for r in inbox.list_alerts(inbox.make_filter(acknowledged="false", severities="warning"))} == {b.id}
    assert {r["id"] for r in inbox.list_alerts(inbox.make_filter(text="heartbeat"))} == {c.id}
    assert {r["id"] for r in inbox.list_alerts(inbox.make_filter(states=["pending"]))} == {c.id}
    for bad in ({"labels": "venue=~("}, {"labels": "no operator"}, {"states": "burning"}, {"severities": "x"},
                {"acknowledged": "maybe"}, {"text": "a\x00b"}):
        with pytest.raises(ValidationError) as err:
            inbox.make_filter(**bad)
        assert err.value.field in ("labels", "state", "severity", "acknowledged", "text"), bad
    groups = inbox.group_rows(rows, ["team"])
    assert [(g["title"], g["count"], g["firing"]) for g in groups] == [("team=execution", 2, 2), ("team=ops", 1, 0)]
    assert "venue" in inbox.groupable_labels(rows)
    counts = inbox.navbar_counts()
    assert counts["firing"] == 2 and counts["unacknowledged"] == 1
    assert counts["by_severity"]["warning"] == {"firing": 2, "unacknowledged": 1}
    inbox.add_note("trader1", "trader", b.id, "checking ARCA routing")
    found = history.search(rule="slippage_high", labels="venue=ARCA")
    assert [r["kind"] for r in found.rows] == ["note", "firing", "pending"] and found.total == 3
    assert history.search(actor="trader1").total == 2
    assert history.search(state="ack").rows[0]["alert_id"] == a.id
    paged = history.search(page=2, page_size=2)
    assert paged.total == 7 and len(paged.rows) == 2
    now = utcnow()
    with pytest.raises(ValidationError) as err:
        history.search(start=(now - timedelta(days=100)).isoformat(), end=now.isoformat())
    assert err.value.field == "start"
    with pytest.raises(ValidationError) as err:
        history.search(rule="no-such-rule")
    assert err.value.field == "rule"


# --- with the real evaluation (services/alerts/evaluation.py) ---------------------------------------

_SAMPLES: list = []


def _register_metric():
    from dashapp.services.alerts import metrics
    from dashapp.services.alerts.metrics import MetricSource

    if metrics.metric("test.inbox_value") is None:
        metrics.register_metric(MetricSource("test.inbox_value", "Inbox test value", "count", ("k",),
                                             lambda now: list(_SAMPLES), lambda start, end: []))


def test_evaluation_keeps_the_ack_expiry_and_a_manual_resolve_starts_a_new_episode(server, make_user):
    from dashapp.services.alerts import evaluation, rules
    from dashapp.services.alerts.metrics import Sample

    _register_metric()
    rule = rules.create_rule("risk1", {"name": "Inbox eval", "kind": "threshold",
                                       "spec": {"metric": "test.inbox_value", "op": ">", "value": 10}})
    _SAMPLES[:] = [Sample({"k": "a"}, 50.0)]
    t0 = utcnow()
    evaluation.evaluate_all(t0, force=True)
    [row] = inbox.list_alerts(inbox.make_filter(rule_id=rule.id), now=t0)
    assert row["state"] == "firing" and row["episode"] == 1
    inbox.acknowledge("trader1", "trader", row["id"], expires=60, now=t0)
    for seconds in (5, 10, 15):
        evaluation.evaluate_all(t0 + timedelta(seconds=seconds), force=True)
    db.session.expire_all()
    alert = inbox.get_instance(row["id"])
    assert alert.ack_expires_at == t0 + timedelta(minutes=60) and alert.acknowledged_by == "trader1"
    inbox.resolve("trader1", "trader", row["id"], "restarted the feed", now=t0 + timedelta(seconds=20))
    evaluation.evaluate_all(t0 + timedelta(seconds=25), force=True)  # still over 10: a new episode
    db.session.expire_all()
    alert = inbox.get_instance(row["id"])
    assert (alert.state, alert.episode, alert.acknowledged_at) == ("firing", 2, None)
    _SAMPLES.clear()
