"""The alert state machine, pure: no database, no clock (every call takes `now`).

Normal -> Pending -> Firing -> Recovering -> Normal, plus NoData and Error (docs/ALERTS.md "Evaluation").
`step(instance, observation, now, pending_seconds, keep_firing_seconds)` returns the instance's next state
and the transitions it went through; evaluation.py copies both onto the `AlertInstance` row and writes one
`AlertEvent` per transition.

Rules that everything downstream relies on:
- a new episode starts only when the condition turns true from normal/nodata/error; then, and only then,
  the human fields (ack, ack expiry, snooze, silence until resolved, escalation level) are cleared, the
  assignee is kept; so a duplicate evaluation can never undo an acknowledgement;
- `pending_seconds == 0` goes straight to firing in the same evaluation, still writing both transitions;
- a duplicate evaluation (same observation, same `now`) changes no state and writes no transition.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

NORMAL, PENDING, FIRING, RECOVERING, NODATA, ERROR = "normal", "pending", "firing", "recovering", "nodata", "error"
STATES = (NORMAL, PENDING, FIRING, RECOVERING, NODATA, ERROR)
# What an evaluation observed for one label set.
TRUE, FALSE, NO_DATA, FAILED = "true", "false", "nodata", "error"
OBSERVATIONS = (TRUE, FALSE, NO_DATA, FAILED)
# Rule spec `no_data`: what a missing sample means.
NO_DATA_MODES = ("nodata", "ok", "alerting")
SUMMARY_MAX = 300


@dataclass(frozen=True)
class Observation:
    outcome: str  # one of OBSERVATIONS
    value: float | None = None
    summary: str = ""


@dataclass(frozen=True)
class Transition:
    from_state: str
    to_state: str
    episode: int
    value: float | None


@dataclass(frozen=True)
class InstanceState:
    """The fields of an `AlertInstance` the state machine reads or writes."""

    state: str = NORMAL
    episode: int = 0
    value: float | None = None
    summary: str = ""
    state_since: datetime | None = None
    pending_since: datetime | None = None
    firing_since: datetime | None = None
    recovering_since: datetime | None = None
    resolved_at: datetime | None = None
    last_evaluated_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_expires_at: datetime | None = None
    assignee: str | None = None
    snoozed_until: datetime | None = None
    silenced_until_resolved: bool = False
    escalation_level: int = 0


FIELDS = tuple(InstanceState.__dataclass_fields__)


@dataclass
class StepResult:
    state: InstanceState
    transitions: list[Transition] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.transitions)


def fingerprint(labels: dict[str, str]) -> str:
    """sha256 of the canonical JSON of the full label set (alertname, rule labels, sample labels)."""
    canonical = json.dumps({str(k): str(v) for k, v in labels.items()}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply_no_data(observation: Observation, mode: str) -> Observation:
    """A missing sample under the rule's `no_data` mode: its own state, as if false, or as if true."""
    if observation.outcome != NO_DATA or mode == "nodata":
        return observation
    return replace(observation, outcome=FALSE if mode == "ok" else TRUE,
                   summary=observation.summary or "no data")


def is_acknowledged(instance, now: datetime) -> bool:
    """Acknowledged = acknowledged_at set and the ack has not expired (computed when read)."""
    return instance.acknowledged_at is not None and (
        instance.ack_expires_at is None or instance.ack_expires_at > now)


def _enter(current: InstanceState, to: str, now: datetime, obs: Observation, out: list[Transition],
           **changes) -> InstanceState:
    out.append(Transition(current.state, to, changes.get("episode", current.episode), obs.value))
    return replace(current, state=to, state_since=now, **changes)


def _new_episode(current: InstanceState, now: datetime, obs: Observation, out: list[Transition]) -> InstanceState:
    return _enter(current, PENDING, now, obs, out, episode=current.episode + 1, pending_since=now,
                  firing_since=None, recovering_since=None, resolved_at=None, acknowledged_by=None,
                  acknowledged_at=None, ack_expires_at=None, snoozed_until=None, silenced_until_resolved=False,
                  escalation_level=0)


def _elapsed(since: datetime | None, now: datetime, seconds: int) -> bool:
    return since is None or now - since >= timedelta(seconds=seconds)


def _when_true(cur: InstanceState, now: datetime, obs: Observation, pending: int,
               out: list[Transition]) -> InstanceState:
    if cur.state in (NORMAL, NODATA, ERROR):
        cur = _new_episode(cur, now, obs, out)
    if cur.state == PENDING and _elapsed(cur.pending_since, now, pending):
        cur = _enter(cur, FIRING, now, obs, out, firing_since=now)
    elif cur.state == RECOVERING:
        cur = _enter(cur, FIRING, now, obs, out, recovering_since=None)
    return cur


def _when_false(cur: InstanceState, now: datetime, obs: Observation, keep: int,
                out: list[Transition]) -> InstanceState:
    if cur.state == PENDING:  # never fired: back to normal, nothing was notified
        return _enter(cur, NORMAL, now, obs, out, pending_since=None)
    if cur.state == FIRING:
        if keep > 0:
            return _enter(cur, RECOVERING, now, obs, out, recovering_since=now)
        return _enter(cur, NORMAL, now, obs, out, resolved_at=now, recovering_since=None)
    if cur.state == RECOVERING and _elapsed(cur.recovering_since, now, keep):
        return _enter(cur, NORMAL, now, obs, out, resolved_at=now)
    if cur.state in (NODATA, ERROR):
        return _enter(cur, NORMAL, now, obs, out)
    return cur


def step(current: InstanceState, observation: Observation, now: datetime, pending_seconds: int = 0,
         keep_firing_seconds: int = 0) -> StepResult:
    """One evaluation of one label set. `observation` has already had the rule's no_data mode applied."""
    if observation.outcome not in OBSERVATIONS:
        raise ValueError(f"unknown observation {observation.outcome!r}")
    out: list[Transition] = []
    cur = current
    if observation.outcome == TRUE:
        cur = _when_true(cur, now, observation, max(0, pending_seconds), out)
    elif observation.outcome == FALSE:
        cur = _when_false(cur, now, observation, max(0, keep_firing_seconds), out)
    elif observation.outcome == NO_DATA and cur.state != NODATA:
        cur = _enter(cur, NODATA, now, observation, out, pending_since=None, recovering_since=None)
    elif observation.outcome == FAILED and cur.state != ERROR:
        cur = _enter(cur, ERROR, now, observation, out, pending_since=None, recovering_since=None)
    summary = (observation.summary or "")[:SUMMARY_MAX]
    cur = replace(cur, value=observation.value, summary=summary, last_evaluated_at=now)
    return StepResult(cur, out)


def from_row(row) -> InstanceState:
    """The state-machine view of an `AlertInstance` (or anything with the same attributes)."""
    return InstanceState(**{name: getattr(row, name) for name in FIELDS})


def to_row(state: InstanceState, row) -> None:
    for name in FIELDS:
        if getattr(row, name) != getattr(state, name):
            setattr(row, name, getattr(state, name))
