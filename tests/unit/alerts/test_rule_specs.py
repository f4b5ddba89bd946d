"""Rule validation (services/alerts/rule_specs.py): every kind's spec model, bounds, field names in errors."""
from __future__ import annotations

import pytest

from dashapp.services.alerts.rule_specs import validate_rule, validate_spec
from dashapp.services.errors import ValidationError

GOOD = {
    "threshold": {"metric": "risk.limit_utilisation", "op": ">=", "value": 100, "filter": {"limit": "net_exposure"}},
    "anomaly": {"metric": "execution.slippage_bps", "method": "mad", "window_seconds": 3600, "threshold": 4,
                "by_time_of_day": True, "bucket_minutes": 30, "min_samples": 20},
    "pattern": {"source": "execution.reject", "count": 5, "within_seconds": 60, "group_by": ["venue"]},
    "composite": {"conditions": [{"metric": "risk.var_99", "op": ">", "value": 1e5, "weight": 2},
                                 {"metric": "pnl.drawdown", "op": ">", "value": 0.05}], "score_threshold": 2},
    "expression": {"text": 'risk.limit_utilisation{limit="net_exposure"} > 100 and risk.var_99 > 1e5'},
    "predictive": {"metric": "risk.limit_utilisation", "limit": 100, "horizon_seconds": 1800,
                   "lookback_seconds": 3600},
}


def rule(kind="threshold", **extra):
    return {"name": "Net exposure high", "kind": kind, "spec": dict(GOOD.get(kind, GOOD["threshold"])), **extra}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_every_kind_validates_and_fills_defaults(kind):
    checked = validate_rule(rule(kind, labels={"team": "risk"}, severity="high", pending_seconds=30))
    assert checked.kind == kind and checked.spec["every_seconds"] == 5 and checked.spec["no_data"] == "nodata"
    assert validate_spec(kind, checked.spec).every_seconds == 5


@pytest.mark.parametrize("data,field", [
    (rule(name=""), "name"),
    (rule(name="x" * 81), "name"),
    (rule(name="bad\x00name"), "name"),
    (rule(name="tab\tname"), "name"),
    (rule(name="   "), "name"),
    (rule(kind="nonsense"), "kind"),
    (rule(severity="urgent"), "severity"),
    (rule(pending_seconds=-1), "pending_seconds"),
    (rule(keep_firing_seconds=31 * 86400), "keep_firing_seconds"),
    (rule(labels={"alertname": "x"}), "labels"),
    (rule(labels={"bad name": "x"}), "labels.bad name.[key]"),
    (rule(labels={f"k{i}": "v" for i in range(21)}), "labels"),
    (rule(labels={"team": "a\x1b[31m"}), "labels.team"),
    (rule(runbook="Not A Slug"), "runbook"),
    (rule(extra_field=1), "extra_field"),
    ({**rule(), "spec": {**GOOD["threshold"], "value": float("inf")}}, "spec.value"),
    ({**rule(), "spec": {**GOOD["threshold"], "value": float("nan")}}, "spec.value"),
    ({**rule(), "spec": {**GOOD["threshold"], "value": 1e300}}, "spec.value"),
    ({**rule(), "spec": {**GOOD["threshold"], "op": "=~"}}, "spec.op"),
    ({**rule(), "spec": {**GOOD["threshold"], "metric": "NoDots"}}, "spec.metric"),
    ({**rule(), "spec": {**GOOD["threshold"], "every_seconds": 0}}, "spec.every_seconds"),
    ({**rule(), "spec": {**GOOD["threshold"], "no_data": "maybe"}}, "spec.no_data"),
    ({**rule(), "spec": {**GOOD["threshold"], "surprise": 1}}, "spec.surprise"),
    ({**rule("anomaly"), "spec": {**GOOD["anomaly"], "window_seconds": 0}}, "spec.window_seconds"),
    ({**rule("anomaly"), "spec": {**GOOD["anomaly"], "window_seconds": 30 * 86400 + 1}}, "spec.window_seconds"),
    ({**rule("anomaly"), "spec": {**GOOD["anomaly"], "bucket_minutes": 7}}, "spec.bucket_minutes"),
    ({**rule("anomaly"), "spec": {**GOOD["anomaly"], "method": "iqr"}}, "spec.method"),
    ({**rule("anomaly"), "spec": {**GOOD["anomaly"], "threshold": 0}}, "spec.threshold"),
    ({**rule("pattern"), "spec": {**GOOD["pattern"], "count": 0}}, "spec.count"),
    ({**rule("pattern"), "spec": {**GOOD["pattern"], "group_by": ["a b"]}}, "spec.group_by.0"),
    ({**rule("composite"), "spec": {**GOOD["composite"], "conditions": []}}, "spec.conditions"),
    ({**rule("composite"), "spec": {**GOOD["composite"], "score_threshold": float("inf")}}, "spec.score_threshold"),
    ({**rule("expression"), "spec": {"text": "__import__('os')"}}, "spec.text"),
    ({**rule("expression"), "spec": {"text": "x" * 1001}}, "spec.text"),
    ({**rule("predictive"), "spec": {**GOOD["predictive"], "horizon_seconds": 0}}, "spec.horizon_seconds"),
    ({**rule("predictive"), "spec": {**GOOD["predictive"], "min_samples": 1}}, "spec.min_samples"),
])
def test_bad_input_names_the_field(data, field):
    with pytest.raises(ValidationError) as caught:
        validate_rule(data)
    assert caught.value.field == field, caught.value.message
    assert field.split(".")[0] in caught.value.message or field in caught.value.message


def test_expression_errors_name_the_position():
    with pytest.raises(ValidationError) as caught:
        validate_rule({**rule("expression"), "spec": {"text": "risk.var_99 > > 3"}})
    assert "position 15" in caught.value.message


def test_not_an_object():
    with pytest.raises(ValidationError):
        validate_rule(["not", "a", "dict"])


def test_severity_from_a_label():
    checked = validate_rule({**rule(), "spec": {**GOOD["threshold"], "severity_from": {
        "label": "breach_action", "map": {"kill_switch": "critical", "alert": "warning"}}}})
    assert checked.spec["severity_from"]["map"]["kill_switch"] == "critical"
    with pytest.raises(ValidationError) as caught:
        validate_rule({**rule(), "spec": {**GOOD["threshold"], "severity_from": {"label": "x", "map": {"a": "huge"}}}})
    assert caught.value.field.startswith("spec.severity_from")
