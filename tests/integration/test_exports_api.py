"""The exports REST endpoints and the Exports page through Flask's test client: the download's auth
matrix (anonymous 401, viewer 403, session or bearer token with EXPORTS_DOWNLOAD 200), unknown and
unfinished jobs (404/409 with a message), the streamed file with its MIME type, file name and
SHA-256, the download's audit record; launching over REST (422 naming the field, CSRF for cookie
sessions); and the page's layout and callbacks per role."""
from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import jobs, tokens, users
from layouts.ids import Exports as ids
from models import AuditRecord
from tests.support.web import PASSWORD, call_callback, csrf_header
from tests.unit.exports.conftest import N_ORDERS, seed_desk
from tests.unit.test_jobs_service import FakePort

LAUNCH = f"..{ids.MESSAGE}.children...{ids.CHANGED}.data.."
REFRESH = f"..{ids.LIST}.children...{ids.LIST_KEY}.data.."


@pytest.fixture
def desk(dash_app):
    with dash_app.server.app_context():
        seed_desk()
    return dash_app


@pytest.fixture
def ctx(dash_app):
    """Run service calls in the app (the test client's requests open their own contexts)."""
    def _ctx():
        return dash_app.server.app_context()
    return _ctx


def _export(ctx, fmt="csv", run=True, params=None, actor="trader-user"):
    with ctx():
        job = jobs.launch(actor, "trader", "export", params or {"dataset": "orders", "format": fmt}, port=FakePort())
        if run:
            state = jobs.run(jobs.mark_running(job.id, "test"))
            assert state == "succeeded", jobs.get_job(job.id).error
        return job.id


def _token(ctx, role: str) -> str:
    with ctx():
        user = users.find_by_username(f"{role}-tok") or users.create_user("test", f"{role}-tok", PASSWORD, role)
        return tokens.create_token("test", user.id, "exports")[1]


def _records(ctx, action) -> list[dict]:
    with ctx():
        rows = db.session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)
                                  .order_by(AuditRecord.id)).scalars()
        return [{"actor": r.actor, "target": r.target, **json.loads(r.details)} for r in rows]


# --- download ------------------------------------------------------------------------------


def test_download_auth_matrix_and_the_streamed_file(desk, ctx, client_as, settings):
    job_id = _export(ctx, "xlsx")
    url = f"/api/v1/exports/{job_id}/download"
    anonymous = desk.server.test_client()
    response = anonymous.get(url)
    assert response.status_code == 401 and "log in" in response.json["message"]
    assert client_as("viewer").get(url).status_code == 403
    viewer_token = _token(ctx, "viewer")
    response = anonymous.get(url, headers={"Authorization": f"Bearer {viewer_token}"})
    assert response.status_code == 403 and "exports:download" in response.json["message"]
    assert anonymous.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401

    path = settings.instance_dir / "exports" / f"{job_id}.xlsx"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    response = client_as("trader", "tess").get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename=orders-" in disposition and ".xlsx" in disposition
    assert hashlib.sha256(response.data).hexdigest() == expected == response.headers["X-Content-SHA256"]
    assert int(response.headers["Content-Length"]) == path.stat().st_size
    risk_token = _token(ctx, "risk")
    response = anonymous.get(url, headers={"Authorization": f"Bearer {risk_token}"})
    assert response.status_code == 200 and hashlib.sha256(response.data).hexdigest() == expected
    records = _records(ctx, "export.download")
    assert [(r["actor"], r["via"], r["sha256"], r["target"]) for r in records] == [
        ("tess", "session", expected, f"job:{job_id}"), ("risk-tok", "token", expected, f"job:{job_id}")]


