"""Alert rules: list, create, update, enable/disable, delete (each audited), and the built-in rules other
areas seed (`ensure_builtin_rule`). The edges check `Perm.ALERT_RULES_EDIT` before calling in; the
specs are validated by `rule_specs.py` (one pydantic model per kind) before anything is written."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.alerts import metrics
from dashapp.services.alerts.rule_specs import KINDS, RuleInput, validate_rule, validate_spec
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import AlertEvent, AlertInstance, AlertRule

SYSTEM = "system"
EDITABLE = ("name", "description", "kind", "spec", "labels", "severity", "pending_seconds", "keep_firing_seconds",
             "runbook", "enabled")


def list_rules(kind: str | None = None, enabled: bool | None = None) -> list[AlertRule]:
    stmt = sa.select(AlertRule).order_by(AlertRule.name)
    if kind is not None:
        stmt = stmt.where(AlertRule.kind == kind)
    if enabled is not None:
        stmt = stmt.where(AlertRule.enabled.is_(enabled))
    return list(db.session.execute(stmt).scalars())


def get_rule(rule_id: int) -> AlertRule:
    rule = db.session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound(f"no alert rule with id {rule_id}", field="rule_id")
    return rule


def rule_by_name(name: str) -> AlertRule | None:
    return db.session.execute(sa.select(AlertRule).where(AlertRule.name == name)).scalar()


def as_dict(rule: AlertRule) -> dict:
    return {"id": rule.id, "name": rule.name, "description": rule.description, "kind": rule.kind,
            "spec": dict(rule.spec or {}), "labels": dict(rule.labels or {}), "severity": rule.severity,
            "pending_seconds": rule.pending_seconds, "keep_firing_seconds": rule.keep_firing_seconds,
            "runbook": rule.runbook, "enabled": rule.enabled, "builtin": rule.builtin, "version": rule.version,
            "updated_by": rule.updated_by, "updated_at": rule.updated_at.isoformat() if rule.updated_at else None}


def _check_sources(rule: RuleInput) -> None:
    """A rule a person writes must name metrics and event sources that exist (built-in rules are trusted:
    their area may register the source later; a missing one shows as NoData)."""
    spec = rule.spec
    names = [spec["metric"]] if "metric" in spec else [c["metric"] for c in spec.get("conditions", [])]
    if rule.kind == "expression":
        from dashapp.services.alerts import expression

        names = sorted(expression.metric_names(expression.parse(spec["text"])))
    known = set(metrics.metric_names())
    for name in names:
        if name not in known:
            raise ValidationError(f"unknown metric {name!r}; known: {', '.join(sorted(known)) or 'none'}",
                                  field="spec.metric")
    if rule.kind == "pattern" and spec["source"] not in metrics.event_names():
        raise ValidationError(f"unknown event source {spec['source']!r}; known: {', '.join(metrics.event_names())}",
                              field="spec.source")


def _values(rule: RuleInput) -> dict:
    return {name: getattr(rule, name) for name in EDITABLE}


def _name_free(session, name: str, rule_id: int | None = None) -> None:
    other = session.execute(sa.select(AlertRule.id).where(AlertRule.name == name)).scalar()
    if other is not None and other != rule_id:
        raise Conflict(f"an alert rule named {name!r} already exists", field="name")


def create_rule(actor: str, data: dict) -> AlertRule:
    rule = validate_rule(data)
    _check_sources(rule)
    with unit_of_work() as session:
        _name_free(session, rule.name)
        row = AlertRule(**_values(rule), builtin=False, version=1, updated_by=actor, updated_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(actor, "alerts.rule_create", f"alert_rule:{row.id}", {"after": _values(rule)})
        return row


def update_rule(rule_id: int, actor: str, data: dict) -> AlertRule:
    """Replace a rule's definition (the edge sends the whole rule); the version counts edits."""
    rule = validate_rule(data)
    _check_sources(rule)
    with unit_of_work() as session:
        row = session.get(AlertRule, rule_id)
        if row is None:
            raise NotFound(f"no alert rule with id {rule_id}", field="rule_id")
        _name_free(session, rule.name, rule_id)
        if row.builtin and rule.kind != row.kind:
            raise Conflict("a built-in rule keeps its kind (disable it and write a new rule instead)", field="kind")
        before = {name: getattr(row, name) for name in EDITABLE}
        after = _values(rule)
        if before == after:
            return row
        for name, value in after.items():
            setattr(row, name, value)
        row.version, row.updated_by, row.updated_at = row.version + 1, actor, utcnow()
        audit.record(actor, "alerts.rule_update", f"alert_rule:{row.id}", {
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v}})
        return row


