"""Inhibition rules: while an alert matching `source_matchers` fires, alerts matching
`target_matchers` that carry the same values of every label in `equal` are not notified (recorded
with reason "inhibited"; they still show in the inbox). An alert never inhibits itself."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, bounds
from dashapp.services.alerts import matchers as matcher_lib
from dashapp.services.errors import NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import InhibitionRule

MAX_RULES = 200


def list_rules() -> list[InhibitionRule]:
    return list(db.session.execute(sa.select(InhibitionRule).order_by(InhibitionRule.id).limit(MAX_RULES)).scalars())


def save_rule(actor: str, data: dict, rule_id: int | None = None) -> InhibitionRule:
    """`data = {"source_matchers": [...], "target_matchers": [...], "equal": ["desk", ...], "comment": ""}`."""
    if not isinstance(data, dict):
        raise ValidationError("an inhibition rule is an object", field="inhibition")
    source = matcher_lib.parse(data.get("source_matchers"), "source_matchers")
    target = matcher_lib.parse(data.get("target_matchers"), "target_matchers")
    if not source or not target:
        field = "source_matchers" if not source else "target_matchers"
        raise ValidationError(f"{field} needs at least one matcher", field=field)
    equal = data.get("equal") or []
    if isinstance(equal, str):
        equal = [part.strip() for part in equal.split(",") if part.strip()]
    if not isinstance(equal, list) or len(equal) > 20 or not all(
            isinstance(e, str) and matcher_lib.LABEL_NAME.match(e) for e in equal):
        raise ValidationError("equal must be a list of at most 20 label names", field="equal")
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 300 or bounds.has_control_characters(comment):
        raise ValidationError("comment must be at most 300 characters, no control characters", field="comment")
    with unit_of_work() as session:
        if rule_id is None:
            if session.execute(sa.select(sa.func.count()).select_from(InhibitionRule)).scalar() >= MAX_RULES:
                raise ValidationError(f"at most {MAX_RULES} inhibition rules", field="inhibition")
            row = InhibitionRule()
            session.add(row)
        else:
            row = session.get(InhibitionRule, rule_id)
            if row is None:
                raise NotFound(f"inhibition rule {rule_id} not found")
        row.source_matchers, row.target_matchers, row.equal = source, target, list(dict.fromkeys(equal))
        row.comment, row.updated_by, row.updated_at = comment.strip(), actor, utcnow()
        session.flush()
        audit.record(actor, "alerts.inhibition.save", f"inhibition_rule:{row.id}",
                     {"source_matchers": source, "target_matchers": target, "equal": row.equal, "comment": row.comment})
    return row


def delete_rule(actor: str, rule_id: int) -> None:
    with unit_of_work() as session:
        row = session.get(InhibitionRule, rule_id)
        if row is None:
            raise NotFound(f"inhibition rule {rule_id} not found")
        session.delete(row)
        audit.record(actor, "alerts.inhibition.delete", f"inhibition_rule:{rule_id}", {})


def inhibiting(labels: dict, fingerprint: str, firing: list[tuple[str, dict]],
               rules: list[InhibitionRule]) -> InhibitionRule | None:
    """The first rule that inhibits an alert with `labels`, given the firing alerts
    `[(fingerprint, labels), ...]`, or None."""
    for rule in rules:
        if not matcher_lib.matches(rule.target_matchers, labels):
            continue
        for source_fp, source_labels in firing:
            if source_fp == fingerprint or not matcher_lib.matches(rule.source_matchers, source_labels):
                continue
            if all(source_labels.get(name) == labels.get(name) for name in rule.equal or ()):
                return rule
    return None
