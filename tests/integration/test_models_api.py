"""/api/v1/models on both databases: the champion's signal (the challenger recorded in shadow on the same
bar), live-at, promote/rollback over REST with roles and bounded bodies; and the paper engine's model
strategy reading the champion's signal through the same endpoint."""
from __future__ import annotations

from collections import deque
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import approvals, tokens, users
from dashapp.services.errors import PermissionDenied
from dashapp.services.models import registry, seed
from models import MlShadowSignal
from tests.integration.test_model_registry import sqlite_server  # noqa: F401  (fixture)
from tests.support.web import PASSWORD


def _token(role: str) -> dict:
    user = users.create_user("test", f"{role}-api", PASSWORD, role)
    _, secret = tokens.create_token("test", user.id, f"{role}-token", ["paper-1"])
    return {"Authorization": f"Bearer {secret}"}


def test_signal_live_at_promote_and_rollback_over_rest(server):
    seed.seed_demo_model()
    v1 = registry.get_version(seed.DEMO_MODEL, 1)
    challenger = registry.register_version(
        seed.DEMO_MODEL, registry.load_estimator(v1), actor="test", train_start=v1.train_start,
        train_end=v1.train_end, features=list(v1.features), params=dict(v1.params), metrics={}, gates=list(v1.gates),
        seed=2, trials=2, job_id=None)
    client = server.test_client()
    trader, risk = _token("trader"), _token("risk")
    assert client.get(f"/api/v1/models/{seed.DEMO_MODEL}/signal").status_code == 401
    answer = client.get(f"/api/v1/models/{seed.DEMO_MODEL}/signal", headers=trader)
    assert answer.status_code == 200, answer.json
    assert answer.json["version"] == 1 and answer.json["signal"] in (-1, 0, 1)
    latest = db.session.execute(sa.select(MlShadowSignal.role).where(MlShadowSignal.version_id == challenger.id)).all()
    assert latest and {r.role for r in latest} == {"challenger"}  # same bars, recorded, not served
    assert client.get("/api/v1/models/NOT A NAME/signal", headers=trader).status_code in (404, 422)

    path = f"/api/v1/models/{seed.DEMO_MODEL}"
    denied = client.post(f"{path}/promote", json={"version": 2, "reason": "faster"}, headers=trader)
    assert denied.status_code == 403
    bad = client.post(f"{path}/promote", json={"version": 2, "reason": "x\u0007y"}, headers=risk)
    assert bad.status_code == 422 and bad.json["field"] == "reason"
    asked = client.post(f"{path}/promote", json={"version": 2, "reason": "challenger better in shadow"}, headers=risk)
    assert asked.status_code == 202 and asked.json["action"] == "promote_requested", asked.json
    assert registry.live_at(seed.DEMO_MODEL, "champion", datetime.now(timezone.utc)) == 1  # nothing moved yet
    with pytest.raises(PermissionDenied, match="four-eyes"):  # the requester cannot approve their own request
        approvals.approve(asked.json["request_id"], approvals.Actor("risk-api", "risk"))
    with pytest.raises(PermissionDenied, match="four-eyes"):  # and no path runs the change without approval
        registry._execute_promote({"model": seed.DEMO_MODEL, "version": 2, "reason": "sneak"}, "risk-api", "x")
    done = approvals.approve(asked.json["request_id"], approvals.Actor("admin-api", "admin"))
    assert done.state == "executed" and done.result["champion"] == 2
    between = datetime.now(timezone.utc)
    back = client.post(f"{path}/rollback", json={"reason": "undo"}, headers=risk)
    assert back.status_code == 200 and back.json["champion"] == 1
    live = client.get(f"{path}/live", query_string={"at": between.isoformat()}, headers=trader)
    assert live.status_code == 200 and live.json["version"] == 2
    assert client.get(f"{path}/live", query_string={"at": "yesterday"}, headers=trader).status_code == 422
    listed = client.get("/api/v1/models", headers=trader).json["models"]
    assert listed[0]["champion"] == 1


class _ClientOverFlask:
    """The engine's client, answered by the Flask test client (the same views a real HTTP call reaches)."""

    def __init__(self, flask_client, headers):
        self.flask_client, self.headers = flask_client, headers

    def request_once(self, method, path, **kwargs):
        from dashapp.client import IngestRefused

        response = self.flask_client.open(path, method=method, headers=self.headers, **kwargs)
        if response.status_code >= 400:
            raise IngestRefused(response.status_code, response.json or {})
        return response.json


def test_the_paper_engines_model_strategy_follows_the_champion(server, db_backend):
    from dashapp.engine.runner import EngineConfig, PaperEngine

    engine = PaperEngine(EngineConfig(base_url="http://unused", token="unused", model=seed.DEMO_MODEL),
                         client=_ClientOverFlask(server.test_client(), _token("trader")))
    strategy, _book = engine.strategies["ML"]
    assert strategy.signal(deque()) is None  # no model yet: no view, no crash
    seed.seed_demo_model()
    strategy.polled_at = None
    out = strategy.signal(deque())
    assert out is not None and out.direction in (-1, 0, 1) and strategy.symbols == ["AAPL"]
    assert any(s["code"] == "ML" for s in engine.reference["strategies"])


def test_the_scheduled_shadow_job_records_both_aliases(sqlite_server):
    """SQLite only: the job calls shadow.run, whose SQL the signal test covers on both databases."""
    from dashapp.services import jobs

    seed.seed_demo_model()
    v1 = registry.get_version(seed.DEMO_MODEL, 1)
    registry.register_version(seed.DEMO_MODEL, registry.load_estimator(v1), actor="test", train_start=v1.train_start,
                              train_end=v1.train_end, features=list(v1.features), params=dict(v1.params), metrics={},
                              gates=list(v1.gates), seed=2, trials=2, job_id=None)

    class Ctx:
        lines: list = []

        def progress(self, pct, message=""):
            self.lines.append(message)

        def log(self, line):
            self.lines.append(line)

    spec = jobs.job_type("model_shadow")
    out = spec.handler(Ctx(), spec.params(bars=20))
    assert out == {"recorded": {seed.DEMO_MODEL: 20}}  # the challenger's 20 bars (the champion's were seeded)
    assert spec.handler(Ctx(), spec.params(bars=20)) == {"recorded": {seed.DEMO_MODEL: 0}}
