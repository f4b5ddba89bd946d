"""API tokens, /api/v1 authentication, and the ops endpoints."""
from __future__ import annotations

import pytest

from dashapp.extensions import db
from dashapp.services import tokens, users
from dashapp.services.errors import ValidationError
from models import ApiToken
from tests.support.web import PASSWORD, login


def test_token_is_stored_hashed_and_acts_as_its_user(server):
    user = users.create_user("root", "engine1", PASSWORD, "trader")
    token, secret = tokens.create_token("root", user.id, "paper engine")
    stored = db.session.get(ApiToken, token.id)
    assert secret not in (stored.token_hash, stored.prefix) and stored.prefix == secret[:10]
    client = server.test_client()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and response.json["username"] == "engine1"
    assert "ingest:write" in response.json["permissions"]
    tokens.revoke_token("root", token.id)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_api_refuses_anonymous_and_garbage_tokens(server):
    client = server.test_client()
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer tdc_not-a-token"})
    assert response.status_code == 401 and "invalid" in response.json["message"]


def test_token_for_disabled_user_stops_working(server):
    users.ensure_first_admin("Adm1n-Passw0rd!x")
    user = users.create_user("root", "engine2", PASSWORD, "trader")
    _, secret = tokens.create_token("root", user.id, "x")
    users.set_active("root", user.id, False)
    assert server.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with pytest.raises(ValidationError, match="disabled"):
        tokens.create_token("root", user.id, "y")


def test_token_name_is_required(server):
    user = users.create_user("root", "engine3", PASSWORD, "trader")
    with pytest.raises(ValidationError) as err:
        tokens.create_token("root", user.id, "  ")
    assert err.value.field == "name"


def test_healthz_and_readyz(server):
    client = server.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["database"] == "ok" and ready.json["broker"] == "ok"
    assert ready.headers["X-Request-ID"]


def test_readyz_names_the_broken_part(server, monkeypatch):
    settings = server.config["COCKPIT_SETTINGS"]
    from dataclasses import replace

    server.config["COCKPIT_SETTINGS"] = replace(settings, redis_url="redis://127.0.0.1:1/0")
    try:
        ready = server.test_client().get("/readyz")
    finally:
        server.config["COCKPIT_SETTINGS"] = settings
    assert ready.status_code == 503 and ready.json["database"] == "ok" and ready.json["broker"] == "unavailable"
    assert ready.json["failed"] == ["broker"]
    assert "127.0.0.1:1" not in ready.get_data(as_text=True)  # the driver's text stays in the log


def test_metrics_needs_permission_and_reports_requests_and_jobs(server):
    client = server.test_client()
    assert client.get("/metrics").status_code == 401
    users.create_user("root", "viewer1", PASSWORD, "viewer")
    login(client, "viewer1")
    assert client.get("/metrics").status_code == 403
    admin = users.create_user("root", "ops", PASSWORD, "admin")
    _, secret = tokens.create_token("root", admin.id, "prometheus")
    body = server.test_client().get("/metrics", headers={"Authorization": f"Bearer {secret}"}).get_data(as_text=True)
    assert "cockpit_http_requests_total" in body and "cockpit_http_request_seconds_bucket" in body
    assert "cockpit_jobs" in body


def test_request_id_is_echoed(server):
    response = server.test_client().get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"


def test_openapi_document_lists_every_endpoint_with_its_permission(server):
    from openapi_spec_validator import validate

    admin = users.create_user("root", "apidoc", PASSWORD, "viewer")
    _, secret = tokens.create_token("root", admin.id, "docs")
    client = server.test_client()
    assert client.get("/api/v1/openapi.json").status_code == 401
    doc = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {secret}"}).json
    validate(doc)
    api_rules = {r.rule for r in server.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert len(doc["paths"]) >= len(api_rules) - 1 + 12  # each ingest kind has its own path
    assert doc["paths"]["/api/v1/ingest/orders"]["post"]["x-permission"] == "ingest:write"
    order_schema = doc["components"]["schemas"]["OrderIn"]
    assert {"client_order_id", "side", "quantity", "created_at"} <= set(order_schema["required"])
    assert all(op.get("x-permission") for ops in doc["paths"].values() for op in ops.values())
