"""Four-eyes as one mechanism (dashapp.services.approvals): request -> another person's approval ->
execution; the guarded function refuses to run any other way; expiry; failures kept on record."""
from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ConfigDict, Field

from dashapp.extensions import db
from dashapp.security.permissions import Perm
from dashapp.services import app_settings, approvals, audit
from dashapp.services.approvals import Actor, ActionSpec
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from models import ApprovalRequest

RITA, ROB, ADA, TOM = Actor("rita", "risk"), Actor("rob", "risk"), Actor("ada", "admin"), Actor("tom", "trader")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: int = Field(ge=0, le=100)


def _execute(params: dict, requested_by: str, approved_by: str) -> dict:
    approvals.require_executing("test.flag")
    if params["value"] == 99:
        raise Conflict("the flag cannot be 99", field="value")
    app_settings.put("test.flag", params["value"], approved_by)
    audit.record(approved_by, "test.flag", "flag", {"requested_by": requested_by})
    return {"outcome": f"flag is {params['value']}"}


@pytest.fixture
def flag_action():
    spec = approvals.register_action(ActionSpec(
        name="test.flag", title="set the test flag", request_perm=Perm.LIMITS_EDIT, approve_perm=Perm.LIMITS_EDIT,
        params_model=_Params, execute=_execute, describe=lambda p: f"flag -> {p['value']}", ttl_minutes=5, mfa=True))
    yield spec
    approvals._REGISTRY.pop("test.flag", None)


def test_request_then_another_person_approves_and_it_executes(server, flag_action):
    row = approvals.request("test.flag", {"value": 7}, RITA, "raise the flag please")
    assert row.state == "pending" and row.summary == "flag -> 7" and app_settings.get("test.flag") is None
    with pytest.raises(PermissionDenied, match="four-eyes"):
        approvals.approve(row.id, RITA)
    with pytest.raises(PermissionDenied, match="may not approve"):
        approvals.approve(row.id, TOM)
    assert app_settings.get("test.flag") is None
    done = approvals.approve(row.id, ROB)
    assert done.state == "executed" and done.decided_by == "rob" and done.result == {"outcome": "flag is 7"}
    assert app_settings.get("test.flag") == 7
    with pytest.raises(Conflict, match="executed, not pending"):
        approvals.approve(row.id, ADA)
    denied = [r for r in audit.query(action="approval.approve") if r.outcome == "denied"]
    assert len(denied) == 2  # own approval and the trader's are on record


def test_the_guarded_function_refuses_direct_execution(server, flag_action):
    with pytest.raises(PermissionDenied, match="runs only through an approved request"):
        _execute({"value": 5}, "rita", "rita")
    assert app_settings.get("test.flag") is None


def test_bad_params_reason_permission_and_duplicates(server, flag_action):
    with pytest.raises(ValidationError) as err:
        approvals.request("test.flag", {"value": 101}, RITA, "too big a flag")
    assert err.value.field == "value"
    with pytest.raises(ValidationError) as err:
        approvals.request("test.flag", {"value": 1}, RITA, "no")
    assert err.value.field == "reason"
    with pytest.raises(PermissionDenied):
        approvals.request("test.flag", {"value": 1}, TOM, "traders cannot ask")
    approvals.request("test.flag", {"value": 1}, RITA, "the first request")
    with pytest.raises(Conflict, match="already pending"):
        approvals.request("test.flag", {"value": 1}, ROB, "the same thing again")
    assert db.session.query(ApprovalRequest).count() == 1


def test_expired_request_is_refused(server, flag_action):
    row = approvals.request("test.flag", {"value": 3}, RITA, "will expire soon")
    row.expires_at = row.requested_at - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(Conflict, match="expired"):
        approvals.approve(row.id, ROB)
    assert db.session.get(ApprovalRequest, row.id).state == "expired" and app_settings.get("test.flag") is None
    assert approvals.pending(ROB) == []


def test_failure_is_stored_reject_and_cancel(server, flag_action):
    row = approvals.request("test.flag", {"value": 99}, RITA, "this one fails")
    with pytest.raises(Conflict, match="cannot be 99"):
        approvals.approve(row.id, ROB)
    failed = db.session.get(ApprovalRequest, row.id)
    assert failed.state == "failed" and failed.result == {"error": "the flag cannot be 99"}
    second = approvals.request("test.flag", {"value": 4}, RITA, "reject me please")
    with pytest.raises(PermissionDenied):
        approvals.reject(second.id, RITA, "own reject")
    assert approvals.reject(second.id, ROB, "not today").state == "rejected"
    third = approvals.request("test.flag", {"value": 5}, RITA, "cancel me later")
    with pytest.raises(PermissionDenied):
        approvals.cancel(third.id, ROB)
    assert approvals.cancel(third.id, RITA).state == "cancelled"
    assert [r.state for r in approvals.history()] == ["cancelled", "rejected", "failed"]
