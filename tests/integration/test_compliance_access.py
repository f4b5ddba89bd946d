"""Who may do what on the Compliance page and its downloads, tried as the wrong roles with crafted Dash
callback POSTs and REST calls (SQLite and PostgreSQL): viewers and traders see nothing, risk may view
and hold but not run retention or touch personal data."""
from __future__ import annotations

import pytest

from dashapp.services import audit, jobs
from dashapp.services.errors import PermissionDenied
from dashapp.services.governance import compliance_runs
from layouts.ids_compliance import Compliance as C
from models import Job, utcnow
from tests.support.web import call_callback


def _key(dash_app, first_output: str) -> str:
    """The registered output key of the callback whose outputs start with `first_output`
    (duplicate outputs carry a hash suffix)."""
    return next(k for k in dash_app.callback_map if k.lstrip(".").startswith(first_output))


def _post(client, dash_app, first_output: str, inputs: list[dict], state: list[dict] | None = None):
    key = _key(dash_app, first_output)
    return client.post("/_dash-update-component", json={
        "output": key, "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
                                   for o in key.strip(".").split("...")],
        "inputs": inputs, "state": state or [], "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]},
        headers={"X-CSRFToken": client.get_cookie("_csrf_token").value})


def test_roles_are_refused_what_their_permissions_do_not_give(dash_app, client_as):
    viewer, trader, risk = client_as("viewer"), client_as("trader"), client_as("risk")
    refresh = [{"id": C.INTERVAL, "property": "n_intervals", "value": 1}, {"id": C.CHANGED, "property": "data",
                                                                          "value": None}]
    state = [{"id": C.REPORTS_GRID, "property": "rowData", "value": []},
             {"id": C.RUNS_GRID, "property": "rowData", "value": []}]
    for client in (viewer, trader):
        assert _post(client, dash_app, f"{C.REPORTS_GRID}.rowData", refresh, state).status_code == 403
    assert _post(risk, dash_app, f"{C.REPORTS_GRID}.rowData", refresh, state).status_code == 200

    run = [{"id": C.SAVE_POLICY, "property": "n_clicks", "value": None},
           {"id": C.RUN_RETENTION_CONFIRM, "property": "submit_n_clicks", "value": 1}]
    form = [{"id": i, "property": p, "value": v} for i, p, v in (
        (C.POLICY_KIND, "value", "quotes"), (C.POLICY_DAYS, "value", 1), (C.POLICY_ENABLED, "value", ["on"]),
        (C.TOKEN, "data", "t"))]
    assert _post(risk, dash_app, f"{C.RETENTION_MESSAGE}.children", run, form).status_code == 403
    erase = [{"id": C.PRIVACY_EXPORT, "property": "n_clicks", "value": None},
             {"id": C.PRIVACY_ERASE_CONFIRM, "property": "submit_n_clicks", "value": 1}]
    who = [{"id": C.PRIVACY_USER, "property": "value", "value": "1"},
           {"id": C.PRIVACY_REASON, "property": "value", "value": "x"}]
    assert _post(risk, dash_app, f"{C.PRIVACY_MESSAGE}.children", erase, who).status_code == 403
    hold = [{"id": C.HOLD_PREVIEW, "property": "n_clicks", "value": 1}] + [
        {"id": i, "property": "n_clicks", "value": None} for i in (C.HOLD_CREATE, C.HOLD_RELEASE)]
    fields = [{"id": i, "property": p, "value": v} for i, p, v in (
        (C.HOLD_CASE, "value", "c"), (C.HOLD_REASON, "value", "r"), (C.HOLD_KIND, "value", "quotes"),
        (C.HOLD_RECORD, "value", 1), (C.HOLD_ACCOUNT, "value", None), (C.HOLD_INSTRUMENT, "value", None),
        (C.HOLD_FROM, "value", None), (C.HOLD_TO, "value", None), (C.HOLDS_GRID, "selectedRows", []))]
    assert _post(trader, dash_app, f"{C.HOLD_MESSAGE}.children", hold, fields).status_code == 403
    answer = _post(risk, dash_app, f"{C.HOLD_MESSAGE}.children", hold, fields)
    assert answer.status_code == 200 and "would cover 0 quotes" in answer.get_data(as_text=True)

    with dash_app.server.app_context():
        with pytest.raises(PermissionDenied):
            jobs.launch("risk-user", "risk", "retention", {}, port=None)
        with pytest.raises(PermissionDenied):
            jobs.launch("trader-user", "trader", "compliance_report", {"report": "rule606", "quarter": "2026Q2"},
                        port=None)


def test_report_files_download_to_compliance_view_only(dash_app, client_as):
    from dashapp.extensions import db

    job_id = "c0ffee00-0000-4000-8000-000000000001"
    with dash_app.server.app_context():
        job = Job(id="c0ffee00-0000-4000-8000-000000000001", job_type="compliance_report",
                  params={"report": "rule606", "quarter": "2026Q2"}, state="succeeded", created_by="risk-user",
                  created_at=utcnow(), queue="reports")
        db.session.add(job)
        db.session.commit()
        job.result = compliance_runs.produce(job.id, "rule606", quarter="2026Q2")
        db.session.commit()
    path = f"/api/v1/compliance/runs/{job_id}/files/rule606-2026Q2.xml"
    assert client_as("trader").get(path).status_code == 403
    assert client_as("viewer").get(path).status_code == 403
    risk = client_as("risk")
    response = risk.get(path)
    assert response.status_code == 200 and response.data.startswith(b"<?xml")
    assert risk.get(f"/api/v1/compliance/runs/{job_id}/files/..%2Fx").status_code == 404
    assert risk.get("/api/v1/compliance/runs/nope/files/x.xml").status_code == 404
    with dash_app.server.app_context():
        assert audit.query(action="compliance.download")[0].actor == "risk-user"
