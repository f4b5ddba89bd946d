"""What a rule observes at one instant: one `Observed` per label set (condition true/false, or no data),
for every kind. The same code serves live evaluation (`LiveReader`: sources' current values) and the
preview's replay of stored history (`preview.HistoryReader`), so a preview fires when the rule would have.

Kinds:
- threshold: each sample of the metric (after the label filter) compared with the value;
- composite: samples grouped by `group_by`; a condition holds for a group if any of its samples meets it;
  score = sum of the weights of the conditions that hold; true when score >= score_threshold;
- expression: `expression.evaluate` (one result per label set it produces);
- pattern: events of the source in (now - within, now], grouped by `group_by`; true when count >= N
  (a label set with no events is simply false: absence of events is not missing data);
- anomaly: the newest point of each series scored against the trailing window before it (z-score or
  MAD, optionally per time-of-day bucket); true when |score| (or the signed score, by direction)
  reaches the threshold;
- predictive: least-squares line over the lookback; true when it reaches the limit within the horizon.
"""
from __future__ import annotations

import bisect
import math
import operator
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from dashapp.kernels import anomaly
from dashapp.services.alerts import expression
from dashapp.services.alerts import metrics as registry
from dashapp.services.alerts.state import FALSE, NO_DATA, TRUE

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
       "!=": operator.ne}


@dataclass(frozen=True)
class Observed:
    labels: dict
    outcome: str  # TRUE | FALSE | NO_DATA
    value: float | None
    summary: str = ""


class Reader(Protocol):
    now: datetime

    def current(self, metric: str) -> list: ...

    def history(self, metric: str, start: datetime, end: datetime) -> list: ...

    def events(self, source: str, start: datetime, end: datetime) -> list: ...


class LiveReader:
    """Sources read at `now`, each metric and event window once per evaluation pass (shared by rules)."""

    def __init__(self, now: datetime):
        self.now = now
        self._current: dict[str, list] = {}
        self._history: dict[str, tuple] = {}
        self._events: dict[str, tuple] = {}

    def current(self, metric: str) -> list:
        if metric not in self._current:
            self._current[metric] = list(_metric(metric).current(self.now))
        return self._current[metric]

    def history(self, metric: str, start: datetime, end: datetime) -> list:
        """One fetch per metric covers every window up to a day (or the longest asked so far); each rule
        gets its slice."""
        span_start = min(start, self.now - timedelta(days=1))
        cached = self._history.get(metric)
        if cached is None or cached[0] > start or cached[1] < end:
            source = _metric(metric)
            if source.history is None:
                raise LookupError(f"metric {metric!r} keeps no history (anomaly and predictive rules need one)")
            fetch_end = max(end, self.now)
            cached = self._history[metric] = (span_start, fetch_end, list(source.history(span_start, fetch_end)))
        return [_slice(series, start, end) for series in cached[2]]

    def events(self, source: str, start: datetime, end: datetime) -> list:
        """One fetch per source covers every window up to an hour (or the longest asked so far)."""
        cached = self._events.get(source)
        if cached is None or cached[0] > start or cached[1] < end:
            found = registry.event_source(source)
            if found is None:
                raise LookupError(f"unknown event source {source!r}")
            span_start, span_end = min(start, self.now - timedelta(hours=1)), max(end, self.now)
            events = list(found.between(span_start, span_end))
            cached = self._events[source] = (span_start, span_end, events, [e.at for e in events])
        _, _, events, times = cached
        return events[bisect.bisect_right(times, start):bisect.bisect_right(times, end)]


def _slice(series, start: datetime, end: datetime):
    lo, hi = bisect.bisect_left(series.times, start), bisect.bisect_right(series.times, end)
    return registry.Series(series.labels, series.times[lo:hi], series.values[lo:hi])


def _metric(name: str):
    source = registry.metric(name)
    if source is None:
        raise LookupError(f"unknown metric {name!r}")
    return source


def _matches(labels: dict, wanted: dict) -> bool:
    return all(labels.get(k) == v for k, v in wanted.items())


def _fmt(value: float | None) -> str:
    return "no value" if value is None else f"{value:,.4g}"


