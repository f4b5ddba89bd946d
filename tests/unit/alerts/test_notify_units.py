"""Notification pieces without a database: matchers (RE2, validation messages), policy timing
validation, payload builders against the documented shapes (docs/ALERTS.md "Notifications"), retry
backoff, time intervals and an exchange calendar on a known holiday."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dashapp.services.alerts import matchers, payloads, timings
from dashapp.services.alerts.delivery import RetryPolicy
from dashapp.services.alerts.policies import Effective, timing_problem
from dashapp.services.errors import ValidationError

UTC = timezone.utc


def test_matchers_parse_and_match():
    parsed = matchers.parse('severity=critical, desk=~"eq.*", venue!="XLON", rule!~"test_.*"')
    assert parsed == [["severity", "=", "critical"], ["desk", "=~", "eq.*"], ["venue", "!=", "XLON"],
                      ["rule", "!~", "test_.*"]]
    labels = {"severity": "critical", "desk": "equities", "venue": "XNYS", "rule": "net"}
    assert matchers.matches(parsed, labels)
    assert not matchers.matches(parsed, {**labels, "desk": "fx"})
    assert not matchers.matches(parsed, {**labels, "venue": "XLON"})
    assert matchers.matches([["team", "=", ""]], {"x": "y"})  # a missing label is the empty string
    assert matchers.matches([], {"anything": "1"})
    # Anchored: a regex must match the whole value.
    assert not matchers.matches([["desk", "=~", "eq"]], {"desk": "equities"})
    # A regex with a comma inside quotes stays one matcher.
    assert matchers.parse('x=~"a{1,3}"') == [["x", "=~", "a{1,3}"]]


def test_matchers_reject_bad_input_with_the_field_named():
    cases = [(["1abc", "=", "x"], "label name"), (["a", "==", "x"], "operator"), (["a", "=~", "(a"], "RE2"),
             (["a", "=", "x" * 201], "longer than 200"), (["a", "=", "x\ny"], "control"), ("no operator here", "op")]
    for item, words in cases:
        with pytest.raises(ValidationError) as error:
            matchers.parse([item], field="matchers")
        assert words in error.value.message and error.value.field == "matchers"
    with pytest.raises(ValidationError, match="at most 20"):
        matchers.parse([["a", "=", str(i)] for i in range(21)])


def test_catastrophic_regex_runs_in_linear_time():
    # (a+)+$ backtracks exponentially in Python's re; RE2 answers at once.
    assert not matchers.matches([["x", "=~", "(a+)+"]], {"x": "a" * 20_000 + "b"})


def _eff(wait, interval, repeat):
    return Effective(1, "p", 1, ("alertname",), wait, interval, repeat, (), (), ())


def test_policy_timing_messages():
    assert timing_problem(_eff(30, 300, 14400)) is None
    assert timing_problem(_eff(0, 1, 1)) is None
    assert timing_problem(_eff(600, 300, 3600)) == "group_wait (10 min) must not be longer than group_interval (5 min)"
    assert timing_problem(_eff(30, 7200, 3600)) == "group_interval (2 h) must not be longer than repeat_interval (1 h)"
    assert timing_problem(_eff(30, 300, 31 * 86400)) == "repeat_interval must be between 1 s and 30 d"
    assert timing_problem(_eff(-1, 300, 3600)) == "group_wait must be between 0 s and 7 d"


ALERT = payloads.AlertView(
    instance_id=7, fingerprint="f" * 64, labels={"alertname": "Net exposure", "desk": "eq", "severity": "critical"},
    status="firing", state="firing", severity="critical", summary="net exposure at 104% of limit", value=1.04,
    episode=3, starts_at=datetime(2026, 12, 7, 14, 30, tzinfo=UTC))
GROUP = payloads.GroupView(group_key="k" * 64, receiver="desk-webhook", group_labels={"alertname": "Net exposure"},
                           alerts=[ALERT], external_url="http://cockpit.local")


def test_webhook_payload_has_the_documented_fields():
    body = payloads.webhook(GROUP)
    assert set(body) == {"version", "status", "receiver", "groupKey", "truncatedAlerts", "groupLabels",
                         "commonLabels", "commonAnnotations", "externalURL", "alerts"}
    assert body["status"] == "firing" and body["version"] == "4" and body["receiver"] == "desk-webhook"
    alert = body["alerts"][0]
    assert set(alert) == {"status", "labels", "annotations", "state", "value", "startsAt", "endsAt", "generatorURL",
                          "fingerprint"}
    assert alert["startsAt"] == "2026-12-07T14:30:00.000000Z" and alert["endsAt"] == payloads.ZERO_TIME
    assert alert["generatorURL"] == "http://cockpit.local/alerts?instance=7"
    assert body["commonLabels"] == ALERT.labels


def test_slack_pagerduty_email_in_app_payloads():
    slack = payloads.slack(GROUP)
    assert slack["text"] == "[FIRING:1] Net exposure"
    assert slack["blocks"][0]["type"] == "header" and slack["blocks"][1]["type"] == "section"
    assert "net exposure at 104%" in slack["blocks"][1]["text"]["text"]
    trigger = payloads.pagerduty(ALERT, "R" * 32, "trigger")
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == "R" * 32
    assert trigger["dedup_key"] == "f" * 48 + "-e3"
    assert {"summary", "source", "severity", "custom_details"} <= set(trigger["payload"])
    assert trigger["payload"]["severity"] == "critical"
    resolve = payloads.pagerduty(ALERT, "R" * 32, "resolve")
    assert set(resolve) == {"routing_key", "event_action", "dedup_key"} and resolve["dedup_key"] == trigger["dedup_key"]
    mail = payloads.email(GROUP, ["risk@example.com"], "cockpit@example.com")
    assert mail["subject"] == "[FIRING:1] Net exposure" and "net exposure at 104%" in mail["text"]
    note = payloads.in_app(GROUP)
    assert note["severity"] == "critical" and note["alerts"][0]["instance_id"] == 7


def test_payload_cap_truncates_alerts():
    many = payloads.GroupView("k", "r", {}, [ALERT] * 5000)
    body = payloads.capped(payloads.webhook(many))
    assert len(body["alerts"]) == payloads.MAX_ALERTS
    huge = {"alerts": [{"x": "y" * 1000}] * 1000}
    capped = payloads.capped(huge)
    assert len(capped["alerts"]) < 1000 and capped["truncatedAlerts"] == 1000 - len(capped["alerts"])


def test_backoff_doubles_with_jitter_and_a_cap():
    policy = RetryPolicy(max_attempts=6, base_seconds=2, cap_seconds=60)
    assert [policy.backoff(n, rand=lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert [policy.backoff(n, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert policy.backoff(20, rand=lambda: 1.0) == 60.0
    assert policy.backoff(20, rand=lambda: 0.0) == 30.0


def test_time_windows_and_validation():
    spec = timings.validate_spec({"timezone": "Europe/London",
                                  "windows": [{"weekdays": ["sat", "sun"], "start": "00:00", "end": "24:00"},
                                              {"weekdays": ["mon"], "start": "07:00", "end": "08:00"}]})
    assert timings.contains(spec, datetime(2026, 12, 5, 12, 0, tzinfo=UTC))  # a Saturday
    assert timings.contains(spec, datetime(2026, 12, 7, 7, 30, tzinfo=UTC))  # Monday 07:30 London
    assert not timings.contains(spec, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    for bad, field in [({"timezone": "Mars/Olympus", "windows": [{}]}, "timezone"),
                       ({"windows": [{"start": "18:00", "end": "09:00"}]}, "end"),
                       ({"windows": [{"start": "25:00"}]}, "start"), ({"windows": [{"weekdays": ["funday"]}]}, "weekdays"),
                       ({"calendar": "NOPE"}, "calendar"), ({"calendar": "XNYS", "when": "sometimes"}, "when")]:
        with pytest.raises(ValidationError) as error:
            timings.validate_spec(bad)
        assert error.value.field == field


def test_exchange_calendar_closed_on_a_known_holiday():
    closed = timings.validate_spec({"calendar": "XNYS", "when": "closed"})
    # Christmas Day 2026 (a Friday): NYSE closed at 10:00 New York time.
    assert timings.contains(closed, datetime(2026, 12, 25, 15, 0, tzinfo=UTC))
    # The day before, 10:00 New York: a (short) session is open.
    assert not timings.contains(closed, datetime(2026, 12, 24, 15, 0, tzinfo=UTC))
    # Thanksgiving 2026 (Thursday 26 November): closed; the Wednesday before at 11:00 New York: open.
    assert timings.contains(closed, datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
    assert not timings.contains(closed, datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    # Night and weekend.
    assert timings.contains(closed, datetime(2026, 12, 8, 3, 0, tzinfo=UTC))
    opened = timings.validate_spec({"calendar": "XNYS", "when": "open"})
    assert timings.contains(opened, datetime(2026, 12, 8, 15, 0, tzinfo=UTC))


def test_routing_tree_first_match_continue_and_inheritance():
    from dashapp.services.alerts.routing import Tree
    from models.alerts import NotificationPolicy

    def node(pid, parent, position=0, matchers=(), cp=None, cont=False, **timings):
        return NotificationPolicy(id=pid, parent_id=parent, position=position, name=f"p{pid}", matchers=list(matchers),
                                  contact_point_id=cp, continue_matching=cont, group_by=timings.pop("group_by", None),
                                  mute_timings=[], active_timings=[], escalation=timings.pop("escalation", []),
                                  **{f"{k}_seconds": v for k, v in timings.items()})

    tree = Tree([
        node(1, None, cp=10, group_wait=30, group_interval=300, repeat_interval=3600,
             escalation=[{"after_minutes": 5, "contact_point": "lead"}]),
        node(2, 1, position=0, matchers=[["team", "=", "risk"]], cp=20, cont=True, group_by=["desk"]),
        node(3, 1, position=1, matchers=[["severity", "=~", "critical|high"]], cp=30, repeat_interval=600),
        node(4, 1, position=2, matchers=[["team", "=", "risk"]], cp=40),  # never reached for risk+critical
        node(5, 3, matchers=[["venue", "=", "XNAS"]], group_wait=0),  # inherits contact point 30 and timings
    ])
    ids = lambda labels: [e.policy_id for e in tree.leaves(labels)]  # noqa: E731
    assert ids({"team": "fx"}) == [1]  # nothing matched: the root
    assert ids({"team": "risk"}) == [2, 4]  # continue_matching lets the next sibling match too
    assert ids({"team": "risk", "severity": "critical"}) == [2, 3]  # first match without continue stops
    assert ids({"severity": "high", "venue": "XNAS"}) == [5]
    leaf = tree.leaves({"severity": "high", "venue": "XNAS"})[0]
    assert (leaf.contact_point_id, leaf.group_wait, leaf.group_interval, leaf.repeat_interval) == (30, 0, 300, 600)
    assert leaf.group_by == ("alertname",) and leaf.escalation[0]["contact_point"] == "lead"
    risk = tree.routes({"team": "risk", "desk": "eq", "alertname": "A"})[0]
    assert risk.group_labels == (("desk", "eq"),)
    same = tree.routes({"team": "risk", "desk": "eq", "alertname": "B"})[0]
    other = tree.routes({"team": "risk", "desk": "fx", "alertname": "A"})[0]
    assert risk.group_key == same.group_key != other.group_key
