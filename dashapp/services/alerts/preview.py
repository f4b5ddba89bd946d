"""Replay a rule over the stored history before it is enabled: "would have fired N times this week".

The rule's own observation code (observe.py) runs at evenly spaced instants over the last `days`
days (at most `max_steps` of them, never closer than the rule's `every_seconds`; a pattern rule also at
every event's instant, so a burst shorter than a step is counted), reading a
`HistoryReader` instead of live sources: a metric's "current" value at an instant is its newest stored
point at or before it (if not older than `stale_seconds`), history and events are sliced from one
fetch of the whole span. The state machine (state.py) then runs exactly as in evaluation, so the
pending and keep-firing periods count. Metrics without stored history cannot be previewed (said so).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dashapp.services.alerts import metrics as registry
from dashapp.services.alerts import state as sm
from dashapp.services.alerts.observe import missing_means, observe
from dashapp.services.alerts.rule_specs import validate_spec
from dashapp.services.errors import ValidationError
from models import utcnow

MAX_DAYS = 30
MAX_STEPS = 2000
MAX_EPISODES = 200


@dataclass
class Episode:
    labels: dict
    started_at: datetime  # firing
    ended_at: datetime | None  # back to normal (None: still firing at the end)


@dataclass
class Preview:
    fired_count: int  # transitions to firing over the span
    episodes: list[Episode] = field(default_factory=list)
    series: list[tuple[datetime, int, float | None]] = field(default_factory=list)  # (at, firing count, max value)
    steps: int = 0
    step_seconds: int = 0
    start: datetime | None = None
    end: datetime | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return {"fired_count": self.fired_count, "steps": self.steps, "step_seconds": self.step_seconds,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, "note": self.note,
                "episodes": [{"labels": e.labels, "started_at": e.started_at.isoformat(),
                              "ended_at": e.ended_at.isoformat() if e.ended_at else None} for e in self.episodes],
                "series": [[at.isoformat(), n, v] for at, n, v in self.series]}


class HistoryReader:
    """The Reader of observe.py over stored history, positioned at `now` by the replay loop."""

    def __init__(self, start: datetime, end: datetime, stale_seconds: float):
        self.start, self.end, self.now = start, end, start
        self.stale = timedelta(seconds=stale_seconds)
        self._series: dict[str, list] = {}
        self._events: dict[str, list] = {}

    def _all(self, metric: str) -> list:
        if metric not in self._series:
            source = registry.metric(metric)
            if source is None:
                raise LookupError(f"unknown metric {metric!r}")
            if source.history is None:
                raise ValidationError(f"metric {metric!r} keeps no history, so a rule on it cannot be previewed",
                                      field="spec.metric")
            self._series[metric] = [(s.labels, list(s.times), list(s.values)) for s in source.history(
                self.start, self.end)]
        return self._series[metric]

    def current(self, metric: str) -> list:
        out = []
        for labels, times, values in self._all(metric):
            i = bisect.bisect_right(times, self.now) - 1
            if i >= 0 and self.now - times[i] <= self.stale:
                out.append(registry.Sample(labels, values[i]))
        return out

    def history(self, metric: str, start: datetime, end: datetime) -> list:
        out = []
        for labels, times, values in self._all(metric):
            lo, hi = bisect.bisect_left(times, start), bisect.bisect_right(times, end)
            if hi > lo:
                out.append(registry.Series(labels, times[lo:hi], values[lo:hi]))
        return out

    def events(self, source: str, start: datetime, end: datetime) -> list:
        if source not in self._events:
            found = registry.event_source(source)
            if found is None:
                raise LookupError(f"unknown event source {source!r}")
            self._events[source] = list(found.between(self.start, self.end))
        events = self._events[source]
        times = [e.at for e in events]
        return events[bisect.bisect_right(times, start):bisect.bisect_right(times, end)]


def _margin(kind: str, spec) -> timedelta:
    """How much history before the span a rule looks at."""
    seconds = (getattr(spec, "window_seconds", 0) or getattr(spec, "lookback_seconds", 0)
               or getattr(spec, "within_seconds", 0))
    return timedelta(seconds=seconds)


def preview(kind: str, spec: dict, *, name: str = "preview", labels: dict | None = None, pending_seconds: int = 0,
            keep_firing_seconds: int = 0, days: float = 7, now: datetime | None = None,
            max_steps: int = MAX_STEPS, stale_seconds: float | None = None) -> Preview:
    checked = validate_spec(kind, spec)
    if not (0 < days <= MAX_DAYS) or not math.isfinite(days):
        raise ValidationError(f"preview days must be more than 0 and at most {MAX_DAYS}", field="days")
    max_steps = max(10, min(int(max_steps), MAX_STEPS))
    end = now or utcnow()
    start = end - timedelta(days=days)
    step = max(checked.every_seconds, math.ceil((end - start).total_seconds() / max_steps))
    stale = stale_seconds if stale_seconds is not None else max(2 * step, 300)
    reader = HistoryReader(start - _margin(kind, checked), end, stale)
    base = {**{str(k): str(v) for k, v in (labels or {}).items()}, "alertname": name}
    states: dict[str, sm.InstanceState] = {}
    label_of: dict[str, dict] = {}
    result = Preview(0, start=start, end=end, step_seconds=step)
    open_episode: dict[str, Episode] = {}
    for at in _instants(kind, checked, reader, start, end, step):
        reader.now = at
        try:
            observed = observe(kind, checked, reader)
        except (LookupError, ValueError) as exc:
            raise ValidationError(f"cannot preview this rule: {exc}", field="spec") from None
        seen, values = set(), []
        for item in observed:
            full = {**{str(k): str(v) for k, v in item.labels.items()}, **base}
            fp = sm.fingerprint(full)
            seen.add(fp)
            label_of[fp] = full
            obs = sm.apply_no_data(sm.Observation(item.outcome, item.value), checked.no_data)
            if item.value is not None:
                values.append(float(item.value))
            _advance(states, fp, obs, at, pending_seconds, keep_firing_seconds, result, open_episode, label_of)
        missing = missing_means(kind, checked)
        for fp in list(states):
            if fp not in seen and states[fp].state not in (sm.NORMAL, sm.NODATA):
                obs = sm.apply_no_data(sm.Observation(missing), checked.no_data)
                _advance(states, fp, obs, at, pending_seconds, keep_firing_seconds, result, open_episode, label_of)
        firing = sum(1 for s in states.values() if s.state in (sm.FIRING, sm.RECOVERING))
        result.series.append((at, firing, max(values) if values else None))
        result.steps += 1
    if result.fired_count == 0:
        result.note = f"would not have fired in the last {days:g} days"
    else:
        result.note = f"would have fired {result.fired_count} time{'s' if result.fired_count != 1 else ''} " \
                      f"in the last {days:g} days"
    return result


def _instants(kind: str, spec, reader: HistoryReader, start: datetime, end: datetime, step: int) -> list[datetime]:
    """Evenly spaced instants; for a pattern rule also the instant of every event (at most MAX_STEPS more), so a
    burst shorter than the step is still counted at its peak."""
    count = int((end - start).total_seconds() // step) + 1
    instants = sorted({start + timedelta(seconds=step * i) for i in range(count)} | {end})  # `end` = now, always
    if kind == "pattern":
        times = sorted({e.at for e in reader.events(spec.source, start, end)})
        if len(times) > MAX_STEPS:
            times = [times[int(i * len(times) / MAX_STEPS)] for i in range(MAX_STEPS)]
        instants = sorted(set(instants) | set(times))
    return instants


def _advance(states, fp, obs, at, pending, keep, result: Preview, open_episode: dict, label_of: dict) -> None:
    if fp not in states and obs.outcome != sm.TRUE:
        return
    outcome = sm.step(states.get(fp, sm.InstanceState(state_since=at)), obs, at, pending, keep)
    states[fp] = outcome.state
    for t in outcome.transitions:
        if t.to_state == sm.FIRING and t.from_state != sm.RECOVERING:
            result.fired_count += 1
            if len(result.episodes) < MAX_EPISODES:
                episode = Episode(label_of[fp], at, None)
                result.episodes.append(episode)
                open_episode[fp] = episode
        elif t.from_state in (sm.FIRING, sm.RECOVERING) and t.to_state != sm.FIRING and fp in open_episode:
            open_episode.pop(fp).ended_at = at