def set_enabled(rule_id: int, actor: str, enabled: bool) -> AlertRule:
    with unit_of_work() as session:
        row = session.get(AlertRule, rule_id)
        if row is None:
            raise NotFound(f"no alert rule with id {rule_id}", field="rule_id")
        if row.enabled == bool(enabled):
            return row
        row.enabled, row.updated_by, row.updated_at = bool(enabled), actor, utcnow()
        row.version += 1
        resolved = 0 if enabled else _resolve_instances(session, row.id, f"rule disabled by {actor}")
        audit.record(actor, "alerts.rule_enable" if enabled else "alerts.rule_disable", f"alert_rule:{row.id}",
                     {"name": row.name, "resolved_instances": resolved})
        return row


def _resolve_instances(session, rule_id: int, note: str) -> int:
    """A disabled rule's alerts end now (normal, resolved, one event each) rather than firing for ever."""
    now = utcnow()
    rows = session.execute(sa.select(AlertInstance).where(AlertInstance.rule_id == rule_id,
                                                          AlertInstance.state != "normal")).scalars().all()
    for inst in rows:
        session.add(AlertEvent(instance_id=inst.id, rule_id=rule_id, at=now, kind="normal", from_state=inst.state,
                               to_state="normal", episode=inst.episode, value=inst.value, actor=SYSTEM, note=note))
        inst.state, inst.state_since, inst.updated_at = "normal", now, now
        inst.pending_since = inst.recovering_since = None
        if inst.firing_since is not None:
            inst.resolved_at = now
    return len(rows)


def delete_rule(rule_id: int, actor: str) -> None:
    """Deletes the rule with its instances and their history (cascade); built-in rules can only be disabled."""
    with unit_of_work() as session:
        row = session.get(AlertRule, rule_id)
        if row is None:
            raise NotFound(f"no alert rule with id {rule_id}", field="rule_id")
        if row.builtin:
            raise Conflict(f"{row.name!r} is built in: disable it instead", field="rule_id")
        audit.record(actor, "alerts.rule_delete", f"alert_rule:{row.id}", {"name": row.name, "kind": row.kind,
                                                                           "spec": row.spec})
        session.execute(sa.delete(AlertRule).where(AlertRule.id == rule_id))


def ensure_builtin_rule(name: str, kind: str, spec: dict, *, severity: str = "warning", labels: dict | None = None,
                        pending_seconds: int = 0, keep_firing_seconds: int = 0, description: str = "",
                        runbook: str = "", enabled: bool = True) -> AlertRule:
    """Idempotent upsert for seeders (risk, engines, jobs, data here; operations and models in their areas).

    Missing: created (builtin, by "system", audited). Present and never edited by a person: brought up
    to this definition (so a code change reaches existing desks). Edited by a person: left alone."""
    if kind not in KINDS:
        raise ValidationError(f"unknown rule kind {kind!r}", field="kind")
    rule = validate_rule({"name": name, "kind": kind, "spec": spec, "severity": severity, "labels": labels or {},
                          "pending_seconds": pending_seconds, "keep_firing_seconds": keep_firing_seconds,
                          "description": description, "runbook": runbook, "enabled": enabled})
    values = _values(rule)
    try:
        with unit_of_work() as session:
            row = session.execute(sa.select(AlertRule).where(AlertRule.name == rule.name)).scalar()
            if row is None:
                row = AlertRule(**values, builtin=True, version=1, updated_by=SYSTEM, updated_at=utcnow())
                session.add(row)
                session.flush()
                audit.record(SYSTEM, "alerts.rule_seed", f"alert_rule:{row.id}", {"name": row.name, "kind": kind})
                return row
            if row.builtin and row.updated_by == SYSTEM:
                values.pop("enabled")  # a person's disable is kept (set_enabled records who)
                changed = {k: v for k, v in values.items() if getattr(row, k) != v}
                if changed:
                    for key, value in changed.items():
                        setattr(row, key, value)
                    row.version, row.updated_at = row.version + 1, utcnow()
                    audit.record(SYSTEM, "alerts.rule_seed", f"alert_rule:{row.id}",
                                 {"name": row.name, "changed": sorted(changed)})
            return row
    except sa.exc.IntegrityError:  # two seeders at once: the other one created it
        db.session.rollback()
        return rule_by_name(rule.name)


def spec_of(rule: AlertRule):
    """The stored spec as its kind's model (defaults filled in)."""
    return validate_spec(rule.kind, rule.spec or {})
