"""Safe controls: reasons, idempotency, kill switch with a four-eyes reset, role checks in the service."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, controls, tokens, users
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from models import ControlAction, EngineControl
from tests.support.web import PASSWORD


def test_stop_start_write_desired_state_with_reason_and_audit(server):
    out = controls.control_engine("tina", "trader", "paper-1", "stop", "end of day", "k1")
    assert "stop requested" in out
    assert db.session.get(EngineControl, "paper-1").desired_status == "stopped"
    assert controls.engine_view("paper-1").desired == "stopped"
    assert "already stopped" in controls.control_engine("tina", "trader", "paper-1", "stop", "again please", "k2")
    controls.control_engine("tina", "trader", "paper-1", "start", "new session", "k3")
    assert db.session.get(EngineControl, "paper-1").desired_status == "running"
    records = audit.query(action="engine.")
    assert [r.action for r in records][:3] == ["engine.start", "engine.stop", "engine.stop"]


def test_double_click_acts_once(server):
    first = controls.control_engine("tina", "trader", "paper-1", "restart", "reload config", "same-key")
    second = controls.control_engine("tina", "trader", "paper-1", "restart", "reload config", "same-key")
    assert first == second
    assert db.session.get(EngineControl, "paper-1").generation == 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(ControlAction)).scalar() == 1


@pytest.mark.parametrize("reason, key, field", [("", "k", "reason"), ("ok", "k", "reason"), ("a fine reason", "", "idempotency_key")])
def test_reason_and_key_are_required(server, reason, key, field):
    with pytest.raises(ValidationError) as err:
        controls.control_engine("tina", "trader", "paper-1", "stop", reason, key)
    assert err.value.field == field
    assert db.session.get(EngineControl, "paper-1") is None


def test_viewer_cannot_control_even_when_calling_the_service(server):
    with pytest.raises(PermissionDenied):
        controls.control_engine("vic", "viewer", "paper-1", "stop", "I just want to", "k")
    with pytest.raises(PermissionDenied):
        controls.activate_kill_switch("vic", "viewer", "panic button", "k")


def test_kill_switch_blocks_start_and_needs_two_people_to_reset(server):
    controls.activate_kill_switch("tina", "trader", "runaway algo", "a1")
    assert controls.engine_view().kill_switch_active
    with pytest.raises(Conflict, match="kill switch is on"):
        controls.control_engine("tina", "trader", "paper-1", "start", "try again", "s1")
    with pytest.raises(Conflict, match="no reset has been requested"):
        controls.approve_kill_switch_reset("rick", "risk", "x0")
    controls.request_kill_switch_reset("rick", "risk", "algo fixed", "r1")
    with pytest.raises(PermissionDenied, match="four-eyes"):
        controls.approve_kill_switch_reset("rick", "risk", "x1")
    with pytest.raises(PermissionDenied):
        controls.approve_kill_switch_reset("tina", "trader", "x2")  # traders may not approve at all
    assert controls.kill_switch().active
    out = controls.approve_kill_switch_reset("ada", "admin", "x3")
    assert "requested by rick, approved by ada" in out
    assert not controls.kill_switch().active
    actions = [r.action for r in audit.query(action="kill_switch.")]
    assert actions.count("kill_switch.approve_reset") == 1
    # the refused own-approval is audited too, by the one four-eyes mechanism (services/approvals.py)
    refused = [r for r in audit.query(action="approval.approve") if r.outcome == "denied"]
    assert [r.actor for r in refused] == ["rick"]


def test_trading_mode_is_admin_only_and_audited(server):
    with pytest.raises(PermissionDenied):
        controls.set_trading_mode("rick", "risk", "live", "going live now")
    out = controls.set_trading_mode("ada", "admin", "live", "go-live rehearsal")
    assert "another admin must approve" in out and controls.engine_view().trading_mode == "paper"  # four-eyes
    from dashapp.services import approvals

    (request,) = approvals.pending(approvals.Actor("alan", "admin"), controls.LIVE)
    done = approvals.approve(request.id, approvals.Actor("alan", "admin"))
    assert "paper engine" in done.result["outcome"] and controls.engine_view().trading_mode == "live"
    assert audit.query(action="trading_mode.set")[0].actor == "alan"
    assert "PAPER" in controls.set_trading_mode("ada", "admin", "paper", "back to paper")  # safer: at once


def test_engine_view_reports_stale_heartbeat(server):
    from datetime import timedelta

    from models import EngineState, utcnow

    db.session.add(EngineState(engine_id="paper-1", status="running", stage="route",
                               heartbeat_at=utcnow() - timedelta(seconds=60), detail={}))
    db.session.commit()
    assert controls.engine_view().actual == "stale"


def test_control_api_for_engine_and_people(server):
    trader = users.create_user("test", "tom", PASSWORD, "trader")
    viewer = users.create_user("test", "val", PASSWORD, "viewer")
    _, t_secret = tokens.create_token("test", trader.id, "t", ["paper-1"])
    _, v_secret = tokens.create_token("test", viewer.id, "v")
    client = server.test_client()
    auth = lambda s: {"Authorization": f"Bearer {s}"}  # noqa: E731
    refused = client.post("/api/v1/engines/paper-1/stop", json={"reason": "crafted", "idempotency_key": "z"},
                          headers=auth(v_secret))
    assert refused.status_code == 403 and db.session.get(EngineControl, "paper-1") is None
    ok = client.post("/api/v1/engines/paper-1/stop", json={"reason": "maintenance", "idempotency_key": "z1"},
                     headers=auth(t_secret))
    assert ok.status_code == 200
    bad = client.post("/api/v1/engines/paper-1/explode", json={"reason": "maintenance", "idempotency_key": "z2"},
                      headers=auth(t_secret))
    assert bad.status_code == 422 and bad.json["field"] == "action"
    view = client.get("/api/v1/engines/paper-1/control", headers=auth(t_secret)).json
    assert view["desired"] == "stopped" and view["kill_switch_active"] is False
    ks = client.post("/api/v1/kill-switch/activate", json={"reason": "fat finger", "idempotency_key": "q"},
                     headers=auth(t_secret))
    assert ks.status_code == 200
    own = client.post("/api/v1/kill-switch/approve-reset", json={"idempotency_key": "q2"}, headers=auth(t_secret))
    assert own.status_code == 403
