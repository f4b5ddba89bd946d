"""Model drift, decay and age reach the alerts engine: the metric sources answer per model, the built-in
rules are seeded, and a threshold on a model metric fires through the ordinary evaluation."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts import evaluation, metrics, rules
from dashapp.services.models import seed
from models import AlertInstance, AlertRule


def test_model_metrics_and_rules_raise_alerts(server):
    seed.seed_demo_model()
    metrics.load_sources()
    names = set(db.session.execute(sa.select(AlertRule.name).where(AlertRule.builtin.is_(True))).scalars())
    assert {"Model feature drift", "Model prediction drift", "Model performance decay", "Model stale"} <= names
    source = metrics.metric("models.max_psi")
    samples = source.current(None)
    assert samples and samples[0].labels == {"model": seed.DEMO_MODEL, "version": "1"} and samples[0].value > 0
    rule = rules.create_rule("risk1", {"name": "Demo model has any PSI", "kind": "threshold", "severity": "info",
                                       "spec": {"metric": "models.max_psi", "op": ">", "value": 0.0,
                                                "every_seconds": 5}})
    evaluation.evaluate_all(force=True)
    instance = db.session.execute(sa.select(AlertInstance).where(AlertInstance.rule_id == rule.id)).scalar()
    assert instance is not None and instance.state == "firing" and instance.labels["model"] == seed.DEMO_MODEL
    for name in ("Model feature drift", "Model stale"):
        row = db.session.execute(sa.select(AlertRule).where(AlertRule.name == name)).scalar()
        states = db.session.execute(sa.select(AlertInstance.state).where(AlertInstance.rule_id == row.id)).scalars()
        assert "error" not in set(states)