def _describe(labels: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def threshold(spec, reader: Reader) -> list[Observed]:
    out = []
    for sample in reader.current(spec.metric):
        if not _matches(sample.labels, spec.filter):
            continue
        if sample.value is None or not math.isfinite(sample.value):
            out.append(Observed(dict(sample.labels), NO_DATA, None, f"{spec.metric}: no value"))
            continue
        hit = OPS[spec.op](sample.value, spec.value)
        where = f" ({_describe(sample.labels)})" if sample.labels else ""
        out.append(Observed(dict(sample.labels), TRUE if hit else FALSE, float(sample.value),
                            f"{spec.metric}{where} = {_fmt(sample.value)} {'' if hit else 'not '}{spec.op} "
                            f"{_fmt(spec.value)}"))
    return out


def _group(labels: dict, group_by: list[str]) -> tuple:
    return tuple((name, labels.get(name, "")) for name in group_by)


def composite(spec, reader: Reader) -> list[Observed]:
    groups: dict[tuple, set[int]] = defaultdict(set)
    seen: set[tuple] = set()
    for index, cond in enumerate(spec.conditions):
        for sample in reader.current(cond.metric):
            if not _matches(sample.labels, cond.filter) or sample.value is None or not math.isfinite(sample.value):
                continue
            key = _group(sample.labels, spec.group_by)
            seen.add(key)
            if OPS[cond.op](sample.value, cond.value):
                groups[key].add(index)
    out = []
    for key in seen:
        held = groups.get(key, set())
        score = sum(spec.conditions[i].weight for i in held)
        names = ", ".join(f"{spec.conditions[i].metric} {spec.conditions[i].op} {_fmt(spec.conditions[i].value)}"
                          for i in sorted(held)) or "no condition"
        out.append(Observed(dict(key), TRUE if score >= spec.score_threshold else FALSE, float(score),
                            f"score {_fmt(score)} of {_fmt(spec.score_threshold)} ({names})"))
    return out


def expression_rule(spec, reader: Reader) -> list[Observed]:
    tree = expression.parse(spec.text)
    ctx = expression.Context(reader.now, reader.current, reader.history)
    return [Observed(labels, TRUE if hit else FALSE, value,
                     f"{spec.text[:120]}: {'true' if hit else 'false'}" + (f" ({_fmt(value)})" if value is not None
                                                                         else ""))
            for labels, hit, value in expression.evaluate(tree, ctx)]


def pattern(spec, reader: Reader) -> list[Observed]:
    start = reader.now - timedelta(seconds=spec.within_seconds)
    counts: dict[tuple, int] = defaultdict(int)
    last_detail: dict[tuple, str] = {}
    for event in reader.events(spec.source, start, reader.now):
        if _matches(event.labels, spec.filter):
            key = _group(event.labels, spec.group_by)
            counts[key] += 1
            last_detail[key] = event.detail
    return [Observed(dict(key), TRUE if count >= spec.count else FALSE, float(count),
                     f"{count} {spec.source} in {spec.within_seconds} s (fires at {spec.count})"
                     + (f": {last_detail[key][:120]}" if last_detail.get(key) else ""))
            for key, count in counts.items()]


def anomaly_rule(spec, reader: Reader) -> list[Observed]:
    start = reader.now - timedelta(seconds=spec.window_seconds)
    score_of = anomaly.rolling_zscore if spec.method == "zscore" else anomaly.rolling_mad_score
    out = []
    for series in reader.history(spec.metric, start, reader.now):
        if not _matches(series.labels, spec.filter) or not series.values:
            continue
        scores = score_of(series.times, series.values, spec.window_seconds, spec.min_samples, spec.by_time_of_day,
                          spec.bucket_minutes, last_only=True)
        score = float(scores[-1])
        if math.isnan(score):
            out.append(Observed(dict(series.labels), NO_DATA, None,
                                f"{spec.metric}: fewer than {spec.min_samples} points in the window"))
            continue
        hit = {"both": abs(score) >= spec.threshold, "above": score >= spec.threshold,
               "below": score <= -spec.threshold}[spec.direction]
        shown = max(-1e9, min(1e9, score))
        out.append(Observed(dict(series.labels), TRUE if hit else FALSE, shown,
                            f"{spec.metric} = {_fmt(series.values[-1])}, {spec.method} score {_fmt(shown)} "
                            f"(threshold {_fmt(spec.threshold)})"))
    return out


def predictive(spec, reader: Reader) -> list[Observed]:
    start = reader.now - timedelta(seconds=spec.lookback_seconds)
    out = []
    for series in reader.history(spec.metric, start, reader.now):
        if not _matches(series.labels, spec.filter):
            continue
        if len(series.values) < spec.min_samples:
            out.append(Observed(dict(series.labels), NO_DATA, None,
                                f"{spec.metric}: fewer than {spec.min_samples} points in the lookback"))
            continue
        eta = anomaly.time_to_limit(series.times, series.values, spec.limit, spec.direction == "above",
                                    spec.min_samples)
        if math.isnan(eta):
            out.append(Observed(dict(series.labels), NO_DATA, None, f"{spec.metric}: no trend (flat time axis)"))
            continue
        hit = eta <= spec.horizon_seconds
        when = "already there" if eta == 0 else ("never at this trend" if math.isinf(eta) else f"in ~{eta:,.0f} s")
        out.append(Observed(dict(series.labels), TRUE if hit else FALSE, float(series.values[-1]),
                            f"{spec.metric} = {_fmt(series.values[-1])} reaches {_fmt(spec.limit)} {when}"))
    return out


OBSERVERS = {"threshold": threshold, "composite": composite, "expression": expression_rule, "pattern": pattern,
             "anomaly": anomaly_rule, "predictive": predictive}


def observe(kind: str, spec, reader: Reader) -> list[Observed]:
    return OBSERVERS[kind](spec, reader)


def missing_means(kind: str, spec) -> str:
    """What a label set seen before but absent now means: pattern rules count events (absence = false);
    other kinds follow the rule's `no_data` mode (applied later by the state machine)."""
    return FALSE if kind == "pattern" else NO_DATA
