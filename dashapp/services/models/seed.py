"""Demo seed: one registered model (AAPL next-day direction) with a champion, trained for real on the
bundled closes with a deliberately tiny configuration so seeding stays fast (two configurations of 20
trees, two folds). Its DSR floor is 0.0, recorded in its gates as the threshold, so nobody mistakes the demo
champion for one that met the desk's floor. Idempotent: an existing model is left as it is."""
from __future__ import annotations

from dashapp.services.models import registry, shadow, training

DEMO_MODEL = "aapl-direction"


def seed_demo_model(actor: str = "demo") -> str:
    from dashapp.extensions import db
    import sqlalchemy as sa

    from models import MlModel

    from dashapp.services.alerts import sources_models

    sources_models.ensure_builtin_rules()  # drift, decay and age thresholds raise alerts
    if db.session.execute(sa.select(MlModel.id).where(MlModel.name == DEMO_MODEL)).scalar() is not None:
        return f"model {DEMO_MODEL}: present"
    params = training.RetrainParams(model=DEMO_MODEL, symbol="AAPL", start="2015-01-02", end="2020-12-31",
                                    n_estimators=20, max_depths=[2], learning_rates=[0.1, 0.2], folds=2, seed=7,
                                    min_dsr=0.0)
    result = training.retrain(params, actor=actor)
    if result["gates_passed"]:
        # The installer's demo data, like a migration: no second person exists yet (D90); a person's
        # promotion always goes through registry.promote and the four-eyes request.
        registry._change_champion(actor, "admin", DEMO_MODEL, result["version"],
                                  "demo seed: tiny model on bundled closes, DSR floor 0.0 (see its gates)",
                                  rollback=False, evidence_extra={"seeded": True})
        added = shadow.run(DEMO_MODEL, bars=250)
        return f"model {DEMO_MODEL}: v{result['version']} champion, {added} shadow signals"
    return f"model {DEMO_MODEL}: v{result['version']} registered; gates failed ({', '.join(result['failed_gates'])})"
