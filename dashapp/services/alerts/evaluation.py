"""Evaluation: observe each due rule (observe.py), run the state machine (state.py) per label set, and
write the instances and one AlertEvent per transition, rule by rule, each in its own transaction.

- Due: a rule runs when `spec.every_seconds` have passed since this process last evaluated it (the
  runner forces a pass over every rule when a breach or fault arrives on the bus).
- One instance per (rule, label set): labels = the sample's labels + the rule's static labels +
  `alertname`; fingerprint = sha256 of their canonical JSON. An instance row is created the first
  time its condition is true (a label set that never fired costs nothing).
- A label set that disappears while pending/firing/recovering follows the rule's `no_data` mode
  (pattern rules: no events = false); one that disappears while normal stays normal.
- An exception while observing puts the rule's instances (or one instance with the rule's own labels)
  in the Error state with the exception's class and text (credentials in URLs masked); the pass goes on.
- Quiet instances are written at most every `HEARTBEAT` (value, summary, last_evaluated_at), all of a
  pass in one bulk UPDATE; a transition, a new instance or a severity change is written at once, in
  the rule's own transaction.
- Concurrent evaluators (a runner plus `dashapp alerts evaluate --once`): on PostgreSQL a transaction
  advisory lock per rule serialises them and instances are re-read under it; SQLite has one writer.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.realtime import publish
from dashapp.services.alerts import state as sm
from dashapp.services.alerts.observe import LiveReader, Observed, missing_means, observe
from dashapp.services.alerts.rule_specs import validate_spec
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import AlertEvent, AlertInstance, AlertRule

log = logging.getLogger(__name__)

HEARTBEAT = timedelta(seconds=30)
MAX_INSTANCES_PER_RULE = 1000
_PG_LOCK_SPACE = 0x414C5254  # "ALRT"
SYSTEM = "system"
_last_run: dict[tuple[str, int], datetime] = {}


@dataclass
class RuleOutcome:
    rule_id: int
    instances: int = 0
    transitions: int = 0
    firing: list[int] = field(default_factory=list)  # instance ids that turned firing
    error: str | None = None
    heartbeats: list[dict] = field(default_factory=list)  # quiet instances' value/summary, written in bulk


@dataclass
class EvalReport:
    at: datetime
    evaluated: int = 0
    skipped: int = 0
    instances: int = 0
    transitions: int = 0
    firing: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"at": self.at.isoformat(), "evaluated": self.evaluated, "skipped": self.skipped,
                "instances": self.instances, "transitions": self.transitions, "firing": self.firing,
                "errors": {str(k): v for k, v in self.errors.items()}, "seconds": round(self.seconds, 4)}


def _db_key() -> str:
    return str(db.engine.url)


@dataclass(frozen=True)
class RuleView:
    """A rule's fields as plain values (no ORM object: a commit in the pass never reloads them)."""

    id: int
    name: str
    kind: str
    spec: dict
    labels: dict
    severity: str
    pending_seconds: int
    keep_firing_seconds: int

    @classmethod
    def of(cls, rule) -> RuleView:
        return cls(rule.id, rule.name, rule.kind, dict(rule.spec or {}), dict(rule.labels or {}), rule.severity,
                   rule.pending_seconds, rule.keep_firing_seconds)


@dataclass(frozen=True)
class InstanceView:
    id: int | None
    labels: dict
    severity: str
    state: sm.InstanceState


@dataclass
class Change:
    instance_id: int | None
    fingerprint: str
    labels: dict
    severity: str
    state: sm.InstanceState
    transitions: list
    note: str


_RULE_COLUMNS = [AlertRule.id, AlertRule.name, AlertRule.kind, AlertRule.spec, AlertRule.labels, AlertRule.severity,
                 AlertRule.pending_seconds, AlertRule.keep_firing_seconds]
_INSTANCE_COLUMNS = [AlertInstance.id, AlertInstance.rule_id, AlertInstance.fingerprint, AlertInstance.labels,
                     AlertInstance.severity, *[getattr(AlertInstance, name) for name in sm.FIELDS]]


def _instances(rule_ids: list[int]) -> dict[int, dict[str, InstanceView]]:
    """Every instance of these rules, as plain values, in one query."""
    out: dict[int, dict[str, InstanceView]] = {rule_id: {} for rule_id in rule_ids}
    for chunk in range(0, len(rule_ids), 500):
        rows = db.session.execute(sa.select(*_INSTANCE_COLUMNS).where(
            AlertInstance.rule_id.in_(rule_ids[chunk:chunk + 500]))).all()
        for row in rows:
            fields = dict(zip(sm.FIELDS, row[5:]))
            out[row.rule_id][row.fingerprint] = InstanceView(row.id, dict(row.labels or {}), row.severity,
                                                             sm.InstanceState(**fields))
    return out


