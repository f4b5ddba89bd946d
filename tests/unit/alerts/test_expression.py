"""The safe expression grammar (services/alerts/expression.py): parsing, hostile strings, evaluation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashapp.services.alerts import expression as ex
from dashapp.services.alerts.metrics import Sample, Series

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CURRENT = {
    "risk.limit_utilisation": [Sample({"limit": "net_exposure"}, 104.0), Sample({"limit": "gross_exposure"}, 60.0),
                               Sample({"limit": "var_99"}, None)],
    "risk.var_99": [Sample({}, 500_000.0)],
    "execution.reject_rate": [Sample({"venue": "XNAS"}, 0.2), Sample({"venue": "ARCX"}, 0.01)],
    "execution.fill_rate": [Sample({"venue": "XNAS"}, 0.5), Sample({"venue": "ARCX"}, 0.9)],
}
HISTORY = {"execution.latency_ms": [Series({"venue": "XNAS"}, [NOW - timedelta(seconds=s) for s in (500, 200, 100)],
                                           [1000.0, 10.0, 20.0])]}


def ctx():
    return ex.Context(NOW, lambda name: CURRENT.get(name, []),
                      lambda name, start, end: [Series(s.labels, [t for t in s.times if start <= t <= end],
                                                        [v for t, v in zip(s.times, s.values) if start <= t <= end])
                                                for s in HISTORY.get(name, [])])


def run(text):
    return sorted((tuple(sorted(labels.items())), cond, value) for labels, cond, value in ex.evaluate(ex.parse(text),
                                                                                                      ctx()))


def test_long_and_short_metric_forms_are_the_same():
    long = ex.parse('metric("risk.limit_utilisation", limit="net_exposure") > 100')
    assert long == ex.parse('risk.limit_utilisation{limit="net_exposure"} > 100')
    assert run('risk.limit_utilisation{limit="net_exposure"} > 100') == [((("limit", "net_exposure"),), True, 104.0)]


def test_one_result_per_label_set_and_missing_values_are_no_data():
    assert run("risk.limit_utilisation >= 100") == [((("limit", "gross_exposure"),), False, 60.0),
                                                    ((("limit", "net_exposure"),), True, 104.0)]


def test_vectors_join_on_shared_labels_and_scalars_broadcast():
    assert run("execution.reject_rate > 0.1 and execution.fill_rate < 0.8") == [
        ((("venue", "ARCX"),), False, 0.01), ((("venue", "XNAS"),), True, 0.2)]
    got = run("execution.reject_rate * 100 + risk.var_99 / 1e5 > 20")
    assert got == [((("venue", "ARCX"),), False, 6.0), ((("venue", "XNAS"),), True, 25.0)]


def test_precedence_and_not():
    assert run("1 + 2 * 3 == 7") == [((), True, None)]
    assert run("(1 + 2) * 3 == 9 and not 1 > 2") == [((), True, None)]
    assert run("-2 - -3 == 1 or 1 / 0 > 1") == [((), True, None)]


def test_window_functions_over_history():
    assert run("avg(execution.latency_ms, 300) > 10") == [((("venue", "XNAS"),), True, 15.0)]
    assert run("max(execution.latency_ms, 600) >= 1000") == [((("venue", "XNAS"),), True, 1000.0)]
    assert run("min(execution.latency_ms, 600) < 11") == [((("venue", "XNAS"),), True, 10.0)]


def test_division_by_zero_leaves_that_label_set_out():
    assert run("risk.var_99 / 0 > 1") == []


def test_metric_names():
    assert ex.metric_names(ex.parse('avg(a.b, 60) > c.d{x="y"} or metric("e.f") < 1')) == {"a.b", "c.d", "e.f"}


@pytest.mark.parametrize("text,fragment", [
    ("__import__('os')", "position 1"),
    ("risk.var_99 > 1; import os", "position 16"),
    ("open('/etc/passwd').read() > 1", "position 1"),
    ("risk.var_99.__class__ > 1", "position"),
    ("lambda: 1 > 0", "position 1"),
    ('metric("risk.var_99"\x00) > 1', "control"),
    ("risk.var_99 > 1\nrisk.var_99 > 2", "one line"),
    ("(" * 40 + "1" + ")" * 40 + " > 0", "deeper"),
    ("-" * 200 + "1 > 0", "deeper"),
    ("not " * 100 + "1 > 0", "deeper"),
    ("1" * 400 + " > 1", "out of range"),
    ("1e999 > 0", "out of range"),
    ("risk.var_99 > 9" * 100, "longer than"),
    ("risk.var_99", "must be a comparison"),
    ("risk.var_99 + 1", "must be a comparison"),
    ("", "empty"),
    ("risk.var_99 >", "ends too early"),
    ("avg(risk.var_99, 0) > 1", "window"),
    ("avg(risk.var_99, 99999999) > 1", "window"),
    ('metric("' + "a" * 300 + '") > 1', "position"),
    ("risk.var_99 > 1 and", "ends too early"),
])
def test_hostile_and_broken_strings_are_refused_with_a_reason(text, fragment):
    with pytest.raises(ValueError) as caught:
        ex.parse(text)
    assert fragment in str(caught.value)


def test_parse_never_evaluates_python():
    import builtins

    before = dict(vars(builtins))
    for text in ["__import__('os').system('false') > 0", "exec('x=1') > 0", "globals() > 0"]:
        with pytest.raises(ValueError):
            ex.parse(text)
    assert dict(vars(builtins)) == before
