"""What each rule kind observes (services/alerts/observe.py) and the preview's replay (preview.py), on a fake
reader and test sources: no database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashapp.services.alerts import metrics, preview
from dashapp.services.alerts.metrics import Event, EventSource, MetricSource, Sample, Series
from dashapp.services.alerts.observe import observe
from dashapp.services.alerts.rule_specs import validate_spec
from dashapp.services.errors import ValidationError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


class FakeReader:
    def __init__(self, current=None, history=None, events=None, now=NOW):
        self.now, self._current, self._history, self._events = now, current or {}, history or {}, events or {}

    def current(self, metric):
        return self._current.get(metric, [])

    def history(self, metric, start, end):
        return [Series(s.labels, [t for t in s.times if start <= t <= end],
                       [v for t, v in zip(s.times, s.values) if start <= t <= end]) for s in self._history.get(metric, [])]

    def events(self, source, start, end):
        return [e for e in self._events.get(source, []) if start < e.at <= end]


def run(kind, spec, reader):
    return sorted(((tuple(sorted(o.labels.items())), o.outcome, o.value) for o in observe(
        kind, validate_spec(kind, spec), reader)), key=str)


def test_threshold_filters_compares_and_reports_missing_values():
    reader = FakeReader({"x.y": [Sample({"v": "a"}, 5.0), Sample({"v": "b"}, 1.0), Sample({"v": "c"}, None)]})
    assert run("threshold", {"metric": "x.y", "op": ">=", "value": 5}, reader) == [
        ((("v", "a"),), "true", 5.0), ((("v", "b"),), "false", 1.0), ((("v", "c"),), "nodata", None)]
    assert run("threshold", {"metric": "x.y", "op": "<", "value": 2, "filter": {"v": "b"}}, reader) == [
        ((("v", "b"),), "true", 1.0)]


def test_composite_scores_weighted_conditions_per_group():
    reader = FakeReader({"ex.reject_rate": [Sample({"venue": "A"}, 20.0), Sample({"venue": "B"}, 1.0)],
                         "ex.latency": [Sample({"venue": "A"}, 5.0), Sample({"venue": "B"}, 900.0)]})
    spec = {"conditions": [{"metric": "ex.reject_rate", "op": ">", "value": 10, "weight": 2},
                           {"metric": "ex.latency", "op": ">", "value": 500, "weight": 1}],
            "score_threshold": 2, "group_by": ["venue"]}
    assert run("composite", spec, reader) == [((("venue", "A"),), "true", 2.0), ((("venue", "B"),), "false", 1.0)]
    assert run("composite", {**spec, "group_by": []}, reader) == [((), "true", 3.0)]


def test_pattern_counts_events_in_the_window_per_group():
    events = [Event(NOW - timedelta(seconds=s), {"venue": v}, "rejected") for s, v in
              [(5, "A"), (10, "A"), (20, "A"), (70, "A"), (15, "B")]]
    reader = FakeReader(events={"ex.reject": events})
    spec = {"source": "ex.reject", "count": 3, "within_seconds": 60, "group_by": ["venue"]}
    assert run("pattern", spec, reader) == [((("venue", "A"),), "true", 3.0), ((("venue", "B"),), "false", 1.0)]


def test_expression_anomaly_and_predictive():
    times = [NOW - timedelta(minutes=60 - m) for m in range(61)]
    calm = [10.0 + (0.5 if m % 2 else -0.5) for m in range(60)]
    reader = FakeReader({"a.b": [Sample({}, 3.0)]},
                        {"p.q": [Series({"k": "spike"}, times, calm + [30.0]), Series({"k": "calm"}, times, calm + [10.2])],
                         "r.s": [Series({}, times, [float(m) for m in range(61)])]})
    assert run("expression", {"text": "a.b * 2 > 5"}, reader) == [((), "true", 6.0)]
    got = run("anomaly", {"metric": "p.q", "window_seconds": 3600, "threshold": 4, "min_samples": 10}, reader)
    assert [(labels, outcome) for labels, outcome, _ in got] == [((("k", "calm"),), "false"), ((("k", "spike"),), "true")]
    assert run("anomaly", {"metric": "p.q", "window_seconds": 3600, "threshold": 4, "direction": "below"},
               reader)[1][1] == "false"
    # r.s rises 1 per minute and is at 60: reaches 90 in 30 min
    assert run("predictive", {"metric": "r.s", "limit": 90, "horizon_seconds": 1900, "lookback_seconds": 3600},
               reader) == [((), "true", 60.0)]
    assert run("predictive", {"metric": "r.s", "limit": 90, "horizon_seconds": 1700, "lookback_seconds": 3600},
               reader)[0][1] == "false"
    assert run("predictive", {"metric": "r.s", "limit": 90, "lookback_seconds": 30, "min_samples": 5},
               reader)[0][1] == "nodata"


EVENTS: list = []
metrics.register_events(EventSource("unit.reject", "Unit test rejects", ("venue",),
                                    lambda start, end: [e for e in EVENTS if start < e.at <= end]))
metrics.register_metric(MetricSource("unit.level", "Unit level", "x", (), lambda now: [], lambda start, end: [
    Series({}, [NOW - timedelta(hours=h) for h in range(48, -1, -1)], [100.0 if h % 12 == 0 else 0.0
                                                                       for h in range(48, -1, -1)])]))
metrics.register_metric(MetricSource("unit.nohistory", "No history", "x", (), lambda now: []))


def test_preview_replays_events_and_history():
    EVENTS[:] = [Event(NOW - timedelta(hours=h, seconds=s), {"venue": "A"}) for h in (30, 5) for s in range(5)]
    result = preview.preview("pattern", {"source": "unit.reject", "count": 5, "within_seconds": 60,
                                         "group_by": ["venue"]}, days=2, now=NOW, max_steps=2000)
    assert result.fired_count == 2 and [e.labels["venue"] for e in result.episodes] == ["A", "A"]
    assert all(e.ended_at is not None for e in result.episodes)
    level = preview.preview("threshold", {"metric": "unit.level", "op": ">", "value": 50}, days=2, now=NOW)
    assert level.fired_count == 5 and level.steps <= preview.MAX_STEPS
    assert level.to_dict()["fired_count"] == 5
    with pytest.raises(ValidationError, match="no history"):
        preview.preview("threshold", {"metric": "unit.nohistory", "op": ">", "value": 1}, days=1, now=NOW)