def is_due(rule, now: datetime) -> bool:
    last = _last_run.get((_db_key(), rule.id))
    every = int((rule.spec or {}).get("every_seconds") or 5)
    return last is None or now < last or now - last >= timedelta(seconds=every) - timedelta(milliseconds=50)


def evaluate_all(now: datetime | None = None, force: bool = False, rule_ids: list[int] | None = None,
                 force_ids: set[int] | None = None) -> EvalReport:
    """Evaluate every enabled rule that is due at `now` (all of them with `force`; those in `force_ids`
    whether due or not: the runner's wake-up on a breach or fault)."""
    now = now or utcnow()
    started = time.perf_counter()
    report = EvalReport(at=now)
    stmt = sa.select(*_RULE_COLUMNS).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
    if rule_ids is not None:
        stmt = stmt.where(AlertRule.id.in_(rule_ids))
    due = []
    for row in db.session.execute(stmt).all():
        rule = RuleView(*row[:3], dict(row.spec or {}), dict(row.labels or {}), *row[5:])
        if force or (force_ids and rule.id in force_ids) or is_due(rule, now):
            due.append(rule)
        else:
            report.skipped += 1
    existing = _instances([rule.id for rule in due])
    reader = LiveReader(now)
    heartbeats: list[dict] = []
    for rule in due:
        outcome = evaluate_rule(rule, now, reader, existing.get(rule.id), defer_heartbeats=True)
        report.evaluated += 1
        report.instances += outcome.instances
        report.transitions += outcome.transitions
        report.firing += outcome.firing
        if outcome.error:
            report.errors[outcome.rule_id] = outcome.error
        heartbeats += outcome.heartbeats
    _write_heartbeats(heartbeats)
    report.seconds = time.perf_counter() - started
    if report.transitions:
        publish("alerts", {"kind": "evaluation", "transitions": report.transitions, "firing": report.firing[:50]})
    return report


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"://[^@\s/]+@", "://***@", text)  # credentials in database/broker URLs
    return " ".join(text.split())[: sm.SUMMARY_MAX]


def evaluate_rule(rule, now: datetime, reader: LiveReader | None = None,
                  existing: dict[str, InstanceView] | None = None, defer_heartbeats: bool = False) -> RuleOutcome:
    """Observe one rule (an AlertRule or a RuleView) at `now` and apply the state machine to its instances.
    Never raises for the rule's own faults: they become its Error state."""
    rule = rule if isinstance(rule, RuleView) else RuleView.of(rule)
    _last_run[(_db_key(), rule.id)] = now
    reader = reader or LiveReader(now)
    spec, observed, error = None, [], None
    try:
        spec = validate_spec(rule.kind, rule.spec)
        observed = observe(rule.kind, spec, reader)
    except Exception as exc:  # contained: one broken rule or source never stops the pass
        db.session.rollback()  # a failed query leaves PostgreSQL's transaction aborted
        error = _error_text(exc)
        log.warning("alert rule %s failed: %s", rule.id, error)
    if existing is None:
        existing = _instances([rule.id])[rule.id]
    outcome = RuleOutcome(rule.id, error=error)
    changes = _decide(rule, spec, observed, error, existing, now, outcome)
    if all(_quiet(change, existing) for change in changes):
        outcome.heartbeats = [{"id": c.instance_id, "value": c.state.value, "summary": c.state.summary,
                               "last_evaluated_at": now} for c in changes]
        if not defer_heartbeats:  # evaluate_all writes a whole pass's heartbeats at once
            _write_heartbeats(outcome.heartbeats)
        return outcome
    try:
        _write(rule, spec, observed, error, now, outcome)
    except sa.exc.IntegrityError:  # another evaluator created the same instance first: next pass sees it
        db.session.rollback()
        outcome.error = "concurrent evaluation; retried next pass"
    return outcome


def _severity(rule: RuleView, spec, labels: dict) -> str:
    chosen = getattr(spec, "severity_from", None) if spec is not None else None
    if chosen is not None and labels.get(chosen.label) in chosen.map:
        return chosen.map[labels[chosen.label]]
    return rule.severity


def _lock(session, rule_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :rule)"),
                        {"space": _PG_LOCK_SPACE, "rule": rule_id})


