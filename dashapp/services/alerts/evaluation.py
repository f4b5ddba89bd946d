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
- Quiet instances are written at most every `HEARTBEAT` (value, last_evaluated_at); a transition,
  a new instance or a severity change is written at once.
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


def is_due(rule: AlertRule, now: datetime) -> bool:
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
    stmt = sa.select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
    if rule_ids is not None:
        stmt = stmt.where(AlertRule.id.in_(rule_ids))
    rules = list(db.session.execute(stmt).scalars())
    reader = LiveReader(now)
    for rule in rules:
        if not force and not (force_ids and rule.id in force_ids) and not is_due(rule, now):
            report.skipped += 1
            continue
        outcome = evaluate_rule(rule, now, reader)
        report.evaluated += 1
        report.instances += outcome.instances
        report.transitions += outcome.transitions
        report.firing += outcome.firing
        if outcome.error:
            report.errors[outcome.rule_id] = outcome.error
    report.seconds = time.perf_counter() - started
    if report.transitions:
        publish("alerts", {"kind": "evaluation", "transitions": report.transitions, "firing": report.firing[:50]})
    return report


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"://[^@\s/]+@", "://***@", text)  # credentials in database/broker URLs
    return " ".join(text.split())[: sm.SUMMARY_MAX]


def evaluate_rule(rule: AlertRule, now: datetime, reader: LiveReader | None = None) -> RuleOutcome:
    """Observe one rule at `now` and apply the state machine to its instances (never raises for the rule's
    own faults: they become its Error state)."""
    rule_id, kind = rule.id, rule.kind
    _last_run[(_db_key(), rule_id)] = now
    reader = reader or LiveReader(now)
    spec, observed, error = None, [], None
    try:
        spec = validate_spec(kind, rule.spec or {})
        observed = observe(kind, spec, reader)
    except Exception as exc:  # contained: one broken rule or source never stops the pass
        db.session.rollback()  # a failed query leaves PostgreSQL's transaction aborted
        error = _error_text(exc)
        log.warning("alert rule %s failed: %s", rule_id, error)
    try:
        return _apply(db.session.get(AlertRule, rule_id), spec, observed, error, now)
    except sa.exc.IntegrityError:  # another evaluator created the same instance first: next pass sees it
        db.session.rollback()
        return RuleOutcome(rule_id, error="concurrent evaluation; retried next pass")


def _severity(rule: AlertRule, spec, labels: dict) -> str:
    chosen = getattr(spec, "severity_from", None) if spec is not None else None
    if chosen is not None and labels.get(chosen.label) in chosen.map:
        return chosen.map[labels[chosen.label]]
    return rule.severity


def _lock(session, rule_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :rule)"),
                        {"space": _PG_LOCK_SPACE, "rule": rule_id})


def _plan(rule: AlertRule, spec, observed: list[Observed], error: str | None, existing: dict) -> list[tuple]:
    """[(row or None, labels, fingerprint, Observation)] for this evaluation."""
    base = {**{str(k): str(v) for k, v in (rule.labels or {}).items()}, "alertname": rule.name}
    if error is not None:
        obs = sm.Observation(sm.FAILED, None, error)
        if existing:
            return [(row, row.labels, fp, obs) for fp, row in existing.items()]
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
        plan.append((existing.get(fp), labels, fp, sm.apply_no_data(sm.Observation(item.outcome, item.value,
                                                                                  item.summary), mode)))
    missing = missing_means(rule.kind, spec)
    for fp, row in existing.items():
        if fp not in seen and row.state not in (sm.NORMAL, sm.NODATA):
            why = "no events in the window" if missing == sm.FALSE else "no sample for this label set"
            plan.append((row, row.labels, fp, sm.apply_no_data(sm.Observation(missing, None, why), mode)))
    return plan


def _apply(rule: AlertRule, spec, observed: list[Observed], error: str | None, now: datetime) -> RuleOutcome:
    outcome = RuleOutcome(rule.id, error=error)
    with unit_of_work() as session:
        _lock(session, rule.id)
        rows = session.execute(sa.select(AlertInstance).where(AlertInstance.rule_id == rule.id)
                               .execution_options(populate_existing=True)).scalars()
        existing = {row.fingerprint: row for row in rows}
        for row, labels, fp, obs in _plan(rule, spec, observed, error, existing):
            if row is None and obs.outcome not in (sm.TRUE, sm.FAILED):
                continue  # nothing to track for a label set that has never fired
            current = sm.from_row(row) if row is not None else sm.InstanceState(state_since=now)
            result = sm.step(current, obs, now, rule.pending_seconds, rule.keep_firing_seconds)
            severity = _severity(rule, spec, labels)
            outcome.instances += 1
            stale = row is None or row.last_evaluated_at is None or now - row.last_evaluated_at >= HEARTBEAT
            if not (result.transitions or stale or row.severity != severity):
                continue
            if row is None:
                row = AlertInstance(rule_id=rule.id, fingerprint=fp, labels=labels, severity=severity,
                                    state=sm.NORMAL, episode=0, state_since=now, updated_at=now)
                session.add(row)
            sm.to_row(result.state, row)
            row.severity, row.updated_at = severity, now
            session.flush()
            for t in result.transitions:
                session.add(AlertEvent(instance_id=row.id, rule_id=rule.id, at=now, kind=t.to_state,
                                       from_state=t.from_state, to_state=t.to_state, episode=t.episode,
                                       value=t.value, actor=SYSTEM, note=obs.summary[:500]))
                if t.to_state == sm.FIRING:
                    outcome.firing.append(row.id)
            outcome.transitions += len(result.transitions)
    return outcome
