"""Model registry on both databases: versions, champion/challenger aliases, the append-only alias history
and "live at T" across promotion and rollback; a failed gate blocks promotion (naming it); only
MODELS_PROMOTE roles may promote, and every move is audited. Plus one real (small) retrain through the
service: stages in order, gates stored, same seed -> same metrics."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import approvals
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from dashapp.services.models import registry, training
from models import AuditRecord, MlAliasHistory

PASS = [{"name": n, "label": n, "passed": True, "value": 1.0, "threshold": 0.5, "detail": {}}
        for n in ("data_quality", "walk_forward", "deflated_sharpe", "diebold_mariano", "risk_impact")]
FAIL = PASS[:2] + [{**PASS[2], "passed": False, "value": 0.1}] + PASS[3:]
T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _stub():
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior").fit([[0.0], [1.0]], [0, 1])


def _register(gates):
    return registry.register_version("m1", _stub(), actor="trainer", train_start=T0, train_end=T0,
                                     features=["ret_1"], params={"max_depth": 2}, metrics={"oos_sharpe": 1.0},
                                     gates=gates, seed=1, trials=4, job_id=None)


def _tick() -> datetime:
    time.sleep(0.01)
    now = datetime.now(timezone.utc)
    time.sleep(0.01)
    return now


def _promote_with_four_eyes(version: int, reason: str) -> None:
    """risk1 asks; nothing moves until another person approves (never risk1 itself)."""
    asked = registry.promote("risk1", "risk", "m1", version, reason)
    assert asked["action"] == "promote_requested"
    with pytest.raises(PermissionDenied, match="four-eyes"):
        approvals.approve(asked["request_id"], approvals.Actor("risk1", "risk"))
    with pytest.raises(PermissionDenied):
        approvals.approve(asked["request_id"], approvals.Actor("trader1", "trader"))
    done = approvals.approve(asked["request_id"], approvals.Actor("admin1", "admin"))
    assert done.state == "executed" and done.result["champion"] == version


def test_live_at_across_promotion_and_rollback(server):
    registry.ensure_model("m1", "AAPL", "1d", "trainer")
    v1, v2, v3 = _register(PASS), _register(PASS), _register(FAIL)
    assert (v1.version, v2.version, v3.version) == (1, 2, 3)
    assert registry.load_estimator(v1).predict_proba([[0.5]]).shape == (1, 2)
    before = _tick()
    _promote_with_four_eyes(1, "first champion")
    t1 = _tick()
    _promote_with_four_eyes(2, "better out of sample")
    t2 = _tick()
    with pytest.raises(Conflict, match="deflated_sharpe"):
        registry.promote("risk1", "risk", "m1", 3, "try the failing one")
    with pytest.raises(PermissionDenied):
        registry.promote("trader1", "trader", "m1", 1, "not mine to do")
    with pytest.raises(ValidationError, match="reason"):
        registry.promote("risk1", "risk", "m1", 1, " ")
    out = registry.rollback("risk1", "risk", "m1", "v2 misbehaves live")
    assert out == {"model": "m1", "champion": 1, "from_version": 2, "action": "rollback"}
    t3 = _tick()

    assert registry.live_at("m1", "champion", before) is None
    assert registry.live_at("m1", "champion", t1) == 1
    assert registry.live_at("m1", "champion", t2) == 2
    assert registry.live_at("m1", "champion", t3) == 1
    assert registry.live_at("m1", "challenger", t3) == 3  # the newest registration is the challenger
    assert registry.live_at("m1", "challenger", t1) == 3

    moves = registry.history("m1")
    assert [(m["alias"], m["action"], m["version"], m["from_version"]) for m in moves[:3]] == [
        ("champion", "rollback", 1, 2), ("champion", "promote", 2, 1), ("champion", "promote", 1, None)]
    assert moves[0]["moved_by"] == "risk1" and moves[0]["reason"] == "v2 misbehaves live"
    assert moves[1]["moved_by"] == "admin1" and moves[1]["evidence"]["requested_by"] == "risk1"
    assert moves[1]["evidence"]["gates"][2]["name"] == "deflated_sharpe"
    rows = {m["id"] for m in moves}
    assert len(rows) == db.session.execute(sa.select(sa.func.count()).select_from(MlAliasHistory)).scalar()
    audits = db.session.execute(sa.select(AuditRecord.action, AuditRecord.outcome)
                                .where(AuditRecord.action.like("model.%"))).all()
    assert ("model.promote", "ok") in audits and ("model.rollback", "ok") in audits
    assert ("model.promote", "denied") in audits
    listed = registry.list_models()[0]
    assert (listed["champion"], listed["challenger"], listed["versions"]) == (1, 3, 3)
    assert registry.versions("m1")[0]["failed_gates"] == "deflated_sharpe"


@pytest.fixture
def sqlite_server(tmp_path):
    """SQLite only: training is database-independent and the registry's SQL runs on both in the test above."""
    from dashapp import create_server
    from tests.conftest import make_settings, upgrade_database

    app = create_server(make_settings(tmp_path, f"sqlite:///{tmp_path / 'models.sqlite'}"))
    upgrade_database(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_retrain_registers_a_reproducible_challenger(sqlite_server):
    params = training.RetrainParams(model="small", symbol="MSFT", start="2018-01-02", end="2022-12-28",
                                    n_estimators=15, max_depths=[2], learning_rates=[0.1, 0.2], folds=2, seed=3)
    stages = []
    first = training.retrain(params, actor="risk1", progress=lambda s, p, m: stages.append(s))
    assert list(dict.fromkeys(stages)) == list(training.STAGES)
    second = training.retrain(params, actor="risk1")
    assert first["metrics"] == second["metrics"] and (first["version"], second["version"]) == (1, 2)
    detail = registry.version_detail("small", 2)
    assert [g["name"] for g in detail["gates"]] == ["data_quality", "walk_forward", "deflated_sharpe",
                                                   "diebold_mariano", "risk_impact"]
    assert detail["trials"] == 2 and detail["metrics"]["trials"] == 2
    assert registry.live_at("small", "challenger", datetime.now(timezone.utc)) == 2
