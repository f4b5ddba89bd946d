"""An export end to end through a REAL `celery worker` process (embedded filesystem broker), on
SQLite and PostgreSQL: launched over REST with a bearer token, written by the worker under
<instance>/exports, downloaded, and its bytes match the SHA-256 in the job's result and in the
audit trail."""
from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import tokens, users
from models import AuditRecord
from tests.support.web import PASSWORD
from tests.support.worker import celery_worker, wait_for_job
from tests.unit.exports.conftest import N_ORDERS, seed_desk

pytestmark = [pytest.mark.worker, pytest.mark.timeout(180)]


def test_worker_writes_the_export_and_the_api_hands_it_out(server, settings):
    seed_desk()
    user = users.create_user("test", "wendy", PASSWORD, "trader")
    secret = tokens.create_token("test", user.id, "exports")[1]
    headers = {"Authorization": f"Bearer {secret}"}
    client = server.test_client()
    with celery_worker(settings) as worker:
        response = client.post("/api/v1/exports", headers=headers, json={
            "dataset": "orders", "format": "xlsx", "filters": {"strategy": "MOM"}})
        assert response.status_code == 202, response.json
        job = wait_for_job(response.json["id"], "succeeded", timeout=90, worker=worker, what="(export)")
    assert job.result["rows"] == N_ORDERS // 2 and f"{N_ORDERS // 2} rows" in job.log
    path = settings.instance_dir / "exports" / f"{job.id}.xlsx"
    assert path.is_file() and job.result["file"] == path.name
    download = client.get(f"/api/v1/exports/{job.id}/download", headers=headers)
    assert download.status_code == 200
    digest = hashlib.sha256(download.data).hexdigest()
    assert digest == job.result["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    db.session.rollback()
    created = db.session.execute(sa.select(AuditRecord).where(AuditRecord.action == "export.create")).scalar_one()
    assert created.actor == "wendy" and json.loads(created.details)["sha256"] == digest