def _plan(rule: RuleView, spec, observed: list[Observed], error: str | None,
          existing: dict[str, InstanceView]) -> list[tuple]:
    """[(InstanceView or None, labels, fingerprint, Observation)] for this evaluation."""
    base = {**{str(k): str(v) for k, v in rule.labels.items()}, "alertname": rule.name}
    if error is not None:
        obs = sm.Observation(sm.FAILED, None, error)
        if existing:
            return [(view, view.labels, fp, obs) for fp, view in existing.items()]
        return [(None, base, sm.fingerprint(base), obs)]
    mode = spec.no_data
    plan, seen = [], set()
    if len(observed) > MAX_INSTANCES_PER_RULE:
        log.warning("alert rule %s produced %d label sets; evaluating the first %d", rule.id, len(observed),
                    MAX_INSTANCES_PER_RULE)
        observed = observed[:MAX_INSTANCES_PER_RULE]
    for item in observed:
        labels = {**{str(k): str(v) for k, v in item.labels.items()}, **base}
        fp = sm.fingerprint(labels)
        if fp in seen:
            continue
        seen.add(fp)
        value = None if item.value is None else float(item.value)
        plan.append((existing.get(fp), labels, fp, sm.apply_no_data(sm.Observation(item.outcome, value,
                                                                                  item.summary), mode)))
    missing = missing_means(rule.kind, spec)
    for fp, view in existing.items():
        if fp not in seen and view.state.state not in (sm.NORMAL, sm.NODATA):
            if any(view.labels.get(k) != v for k, v in base.items()):  # from before the rule's name/labels changed
                plan.append((view, view.labels, fp, sm.Observation(sm.FALSE, None, "the rule's name or labels changed")))
                continue
            why = "no events in the window" if missing == sm.FALSE else "no sample for this label set"
            plan.append((view, view.labels, fp, sm.apply_no_data(sm.Observation(missing, None, why), mode)))
    return plan


def _decide(rule: RuleView, spec, observed, error, existing: dict[str, InstanceView], now: datetime,
            outcome: RuleOutcome) -> list[Change]:
    """What must be written: transitions, new instances, severity changes, stale heartbeats (pure)."""
    changes = []
    outcome.instances = 0
    for view, labels, fp, obs in _plan(rule, spec, observed, error, existing):
        if view is None and obs.outcome not in (sm.TRUE, sm.FAILED):
            continue  # nothing to track for a label set that has never fired
        current = view.state if view is not None else sm.InstanceState(state_since=now)
        result = sm.step(current, obs, now, rule.pending_seconds, rule.keep_firing_seconds)
        severity = _severity(rule, spec, labels)
        outcome.instances += 1
        last = view.state.last_evaluated_at if view is not None else None
        if result.transitions or last is None or now - last >= HEARTBEAT or view.severity != severity:
            changes.append(Change(view.id if view else None, fp, labels, severity, result.state,
                                  result.transitions, obs.summary[:500]))
    return changes


def _quiet(change: Change, existing: dict[str, InstanceView]) -> bool:
    """Only the value, summary and last_evaluated_at of an existing instance move (no lock needed)."""
    view = existing.get(change.fingerprint)
    return view is not None and not change.transitions and view.severity == change.severity


def _write_heartbeats(rows: list[dict]) -> None:
    if not rows:
        return
    with unit_of_work() as session:
        for chunk in range(0, len(rows), 500):
            session.execute(sa.update(AlertInstance), rows[chunk:chunk + 500])


def _write(rule: RuleView, spec, observed, error, now: datetime, outcome: RuleOutcome) -> None:
    """Decide again under the rule's lock, on freshly read rows, and write."""
    written = []
    with unit_of_work() as session:
        _lock(session, rule.id)
        rows = {row.fingerprint: row for row in session.execute(
            sa.select(AlertInstance).where(AlertInstance.rule_id == rule.id)
            .execution_options(populate_existing=True)).scalars()}
        fresh = {fp: InstanceView(row.id, dict(row.labels or {}), row.severity, sm.from_row(row))
                 for fp, row in rows.items()}
        for change in _decide(rule, spec, observed, error, fresh, now, outcome):
            row = rows.get(change.fingerprint)
            if row is None:
                row = AlertInstance(rule_id=rule.id, fingerprint=change.fingerprint, labels=change.labels,
                                    severity=change.severity, state=sm.NORMAL, episode=0, state_since=now,
                                    updated_at=now)
                session.add(row)
            written.append(row)
            sm.to_row(change.state, row)
            row.severity, row.updated_at = change.severity, now
            session.flush()
            for t in change.transitions:
                session.add(AlertEvent(instance_id=row.id, rule_id=rule.id, at=now, kind=t.to_state,
                                       from_state=t.from_state, to_state=t.to_state, episode=t.episode,
                                       value=t.value, actor=SYSTEM, note=change.note))
                if t.to_state == sm.FIRING:
                    outcome.firing.append(row.id)
            outcome.transitions += len(change.transitions)
    for row in {*rows.values(), *written}:  # keep no ORM rows: the pass's next commits need not expire them
        session.expunge(row)
