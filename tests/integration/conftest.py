"""Integration fixtures: an engine's API token and a `send(kind, items)` that posts to /api/v1/ingest."""
from __future__ import annotations

import pytest

from dashapp.services import tokens, users
from tests.support.trading import REFERENCE
from tests.support.web import PASSWORD


@pytest.fixture
def api(server):
    engine_user = users.create_user("test", "paper-engine", PASSWORD, "trader")
    _, secret = tokens.create_token("test", engine_user.id, "paper", ["paper-1"])
    client = server.test_client()

    def send(kind, items, engine_id="paper-1", token=secret):
        return client.post(f"/api/v1/ingest/{kind}", json={"engine_id": engine_id, "items": items},
                           headers={"Authorization": f"Bearer {token}"})

    for kind, items in REFERENCE.items():
        response = send(kind, items)
        assert response.status_code == 200, response.json
    return send