def test_unknown_unfinished_failed_and_vanished_exports(desk, ctx, client_as, settings):
    trader = client_as("trader")
    response = trader.get("/api/v1/exports/no-such-job/download")
    assert response.status_code == 404 and response.json["message"] == "no export job with id no-such-job"
    with ctx():
        health = jobs.launch("trader-user", "trader", "health_check", {}, port=FakePort()).id
    assert trader.get(f"/api/v1/exports/{health}/download").status_code == 404  # not an export

    queued = _export(ctx, run=False)
    response = trader.get(f"/api/v1/exports/{queued}/download")
    assert response.status_code == 409 and "still queued" in response.json["message"]
    with ctx():
        jobs.mark_running(queued, "test")
        jobs.report_progress(queued, 42.0)
    response = trader.get(f"/api/v1/exports/{queued}/download")
    assert response.status_code == 409 and "still running (42%)" in response.json["message"]
    with ctx():
        jobs.fail(queued, "the database went away")
    response = trader.get(f"/api/v1/exports/{queued}/download")
    assert response.status_code == 409 and "failed: the database went away" in response.json["message"]

    done = _export(ctx, "json")
    (settings.instance_dir / "exports" / f"{done}.json").unlink()
    response = trader.get(f"/api/v1/exports/{done}/download")
    assert response.status_code == 404 and "no longer on the server" in response.json["message"]
    assert _records(ctx, "export.download") == []  # nothing was handed out


def test_a_file_changed_after_writing_is_not_served(desk, ctx, client_as, settings):
    job_id = _export(ctx, "csv")
    with open(settings.instance_dir / "exports" / f"{job_id}.csv", "a") as handle:
        handle.write("9999,forged\n")
    response = client_as("trader").get(f"/api/v1/exports/{job_id}/download")
    assert response.status_code == 409 and "changed after it was written" in response.json["message"]


# --- launch and status over REST -----------------------------------------------------------


def test_launch_over_rest_validates_names_the_field_and_queues(desk, ctx, settings):
    client = desk.server.test_client()
    trader = {"Authorization": f"Bearer {_token(ctx, 'trader')}"}
    response = client.post("/api/v1/exports", json={"dataset": "orders", "format": "xls"}, headers=trader)
    assert response.status_code == 422 and response.json["field"] == "params.format"
    response = client.post("/api/v1/exports", json={"dataset": "fills", "format": "csv",
                                                    "filters": {"status": "filled"}}, headers=trader)
    assert response.status_code == 422 and response.json["field"] == "params.filters"
    assert "status does not apply to fills" in response.json["message"]
    response = client.post("/api/v1/exports", json={"dataset": "orders", "format": "csv",
                                                    "filters": {"venue": "NOWHERE"}}, headers=trader)
    assert response.status_code == 422 and response.json["field"] == "params.filters.venue"
    assert client.post("/api/v1/exports", data="x", headers=trader).status_code == 422
    assert client.post("/api/v1/exports", json={"dataset": "orders", "format": "csv"}).status_code == 401
    viewer = {"Authorization": f"Bearer {_token(ctx, 'viewer')}"}
    refused = client.post("/api/v1/exports", json={"dataset": "orders", "format": "csv"}, headers=viewer)
    assert refused.status_code == 403

    body = {"dataset": "orders", "format": "parquet", "filters": {"strategy": "MOM"}}
    response = client.post("/api/v1/exports", json=body, headers={**trader, "Idempotency-Key": "nightly-1"})
    assert response.status_code == 202 and response.json["state"] == "queued"
    job_id = response.json["id"]
    again = client.post("/api/v1/exports", json=body, headers={**trader, "Idempotency-Key": "nightly-1"})
    assert again.json["id"] == job_id
    queued = [n for n in (settings.instance_dir / "broker" / "queue").iterdir() if n.name.endswith(".jobs.msg")]
    assert len(queued) == 1
    status = client.get(f"/api/v1/exports/{job_id}", headers=trader)
    assert status.status_code == 200 and status.json["params"]["filters"]["strategy"] == "MOM"
    assert "download_url" not in status.json
    assert client.get(f"/api/v1/exports/{job_id}").status_code == 401  # anonymous
    with ctx():
        jobs.run(jobs.mark_running(job_id, "test"))
    status = client.get(f"/api/v1/exports/{job_id}", headers=trader).json
    assert status["state"] == "succeeded" and status["download_url"] == f"/api/v1/exports/{job_id}/download"
    assert status["result"]["rows"] == N_ORDERS // 2


def test_a_cookie_session_must_send_the_csrf_token_to_launch(desk, client_as):
    trader = client_as("trader")
    body = {"dataset": "positions", "format": "csv"}
    response = trader.post("/api/v1/exports", json=body)
    assert response.status_code == 400 and "CSRF" in response.json["message"]
    assert trader.post("/api/v1/exports", json=body, headers=csrf_header(trader)).status_code == 202


# --- the page ------------------------------------------------------------------------------


