"""Alert evaluation on both databases: a limit breach in the store goes Pending -> Firing after the pending
period -> Recovering -> Normal; one instance per label set; NoData; an Error is contained; a pattern rule
(5 rejects in 60 s); a predictive rule; the preview's counts; rules CRUD (validated, audited); the
built-in rules. Every step passes an explicit `now` (no sleeps)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import builtin_rules, evaluation, metrics, preview, rules
from dashapp.services.alerts.metrics import MetricSource, Sample, Series
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.risk import limits, monitor
from models import AuditRecord
from models.alerts import AlertEvent, AlertInstance
from tests.support.trading import T0, fill, order

# A metric the tests steer: TEST_SAMPLES is what "now" looks like, TEST_HISTORY the stored past.
TEST_SAMPLES: list = []
TEST_HISTORY: list = []


def _current(now):
    if isinstance(TEST_SAMPLES, Exception):
        raise TEST_SAMPLES
    return list(TEST_SAMPLES)


def _history(start, end):
    return [Series(s.labels, [t for t in s.times if start <= t <= end],
                   [v for t, v in zip(s.times, s.values) if start <= t <= end]) for s in TEST_HISTORY]


metrics.register_metric(MetricSource("test.value", "Test value", "count", ("k",), _current, _history))


@pytest.fixture(autouse=True)
def _reset_test_metric():
    global TEST_SAMPLES
    TEST_SAMPLES = []
    TEST_HISTORY.clear()
    yield


def set_samples(value):
    global TEST_SAMPLES
    TEST_SAMPLES = value


def events_of(rule_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(AlertEvent.from_state, AlertEvent.to_state).where(
        AlertEvent.rule_id == rule_id).order_by(AlertEvent.id)).all()
    return [tuple(r) for r in rows]


def instances_of(rule_id: int) -> list[AlertInstance]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(AlertInstance).where(AlertInstance.rule_id == rule_id)
                                   .order_by(AlertInstance.id)).scalars())


@pytest.fixture
def book(api):
    """A long AAPL position worth 1,000,000 (quotes at 100)."""
    now = datetime.now(timezone.utc)
    assert api("quotes", [{"instrument": "AAPL", "ts": now.isoformat(), "bid": 99.9, "ask": 100.1}]).status_code == 200
    assert api("orders", [order("b", qty=10_000)]).status_code == 200
    assert api("fills", [fill("f1", "b", 10_000, 100.0)]).status_code == 200
    return api


def test_limit_breach_pending_firing_recovering_normal(book):
    limits.save_limit("rita", "risk", "gross_exposure", "*", 500_000, breach_action="alert")
    rule = rules.create_rule("rita", {
        "name": "Gross limit", "kind": "threshold", "pending_seconds": 30, "keep_firing_seconds": 20,
        "labels": {"team": "risk"},
        "spec": {"metric": "risk.limit_utilisation", "op": ">=", "value": 100, "filter": {"limit": "gross_exposure"}}})
    builtin_rules.ensure_builtin_rules()
    monitor.evaluate()  # the beat's tick: measures, stores the measurement, opens the breach
    now = datetime.now(timezone.utc)

    evaluation.evaluate_all(now, force=True)
    [inst] = instances_of(rule.id)
    assert inst.state == "pending" and inst.episode == 1 and inst.value == pytest.approx(200.0, rel=0.05)
    assert inst.labels == {"alertname": "Gross limit", "team": "risk", "limit": "gross_exposure",
                           "kind": "gross_exposure", "scope": "*", "breach_action": "alert"}
    evaluation.evaluate_all(now + timedelta(seconds=10), force=True)
    assert instances_of(rule.id)[0].state == "pending"
    evaluation.evaluate_all(now + timedelta(seconds=30), force=True)
    evaluation.evaluate_all(now + timedelta(seconds=30), force=True)  # a duplicate changes nothing
    [inst] = instances_of(rule.id)
    assert inst.state == "firing" and inst.firing_since == now + timedelta(seconds=30)
    assert events_of(rule.id) == [("normal", "pending"), ("pending", "firing")]

    # The built-in "Limit breach" (pending 0) fired on the first pass, severity from the breach action.
    breach = rules.rule_by_name("Limit breach")
    gross = [i for i in instances_of(breach.id) if i.labels["limit"] == "gross_exposure"]
    assert len(gross) == 1 and gross[0].state == "firing" and gross[0].severity == "high"
    assert ("normal", "pending") in events_of(breach.id) and ("pending", "firing") in events_of(breach.id)

    # The desk sells 5,500 of its 10,000 shares: 450,000 of the 500,000 limit (90%, past the 80% warning).
    assert book("orders", [order("s", side="sell", qty=5_500)]).status_code == 200
    assert book("fills", [fill("f2", "s", 5_500, 100.0)]).status_code == 200
    monitor.evaluate()
    evaluation.evaluate_all(now + timedelta(seconds=40), force=True)
    assert instances_of(rule.id)[0].state == "recovering"
    evaluation.evaluate_all(now + timedelta(seconds=61), force=True)
    [inst] = instances_of(rule.id)
    assert inst.state == "normal" and inst.resolved_at == now + timedelta(seconds=61)
    assert events_of(rule.id)[-2:] == [("firing", "recovering"), ("recovering", "normal")]

    # The built-in "Limit warning" (an expression rule) fires for the same limit, now at 90%.
    warning = rules.rule_by_name("Limit warning")
    [inst] = [i for i in instances_of(warning.id) if i.state == "firing"]
    assert inst.labels["limit"] == "gross_exposure" and inst.severity == "warning"
    assert inst.value == pytest.approx(0.9 / 0.8 * 100, rel=0.05)


def test_one_instance_per_label_set_nodata_and_contained_errors(server):
    rule = rules.create_rule("rita", {"name": "Test high", "kind": "threshold",
                                      "spec": {"metric": "test.value", "op": ">", "value": 10}})
    other = rules.create_rule("rita", {"name": "Test other", "kind": "threshold",
                                       "spec": {"metric": "test.value", "op": ">", "value": 1000}})
    now = T0
    set_samples([Sample({"k": "a"}, 50.0), Sample({"k": "b"}, 60.0), Sample({"k": "c"}, 1.0)])
    report = evaluation.evaluate_all(now, force=True)
    assert report.evaluated == 2 and report.transitions == 4 and len(report.firing) == 2
    assert sorted(i.labels["k"] for i in instances_of(rule.id)) == ["a", "b"]  # "c" never fired: no row
    assert instances_of(other.id) == []

    set_samples([Sample({"k": "a"}, 55.0)])  # "b" vanished while firing -> NoData
    evaluation.evaluate_all(now + timedelta(seconds=5), force=True)
    states = {i.labels["k"]: i.state for i in instances_of(rule.id)}
    assert states == {"a": "firing", "b": "nodata"}

    set_samples(RuntimeError("source down: postgresql://cockpit:s3cret@db/desk"))
    report = evaluation.evaluate_all(now + timedelta(seconds=10), force=True)
    assert report.evaluated == 2 and set(report.errors) == {rule.id, other.id}
    insts = instances_of(rule.id)
    assert {i.state for i in insts} == {"error"}
    assert "RuntimeError: source down" in insts[0].summary and "s3cret" not in insts[0].summary
    [err] = instances_of(other.id)  # a rule with no instance gets one with its own labels
    assert err.state == "error" and err.labels == {"alertname": "Test other"}

    set_samples([Sample({"k": "a"}, 55.0)])
    evaluation.evaluate_all(now + timedelta(seconds=15), force=True)
    a = [i for i in instances_of(rule.id) if i.labels["k"] == "a"][0]
    assert a.state == "firing" and a.episode == 2  # error -> a new episode


def test_ack_survives_duplicate_evaluations_and_clears_on_a_new_episode(server):
    rule = rules.create_rule("rita", {"name": "Ack test", "kind": "threshold",
                                      "spec": {"metric": "test.value", "op": ">", "value": 10}})
    set_samples([Sample({"k": "a"}, 50.0)])
    evaluation.evaluate_all(T0, force=True)
    [inst] = instances_of(rule.id)
    inst.acknowledged_by, inst.acknowledged_at, inst.assignee = "ann", T0, "bob"
    db.session.commit()
    for seconds in (5, 5, 40):
        evaluation.evaluate_all(T0 + timedelta(seconds=seconds), force=True)
    [inst] = instances_of(rule.id)
    assert inst.acknowledged_by == "ann" and inst.episode == 1
    set_samples([Sample({"k": "a"}, 1.0)])
    evaluation.evaluate_all(T0 + timedelta(seconds=50), force=True)
    set_samples([Sample({"k": "a"}, 50.0)])
    evaluation.evaluate_all(T0 + timedelta(seconds=55), force=True)
    [inst] = instances_of(rule.id)
    assert inst.episode == 2 and inst.acknowledged_by is None and inst.assignee == "bob"


def test_pattern_rule_five_rejects_in_sixty_seconds(api):
    rejects = [order(f"r{i}", status="rejected", minutes=i * 0.15, venue="LP1", reject_reason="no liquidity")
               for i in range(5)]
    assert api("orders", rejects + [order("ok1", minutes=0.2)]).status_code == 200
    rule = rules.create_rule("rita", {"name": "Reject burst", "kind": "pattern", "severity": "high", "spec": {
        "source": "execution.reject", "count": 5, "within_seconds": 60, "group_by": ["venue"]}})
    evaluation.evaluate_all(T0 + timedelta(seconds=30), force=True)  # 4 rejects so far
    assert instances_of(rule.id) == []
    evaluation.evaluate_all(T0 + timedelta(seconds=50), force=True)
    [inst] = instances_of(rule.id)
    assert inst.state == "firing" and inst.labels["venue"] == "LP1" and inst.value == 5
    assert "no liquidity" in inst.summary
    evaluation.evaluate_all(T0 + timedelta(seconds=100), force=True)  # the burst left the window
    assert instances_of(rule.id)[0].state == "normal"


def test_predictive_and_anomaly_rules_over_history(server):
    times = [T0 - timedelta(minutes=60 - m) for m in range(61)]
    TEST_HISTORY.append(Series({"k": "a"}, times, [40.0 + m for m in range(61)]))  # +1 per minute, 100 at T0
    TEST_HISTORY.append(Series({"k": "b"}, times, [50.0] * 61))
    rule = rules.create_rule("rita", {"name": "Heading to the limit", "kind": "predictive", "spec": {
        "metric": "test.value", "limit": 120, "horizon_seconds": 1800, "lookback_seconds": 3600}})
    evaluation.evaluate_all(T0, force=True)
    [inst] = instances_of(rule.id)  # "a" reaches 120 in ~20 min; "b" is flat
    assert inst.labels["k"] == "a" and inst.state == "firing" and "in ~1,200 s" in inst.summary

    TEST_HISTORY[1] = Series({"k": "b"}, times, [50.0 + (0.5 if m % 2 else -0.5) for m in range(60)] + [80.0])
    spike = rules.create_rule("rita", {"name": "Spike", "kind": "anomaly", "spec": {
        "metric": "test.value", "method": "mad", "window_seconds": 3600, "threshold": 5, "filter": {"k": "b"}}})
    evaluation.evaluate_all(T0, force=True)
    [inst] = instances_of(spike.id)
    assert inst.labels["k"] == "b" and inst.state == "firing" and inst.value > 5


def test_preview_counts_what_would_have_fired(server):
    times = [T0 - timedelta(days=2) + timedelta(minutes=10 * i) for i in range(6 * 48 + 1)]
    values = [100.0 if (i // 6) % 12 == 0 else 10.0 for i in range(len(times))]  # an hour high every 12 hours
    TEST_HISTORY.append(Series({"k": "a"}, times, values))
    spec = {"metric": "test.value", "op": ">", "value": 50}
    result = preview.preview("threshold", spec, days=2, now=T0, max_steps=600)
    assert result.fired_count == 5 and len(result.episodes) == 5 and result.steps == 601
    assert "would have fired 5 times" in result.note
    assert all(e.ended_at is not None for e in result.episodes[:-1])
    # a pending period longer than each high hour: never fires
    assert preview.preview("threshold", spec, days=2, now=T0, max_steps=600, pending_seconds=7200).fired_count == 0
    with pytest.raises(ValidationError) as caught:
        preview.preview("threshold", {**spec, "metric": "risk.var_99"}, days=1, now=T0)
    assert "no history" in caught.value.message
    with pytest.raises(ValidationError):
        preview.preview("threshold", spec, days=31, now=T0)


def test_rules_crud_is_validated_and_audited(server):
    def audit_actions():
        return list(db.session.execute(sa.select(AuditRecord.action).where(
            AuditRecord.action.like("alerts.rule%")).order_by(AuditRecord.id)).scalars())

    data = {"name": "VaR high", "kind": "threshold", "spec": {"metric": "risk.var_99", "op": ">", "value": 1e5}}
    rule = rules.create_rule("rita", data)
    with pytest.raises(Conflict):
        rules.create_rule("rita", data)
    with pytest.raises(ValidationError) as caught:
        rules.create_rule("rita", {**data, "name": "x", "spec": {**data["spec"], "metric": "risk.nothing"}})
    assert caught.value.field == "spec.metric"
    with pytest.raises(ValidationError) as caught:
        rules.create_rule("rita", {**data, "name": "x", "kind": "expression", "spec": {"text": "no.such > 1"}})
    assert caught.value.field == "spec.metric"
    updated = rules.update_rule(rule.id, "rita", {**data, "severity": "critical"})
    assert updated.version == 2 and updated.severity == "critical" and updated.updated_by == "rita"
    assert rules.set_enabled(rule.id, "rita", False).enabled is False
    rules.delete_rule(rule.id, "rita")
    with pytest.raises(NotFound):
        rules.get_rule(rule.id)
    assert audit_actions() == ["alerts.rule_create", "alerts.rule_update", "alerts.rule_disable",
                               "alerts.rule_delete"]

    assert "Limit breach" in builtin_rules.ensure_builtin_rules()
    assert builtin_rules.ensure_builtin_rules() is None  # idempotent
    breach = rules.rule_by_name("Limit breach")
    with pytest.raises(Conflict):
        rules.delete_rule(breach.id, "rita")
    edit = {k: v for k, v in rules.as_dict(breach).items() if k in rules.EDITABLE}
    rules.update_rule(breach.id, "rita", {**edit, "pending_seconds": 15})
    builtin_rules.ensure_builtin_rules()  # a person's edit is kept
    assert rules.rule_by_name("Limit breach").pending_seconds == 15
    assert {r.name for r in rules.list_rules() if r.builtin} == {d["name"] for d in builtin_rules.BUILTIN_RULES}


def test_builtin_rules_raise_engine_faults_failed_jobs_stale_heartbeats_and_quotes(api):
    from models import Job

    builtin_rules.ensure_builtin_rules()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    assert api("events", [
        {"event_id": "e1", "ts": (now - timedelta(seconds=20)).isoformat(), "level": "critical", "kind": "venue.down",
         "message": "LP1 disconnected"},
        {"event_id": "e2", "ts": (now - timedelta(seconds=10)).isoformat(), "level": "info", "kind": "tick"}]
    ).status_code == 200
    assert api("engine_state", [{"status": "running", "heartbeat_at": (now - timedelta(seconds=45)).isoformat()}]
               ).status_code == 200
    assert api("quotes", [{"instrument": "XOM", "ts": (now - timedelta(seconds=300)).isoformat(), "bid": 49.9,
                           "ask": 50.1}]).status_code == 200
    db.session.add(Job(id="j-1", job_type="backtest", params={}, state="failed", message="boom", queue="jobs",
                       created_by="tom", created_at=now - timedelta(seconds=90), finished_at=now - timedelta(seconds=30)))
    db.session.commit()
    evaluation.evaluate_all(now, force=True)
    evaluation.evaluate_all(now + timedelta(seconds=60), force=True)  # past the heartbeat and quote pending periods

    def firing(name):
        return [(i.labels, i.severity) for i in instances_of(rules.rule_by_name(name).id) if i.state == "firing"]

    [(labels, severity)] = firing("Engine fault")
    assert labels["engine"] == "paper-1" and labels["kind"] == "venue.down" and severity == "critical"
    [(labels, _)] = firing("Engine heartbeat stale")
    assert labels["engine"] == "paper-1"
    [(labels, _)] = firing("Job failed")
    assert labels["job_type"] == "backtest"
    [(labels, _)] = firing("Quotes stale")
    assert labels["instrument"] == "XOM"
    assert firing("Limit breach") == []


def test_editing_or_disabling_a_rule_ends_its_old_alerts(server):
    data = {"name": "Edit me", "kind": "threshold", "labels": {"team": "a"},
            "spec": {"metric": "test.value", "op": ">", "value": 10}}
    rule = rules.create_rule("rita", data)
    set_samples([Sample({"k": "a"}, 50.0)])
    evaluation.evaluate_all(T0, force=True)
    rules.update_rule(rule.id, "rita", {**data, "labels": {"team": "b"}})
    evaluation.evaluate_all(T0 + timedelta(seconds=5), force=True)
    states = sorted((i.labels["team"], i.state) for i in instances_of(rule.id))
    assert states == [("a", "normal"), ("b", "firing")]  # the old label set resolved, not NoData
    rules.set_enabled(rule.id, "rita", False)
    new = sorted(instances_of(rule.id), key=lambda i: i.labels["team"])[1]
    assert new.state == "normal" and new.resolved_at is not None
    assert events_of(rule.id)[-1] == ("firing", "normal")
    assert evaluation.evaluate_all(T0 + timedelta(seconds=10), force=True).evaluated == 0  # disabled: not evaluated
