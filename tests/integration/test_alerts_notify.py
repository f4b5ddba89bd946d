"""Alert notifications end to end on both databases, with a REAL local HTTP receiver (webhook, Slack,
PagerDuty) and a REAL local SMTP server (aiosmtpd): a breach fires once after its pending period and
notifies with the documented payloads, repeats only after repeat_interval, is silenced by a matching
silence (recorded "silenced"), resolves ("resolved" sent); an inhibited alert sends nothing (recorded
"inhibited"); a failing receiver is retried with backoff and every attempt recorded; an unacknowledged
alert escalates; two dispatchers at once send once. Time is driven with explicit `now` values."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import (contact_points, delivery, dispatch, inhibition, notifications_query, payloads,
                                    policies, seed, silences)
from dashapp.services.errors import ValidationError
from models import AuditRecord
from models.alerts import AlertEvent, AlertInstance, Notification
from tests.support.alert_receivers import Breach, http_receiver, smtp_server

T0 = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)  # a fixed instant, never the clock
ROUTING_KEY = "R0UTINGKEY0123456789abcdefABCDEF"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def receiver():
    with http_receiver() as r:
        yield r


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


def wire(receiver, mailbox, repeat=600) -> dict:
    """The default seed (in-app root), then one child per channel for critical alerts, each continuing."""
    assert seed.ensure_defaults("risk1") is not None and seed.ensure_defaults("risk1") is None  # idempotent
    root = policies.root()
    policies.save_policy("risk1", {"group_wait_seconds": 0, "group_interval_seconds": 1,
                                   "repeat_interval_seconds": repeat}, root.id)
    settings = {"webhook": {"url": receiver.url + "/webhook"}, "slack": {"url": receiver.url + "/slack"},
                "pagerduty": {"routing_key": ROUTING_KEY, "events_url": receiver.url + "/pagerduty"},
                "email": {"to": ["risk@desk.example.com"], "from": "cockpit@desk.example.com",
                          "smtp_host": "127.0.0.1", "smtp_port": mailbox.port, "starttls": False}}
    points = {}
    for position, (kind, values) in enumerate(settings.items()):
        points[kind] = contact_points.create_contact_point("risk1", {"name": f"desk {kind}", "kind": kind,
                                                                     "settings": values})
        policies.save_policy("risk1", {"parent_id": root.id, "position": position, "name": f"critical to {kind}",
                                       "matchers": "severity=critical", "contact_point": f"desk {kind}",
                                       "continue_matching": True})
    policies.save_policy("risk1", {"parent_id": root.id, "position": 99, "name": "everything in-app",
                                   "matchers": [], "continue_matching": True})
    return points


def notifications(**where) -> list[Notification]:
    stmt = sa.select(Notification).order_by(Notification.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(Notification, name) == value)
    db.session.expire_all()
    return list(db.session.execute(stmt).scalars())


def test_breach_fires_once_notifies_every_channel_repeats_and_resolves(server, receiver, mailbox):
    points = wire(receiver, mailbox)
    breach = Breach("Net exposure", {"desk": "equities", "limit": "net_exposure"}, pending_seconds=30)
    fp = breach.instance.fingerprint

    # Pending: nothing leaves, nothing is owed.
    assert breach.observe(True, at(0)) == "pending"
    assert dispatch.run(at(0), wait=True).queued == 0
    assert breach.observe(True, at(10)) == "pending"
    assert dispatch.run(at(10), wait=True).queued == 0
    assert receiver.requests == [] and mailbox.messages == []

    # Firing after the pending period: every channel once.
    assert breach.observe(True, at(30)) == "firing"
    report = dispatch.run(at(30), wait=True)
    assert report.sent == report.submitted == 5 and report.failed == 0
    [hook] = receiver.bodies("/webhook")
    assert hook["status"] == "firing" and hook["receiver"] == "desk webhook" and hook["version"] == "4"
    assert hook["groupLabels"] == {"alertname": "Net exposure"} and hook["commonLabels"]["desk"] == "equities"
    [alert] = hook["alerts"]
    assert alert["fingerprint"] == fp and alert["labels"] == breach.labels and alert["state"] == "firing"
    assert alert["startsAt"] == "2026-12-07T14:30:30.000000Z" and alert["endsAt"] == payloads.ZERO_TIME
    assert alert["generatorURL"].endswith(f"/alerts?instance={breach.instance.id}")
    [slack] = receiver.bodies("/slack")
    assert slack["text"] == "[FIRING:1] Net exposure" and slack["blocks"][0]["type"] == "header"
    [trigger] = receiver.bodies("/pagerduty")
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == ROUTING_KEY
    assert trigger["dedup_key"] == f"{fp[:48]}-e1" and trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "trading-desk-cockpit" and "custom_details" in trigger["payload"]
    [mail] = mailbox.wait_for(1)
    assert mail["Subject"] == "[FIRING:1] Net exposure" and mail["To"] == "risk@desk.example.com"
    assert "Net exposure at 1.04" in mail.get_content()
    [in_app] = notifications(contact_point_id=policies.root().contact_point_id)
    assert in_app.status == "sent" and in_app.payload["title"] == "[FIRING:1] Net exposure"
    assert all(n.status == "sent" and n.attempts == 1 and n.sent_at is not None for n in notifications(status="sent"))

    # Duplicate evaluations and passes before repeat_interval send nothing.
    for seconds in (31, 60, 300, 629):
        assert breach.observe(True, at(seconds)) == "firing"
        assert dispatch.run(at(seconds), wait=True).queued == 0
    assert len(receiver.requests) == 3 and len(mailbox.messages) == 1

    # repeat_interval (600 s) after the first notification: sent again, same PagerDuty dedup key.
    assert dispatch.run(at(630), wait=True).sent == 5
    assert [b["status"] for b in receiver.bodies("/webhook")] == ["firing", "firing"]
    assert [b["dedup_key"] for b in receiver.bodies("/pagerduty")] == [f"{fp[:48]}-e1"] * 2

    # Resolution: "resolved" everywhere, PagerDuty resolve with the same dedup key; then the group is quiet.
    assert breach.observe(False, at(700)) == "normal"
    assert dispatch.run(at(700), wait=True).sent == 5
    resolved = receiver.bodies("/webhook")[-1]
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"] == "2026-12-07T14:41:40.000000Z"
    assert receiver.bodies("/slack")[-1]["text"] == "[RESOLVED] Net exposure"
    assert receiver.bodies("/pagerduty")[-1] == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                                                 "dedup_key": f"{fp[:48]}-e1"}
    assert mailbox.wait_for(3)[-1]["Subject"] == "[RESOLVED] Net exposure"
    assert dispatch.run(at(5000), wait=True).queued == 0
    assert len(receiver.bodies("/webhook")) == 3
    # Every send is in the history, and every policy/contact-point change in the audit trail.
    events = [n.event for n in notifications(contact_point_id=points["webhook"].id)]
    assert events == ["firing", "firing", "resolved"]
    actions = set(db.session.execute(sa.select(AuditRecord.action)).scalars())
    assert {"alerts.contact_point.save", "alerts.policy.save", "alerts.policy.seed"} <= actions


def test_silence_inhibition_ack_and_escalation(server, receiver, mailbox):
    wire(receiver, mailbox)
    root = policies.root()
    policies.save_policy("risk1", {"escalation": [{"after_minutes": 5, "contact_point": "desk slack"}]}, root.id)
    inhibition.save_rule("risk1", {"source_matchers": "alertname=Engine down", "target_matchers": "severity=warning",
                                   "equal": ["desk"], "comment": "an engine that is down explains its desk's warnings"})
    silence = silences.create_silence("risk1", {"matchers": 'alertname=~"Slippage.*"', "duration_minutes": 60,
                                                "comment": "venue maintenance"}, now=at(0))
    engine = Breach("Engine down", {"desk": "equities"})
    warn = Breach("Reject rate", {"desk": "equities"}, severity="warning")
    other_desk = Breach("Fill rate", {"desk": "fx"}, severity="warning")
    slip = Breach("Slippage high", {"desk": "equities"})
    for breach in (engine, warn, other_desk, slip):
        assert breach.observe(True, at(0)) == "firing"
    report = dispatch.run(at(0), wait=True)
    assert report.reasons == {"inhibited": 1, "silenced": 5}  # the silence holds for every route of the alert
    bodies = receiver.bodies("/webhook")
    assert [b["alerts"][0]["labels"]["alertname"] for b in bodies] == ["Engine down"]
    inhibited = notifications(instance_id=warn.instance.id)
    assert [(n.status, n.reason) for n in inhibited] == [("suppressed", "inhibited")]
    assert {(n.status, n.reason) for n in notifications(instance_id=slip.instance.id)} == {("suppressed", "silenced")}
    # The fx warning shares no desk with the down engine: it is not inhibited (in-app only: not critical).
    assert [n.status for n in notifications(instance_id=other_desk.instance.id)] == ["sent"]
    # Suppressions are recorded once, not on every pass.
    for seconds in (1, 2, 3):
        dispatch.run(at(seconds), wait=True)
    assert len(notifications(status="suppressed")) == 6

    # The silence ends early: the slippage alert goes out at the next pass.
    silences.expire_silence("risk1", silence.id, now=at(120))
    dispatch.run(at(121), wait=True)
    assert [b["alerts"][0]["labels"]["alertname"] for b in receiver.bodies("/webhook")] == ["Engine down",
                                                                                           "Slippage high"]

    # Acknowledging the engine alert tells PagerDuty; an acknowledged alert does not escalate.
    with db.session.begin_nested():
        row = db.session.get(AlertInstance, engine.instance.id)
        row.acknowledged_by, row.acknowledged_at = "trader1", at(200)
        db.session.add(AlertEvent(instance_id=row.id, rule_id=row.rule_id, at=at(200), kind="ack", actor="trader1",
                                  episode=row.episode))
    db.session.commit()
    dispatch.run(at(200), wait=True)
    ack = receiver.bodies("/pagerduty")[-1]
    assert ack["event_action"] == "acknowledge" and ack["dedup_key"] == f"{engine.instance.fingerprint[:48]}-e1"

    # Five minutes unacknowledged: the slippage and fx alerts escalate to Slack once each; the acked
    # engine alert and the inhibited warning do not.
    slack_before = len(receiver.bodies("/slack"))
    report = dispatch.run(at(301), wait=True)
    assert report.escalated == 2
    assert sorted(b["text"] for b in receiver.bodies("/slack")[slack_before:]) == ["[FIRING:1] Fill rate",
                                                                                  "[FIRING:1] Slippage high"]
    escalations = db.session.execute(sa.select(AlertEvent).where(AlertEvent.kind == "escalate")).scalars().all()
    assert sorted((e.instance_id, e.note[:8]) for e in escalations) == sorted(
        [(slip.instance.id, "level 1:"), (other_desk.instance.id, "level 1:")])
    assert {n.event for n in notifications(event="escalation")} == {"escalation"}
    assert dispatch.run(at(400), wait=True).escalated == 0

    # The notification history answers by rule, labels, status and reason.
    window = {"start": at(-10), "end": at(500), "now": at(500)}
    inhibited_rows = notifications_query.search(labels="desk=equities", reason="inhibited", **window)
    assert [(r["rule"], r["status"], r["alert_id"]) for r in inhibited_rows] == [("Reject rate", "suppressed",
                                                                                   warn.instance.id)]
    slip_rows = notifications_query.search(rule="Slippage high", **window)
    assert {(r["status"], r["reason"]) for r in slip_rows} == {("suppressed", "silenced"), ("sent", "")}
    assert {r["event"] for r in notifications_query.search(contact_point="desk slack", **window)} == {
        "firing", "escalation"}
    with pytest.raises(ValidationError, match="status: 'bogus' is not one of"):
        notifications_query.search(status="bogus")


def test_failing_receiver_is_retried_with_backoff_then_recorded(server, receiver, mailbox, monkeypatch):
    monkeypatch.setenv("COCKPIT_ALERTS_RETRY_BASE_SECONDS", "4")
    monkeypatch.setenv("COCKPIT_ALERTS_MAX_ATTEMPTS", "3")
    root_cp = contact_points.create_contact_point("risk1", {"name": "flaky", "kind": "webhook",
                                                            "settings": {"url": receiver.url + "/flaky"}})
    policies.save_policy("risk1", {"parent_id": None, "name": "root", "contact_point": root_cp.id,
                                   "group_wait_seconds": 0, "group_interval_seconds": 1,
                                   "repeat_interval_seconds": 3600})
    receiver.answers["/flaky"] = [503, 503, 200]
    breach = Breach("Latency", {"venue": "XNAS"})
    breach.observe(True, at(0))
    report = dispatch.run(at(0), wait=True)
    assert (report.submitted, report.retrying) == (1, 1)
    [row] = notifications()
    assert (row.status, row.attempts) == ("retrying", 1) and row.last_error.startswith("RuntimeError: HTTP 503")
    first_wait = (row.next_attempt_at - at(0)).total_seconds()
    assert 2 <= first_wait <= 4  # base 4 s with equal jitter
    assert dispatch.run(at(first_wait - 0.5), wait=True).submitted == 0  # not before its time
    assert dispatch.run(at(first_wait), wait=True).retrying == 1
    [row] = notifications()
    second_wait = (row.next_attempt_at - at(first_wait)).total_seconds()
    assert row.attempts == 2 and 4 <= second_wait <= 8  # doubled
    assert dispatch.run(at(first_wait + second_wait), wait=True).sent == 1
    [row] = notifications()
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert len(receiver.bodies("/flaky")) == 3

    # A receiver that keeps failing: failed after the last attempt; a 404 fails at once (no retry helps).
    contact_points.update_contact_point(root_cp.id, "risk1", {"name": "flaky", "kind": "webhook",
                                                              "settings": {"url": receiver.url + "/down"}})
    receiver.answers["/down"] = [500]
    other = Breach("Reject burst", {"venue": "LP1"})
    other.observe(True, at(100))
    moment = 100.0
    for _ in range(3):
        dispatch.run(at(moment), wait=True)
        row = notifications(instance_id=other.instance.id)[-1]
        moment = (row.next_attempt_at - T0).total_seconds() if row.next_attempt_at else moment
    assert (row.status, row.attempts) == ("failed", 3) and "HTTP 500" in row.last_error
    contact_points.update_contact_point(root_cp.id, "risk1", {"name": "flaky", "kind": "webhook",
                                                              "settings": {"url": receiver.url + "/gone"}})
    receiver.answers["/gone"] = [404]
    gone = Breach("Queue depth", {"queue": "jobs"})
    gone.observe(True, at(200))
    assert dispatch.run(at(200), wait=True).failed == 1
    row = notifications(instance_id=gone.instance.id)[-1]
    assert (row.status, row.attempts) == ("failed", 1) and "HTTP 404" in row.last_error


def test_validation_messages_and_concurrent_dispatchers(server, receiver, mailbox):
    wire(receiver, mailbox, repeat=3600)
    root = policies.root()
    with pytest.raises(ValidationError, match="group_wait .10 min. must not be longer than group_interval .5 min."):
        policies.save_policy("risk1", {"group_wait_seconds": 600, "group_interval_seconds": 300}, root.id)
    child = policies.list_policies()[1]
    with pytest.raises(ValidationError, match="group_interval .2 h. must not be longer than repeat_interval .1 h."):
        policies.save_policy("risk1", {"group_interval_seconds": 7200}, child.id)
    with pytest.raises(ValidationError, match="contact point 'nobody' does not exist"):
        policies.save_policy("risk1", {"contact_point": "nobody"}, child.id)
    with pytest.raises(ValidationError, match="http:// or https://"):
        contact_points.create_contact_point("risk1", {"name": "x", "kind": "webhook", "settings": {"url": "file:///etc"}})
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        silences.create_silence("risk1", {"matchers": 'desk=~"(eq"', "duration_minutes": 5})
    with pytest.raises(ValidationError, match="parent_id must be a policy id"):
        policies.save_policy("risk1", {"parent_id": "1; drop table", "contact_point": "desk webhook"})
    with pytest.raises(ValidationError, match="at most 20 matchers"):
        policies.save_policy("risk1", {"parent_id": root.id, "matchers": [f"l{i}=x" for i in range(21)]})
    before = len(policies.list_policies())
    assert policies.root().group_wait_seconds == 0  # nothing half-written
    assert len(policies.list_policies()) == before

    # A test notification: sent once at once, recorded (event "test"), audited; a refusal is reported.
    from dashapp.cli_commands.alerts import group as alerts_cli
    from dashapp.services.alerts import probe

    row = probe.send_test("risk1", "desk webhook", now=at(-60))
    assert (row.status, row.event, row.attempts) == ("sent", "test", 1)
    assert receiver.bodies("/webhook")[0]["alerts"][0]["labels"]["alertname"] == "Cockpit test notification"
    contact_points.update_contact_point(row.contact_point_id, "risk1", {
        "name": "desk webhook", "kind": "webhook", "settings": {"url": receiver.url + "/missing"}})
    receiver.answers["/missing"] = [404]
    result = server.test_cli_runner().invoke(alerts_cli, ["notify-test", "desk webhook"])
    assert result.exit_code == 1 and "failed: Permanent" not in result.output and "HTTP 404" in result.output
    assert notifications(event="test")[-1].status == "failed"
    with pytest.raises(ValidationError, match="contact point 'nobody' does not exist"):
        probe.send_test("risk1", "nobody")
    contact_points.update_contact_point(row.contact_point_id, "risk1", {
        "name": "desk webhook", "kind": "webhook", "settings": {"url": receiver.url + "/webhook"}})
    receiver.requests.clear()

    # Two dispatchers at the same instant: one set of notifications.
    Breach("Drawdown", {"desk": "equities"}).observe(True, at(0))
    app = server
    results = []

    def pass_():
        with app.app_context():
            results.append(dispatch.run(at(0), deliver=False))
            db.session.remove()

    threads = [threading.Thread(target=pass_) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.queued for r in results) == [0, 5]  # the other waited (SQLite) or skipped (PostgreSQL)
    dispatch.run(at(1))  # as the runner does: sends on the thread pool, the pass returns at once
    delivery.drain()
    assert len(receiver.bodies("/webhook")) == 1 and len(notifications(event="firing")) == 5


def test_mute_timing_snooze_no_route_and_a_claim_left_by_a_dead_process(server, receiver, mailbox):
    from dashapp.services.alerts import timings

    hook = contact_points.create_contact_point("risk1", {"name": "hook", "kind": "webhook",
                                                         "settings": {"url": receiver.url + "/webhook"}})
    timings.save_interval("risk1", {"name": "NYSE closed", "spec": {"calendar": "XNYS", "when": "closed"}})
    policies.save_policy("risk1", {"parent_id": None, "name": "root", "contact_point": hook.id,
                                   "group_wait_seconds": 0, "group_interval_seconds": 1,
                                   "repeat_interval_seconds": 3600})
    root = policies.root()
    quiet = contact_points.create_contact_point("risk1", {"name": "off", "kind": "in_app", "enabled": False})
    policies.save_policy("risk1", {"parent_id": root.id, "name": "stale data when closed", "contact_point": "hook",
                                   "matchers": "alertname=Stale quotes", "mute_timings": ["NYSE closed"]})
    policies.save_policy("risk1", {"parent_id": root.id, "name": "nowhere", "contact_point": quiet.id,
                                   "matchers": "team=nobody"})
    christmas = datetime(2026, 12, 25, 15, 0, tzinfo=timezone.utc)  # NYSE closed all day
    stale = Breach("Stale quotes", {"instrument": "AAPL"})
    stale.observe(True, christmas)
    lost = Breach("Orphan", {"team": "nobody"})
    lost.observe(True, christmas)
    report = dispatch.run(christmas, wait=True)
    assert report.reasons == {"muted": 1, "no_route": 1} and receiver.requests == []
    # The next session (Monday 28 December, 10:00 New York): the muted alert goes out.
    monday = datetime(2026, 12, 28, 15, 0, tzinfo=timezone.utc)
    assert dispatch.run(monday, wait=True).sent == 1
    assert receiver.bodies("/webhook")[0]["alerts"][0]["labels"]["alertname"] == "Stale quotes"

    # A snoozed alert is recorded "snoozed" and sent nothing.
    snoozed = Breach("Latency", {"venue": "XNAS"})
    snoozed.observe(True, monday)
    with db.session.begin_nested():
        db.session.get(AlertInstance, snoozed.instance.id).snoozed_until = monday + timedelta(hours=1)
    db.session.commit()
    assert dispatch.run(monday, wait=True).reasons == {"snoozed": 1}
    assert len(receiver.requests) == 1

    # A dispatcher that claimed a row and died: the row is tried again once its lease has passed.
    other = Breach("Gross exposure", {"desk": "fx"})
    other.observe(True, monday)
    dispatch.run(monday, deliver=False)
    policy = delivery.RetryPolicy.current()
    [(nid, attempt)] = delivery.claim_due(monday, policy)  # ... and the process dies here
    assert dispatch.run(monday + timedelta(seconds=5), wait=True).submitted == 0
    report = dispatch.run(monday + policy.lease, wait=True)
    assert report.sent == 1
    [row] = notifications(id=nid)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_limit_breach_in_the_store_through_evaluation_reaches_the_receiver_once(api, receiver, mailbox):
    """The whole path with H1's evaluation: a position over its limit in the store -> the risk monitor's
    measurement -> evaluate_all (pending 30 s) -> dispatch -> the webhook; the desk sells -> resolved."""
    from dashapp.services.alerts import evaluation, rules
    from dashapp.services.risk import limits, monitor
    from tests.support.trading import fill, order

    now = datetime.now(timezone.utc)
    assert api("quotes", [{"instrument": "AAPL", "ts": now.isoformat(), "bid": 99.9, "ask": 100.1}]).status_code == 200
    assert api("orders", [order("b", qty=10_000)]).status_code == 200
    assert api("fills", [fill("f1", "b", 10_000, 100.0)]).status_code == 200
    limits.save_limit("rita", "risk", "gross_exposure", "*", 500_000, breach_action="alert")
    rule = rules.create_rule("rita", {
        "name": "Gross limit", "kind": "threshold", "pending_seconds": 30, "labels": {"team": "risk"},
        "spec": {"metric": "risk.limit_utilisation", "op": ">=", "value": 100, "filter": {"limit": "gross_exposure"}}})
    hook = contact_points.create_contact_point("rita", {"name": "risk hook", "kind": "webhook",
                                                        "settings": {"url": receiver.url + "/risk"}})
    seed.ensure_defaults("rita")
    root = policies.root()
    policies.save_policy("rita", {"group_wait_seconds": 0, "group_interval_seconds": 1}, root.id)
    policies.save_policy("rita", {"parent_id": root.id, "name": "risk team", "matchers": "team=risk",
                                  "contact_point": hook.id})
    monitor.evaluate()  # the beat's tick stores the measurement: gross 1,000,000 of a 500,000 limit

    def tick(seconds: float):
        evaluation.evaluate_all(now + timedelta(seconds=seconds), force=True, rule_ids=[rule.id])
        return dispatch.run(now + timedelta(seconds=seconds), wait=True)

    assert tick(0).queued == 0 and tick(10).queued == 0  # pending
    assert tick(30).sent == 1  # firing after its pending period: one notification
    assert tick(31).queued == 0 and tick(60).queued == 0
    [body] = receiver.bodies("/risk")
    assert body["status"] == "firing" and body["alerts"][0]["labels"]["limit"] == "gross_exposure"
    assert body["alerts"][0]["labels"]["alertname"] == "Gross limit" and body["alerts"][0]["value"] >= 100
    assert api("orders", [order("s", side="sell", qty=5_500)]).status_code == 200
    assert api("fills", [fill("f2", "s", 5_500, 100.0)]).status_code == 200
    monitor.evaluate()
    assert tick(70).sent == 1
    assert [b["status"] for b in receiver.bodies("/risk")] == ["firing", "resolved"]