def _page(client):
    response = call_callback(client, ".._pages_content.children..._pages_store.data..",
                             [{"id": "_pages_location", "property": "pathname", "value": "/exports"},
                              {"id": "_pages_location", "property": "search", "value": ""}])
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _launch(client, dataset="orders", fmt="csv", period="24h", since=None, until=None, clicks=1, **filters):
    values = [dataset, fmt, period, since, until] + [filters.get(k) for k in ("strategy", "instrument", "venue",
                                                                             "status")]
    names = [ids.DATASET, ids.FORMAT, ids.PERIOD, ids.SINCE, ids.UNTIL, ids.STRATEGY, ids.INSTRUMENT, ids.VENUE,
             ids.STATUS]
    state = [{"id": i, "property": "value", "value": v} for i, v in zip(names, values)]
    state.append({"id": ids.LAUNCH_TOKEN, "property": "data", "value": "tok"})
    return call_callback(client, LAUNCH, [{"id": ids.LAUNCH, "property": "n_clicks", "value": clicks}], state)


def _refresh(client):
    return call_callback(client, REFRESH, [{"id": ids.INTERVAL, "property": "n_intervals", "value": 1},
                                           {"id": ids.CHANGED, "property": "data", "value": None}],
                         [{"id": ids.LIST_KEY, "property": "data", "value": None}])


def _response(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.loads(response.get_data(as_text=True))["response"]


def test_page_opens_for_export_roles_only(desk, client_as):
    assert "page-forbidden" in _page(client_as("viewer")) and ids.LAUNCH not in _page(client_as("viewer"))
    for role in ("trader", "risk", "admin"):
        page = _page(client_as(role))
        assert ids.LAUNCH in page and ids.LIST in page and "page-forbidden" not in page
    viewer = client_as("viewer")
    assert _launch(viewer).status_code == 403 and _refresh(viewer).status_code == 403


def test_page_launches_lists_and_links_the_download(desk, ctx, client_as):
    trader = client_as("trader", "tom")
    text = json.dumps(_response(_launch(trader, period="custom"))[ids.MESSAGE]["children"])
    assert "Not exported" in text and "custom period needs a start" in text
    text = json.dumps(_response(_launch(trader, strategy="NOPE"))[ids.MESSAGE]["children"])
    assert "Alert" in text and "there is no strategy 'NOPE'" in text
    text = json.dumps(_response(_launch(trader, period="custom", since="last week"))[ids.MESSAGE]["children"])
    assert "'since'" in text and "datetime" in text

    body = _response(_launch(trader, dataset="orders", fmt="json", period="all", status="filled"))
    job_id = body[ids.CHANGED]["data"]
    assert "Export queued" in json.dumps(body[ids.MESSAGE]["children"])
    listing = json.dumps(_response(_refresh(trader))[ids.LIST]["children"])
    assert job_id in listing and "queued" in listing and "Orders as JSON, status=filled" in listing
    assert "/download" not in listing
    with ctx():
        jobs.run(jobs.mark_running(job_id, "test"))
    listing = json.dumps(_response(_refresh(trader))[ids.LIST]["children"])
    assert f"/api/v1/exports/{job_id}/download" in listing and "succeeded" in listing
    assert f"{N_ORDERS // 4}" in listing and "tom" in listing
    downloaded = trader.get(f"/api/v1/exports/{job_id}/download")
    assert downloaded.status_code == 200 and json.loads(downloaded.data)["tables"][0]["row_count"] == N_ORDERS // 4


def test_dataset_choice_disables_what_does_not_apply(desk, client_as):
    outputs = ".." + "...".join(f"{i}.{p}" for i, p in [
        (ids.HINT, "children"), (ids.PERIOD, "disabled"), (ids.SINCE, "disabled"), (ids.UNTIL, "disabled"),
        (ids.STRATEGY, "disabled"), (ids.INSTRUMENT, "disabled"), (ids.VENUE, "disabled"),
        (ids.STATUS, "disabled")]) + ".."
    response = call_callback(client_as("trader"), outputs, [{"id": ids.DATASET, "property": "value", "value": "risk"},
                                                             {"id": ids.PERIOD, "property": "value", "value": "24h"}])
    body = _response(response)
    assert "snapshot" in body[ids.HINT]["children"] and body[ids.PERIOD]["disabled"] is True
    assert body[ids.STRATEGY]["disabled"] is True and body[ids.STATUS]["disabled"] is True
