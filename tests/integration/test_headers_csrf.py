"""CSRF on /api/v1 and the security headers (issue 8, item 5), through Flask's test client on SQLite
and PostgreSQL. A session-cookie request that changes state needs the CSRF token; a bearer token
does not. Every response carries the CSP (with Dash's script hashes), framing and sniffing
headers; dynamic ones are `no-store`, static files keep their caching; HSTS only outside dev."""
from __future__ import annotations

import dash
import pytest

from dashapp.extensions import db
from dashapp.services import audit, tokens, users
from models import EngineControl
from tests.conftest import make_settings, upgrade_database
from tests.support.web import PASSWORD, call_callback, csrf_header

STOP = "/api/v1/engines/paper-1/stop"


def _desired(dash_app):
    with dash_app.server.app_context():
        row = db.session.get(EngineControl, "paper-1")
        return row.desired_status if row else None


def _audit_count(dash_app):
    with dash_app.server.app_context():
        return len(audit.query(limit=5000))


def test_a_cookie_session_must_send_the_csrf_token_to_change_state(dash_app, client_as):
    trader = client_as("trader", "tess")
    before = _audit_count(dash_app)
    response = trader.post(STOP, json={"reason": "maintenance", "idempotency_key": "k1"})
    assert response.status_code == 400 and "CSRF" in response.json["message"]
    for method in ("put", "patch", "delete"):  # no such route: 405, not the page route's 404
        assert getattr(trader, method)(STOP, json={}).status_code == 405, method
    wrong = trader.post(STOP, json={"reason": "maintenance", "idempotency_key": "k1"},
                        headers={"X-CSRFToken": "forged-token"})
    assert wrong.status_code == 400 and "CSRF" in wrong.json["message"]
    assert _desired(dash_app) is None and _audit_count(dash_app) == before  # nothing happened

    ok = trader.post(STOP, json={"reason": "maintenance", "idempotency_key": "k1"}, headers=csrf_header(trader))
    assert ok.status_code == 200, ok.json
    assert _desired(dash_app) == "stopped"
    # Reads need no token.
    assert trader.get("/api/v1/engines/paper-1").status_code == 200


def test_another_sessions_token_is_refused(dash_app, client_as):
    alice, bob = client_as("trader", "alice"), client_as("trader", "bob")
    response = alice.post(STOP, json={"reason": "maintenance", "idempotency_key": "k2"}, headers=csrf_header(bob))
    assert response.status_code == 400 and "CSRF" in response.json["message"]
    assert _desired(dash_app) is None


def test_a_bearer_token_needs_no_csrf_token(dash_app):
    with dash_app.server.app_context():
        trader = users.create_user("test", "engine-op", PASSWORD, "trader")
        _, secret = tokens.create_token("test", trader.id, "ops", ["paper-1"])
    client = dash_app.server.test_client()
    response = client.post(STOP, json={"reason": "maintenance", "idempotency_key": "k3"},
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and _desired(dash_app) == "stopped"
    # A bad bearer token is a 401 even beside a logged-in session: the header decides.
    refused = client.post(STOP, json={"reason": "x", "idempotency_key": "k4"},
                          headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401


def test_dash_callbacks_need_the_csrf_token_too(client_as):
    admin = client_as("admin")
    body = {"output": "audit-verify-result.children",
            "outputs": {"id": "audit-verify-result", "property": "children"},
            "inputs": [{"id": "audit-verify", "property": "n_clicks", "value": 1}], "changedPropIds": []}
    assert admin.post("/_dash-update-component", json=body).status_code == 400
    assert call_callback(admin, "audit-verify-result.children",
                         [{"id": "audit-verify", "property": "n_clicks", "value": 1}]).status_code == 200


# --- headers --------------------------------------------------------------------------------------

def _csp(response) -> dict[str, list[str]]:
    policy = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


def test_security_headers_on_pages_callbacks_api_and_login(dash_app, client_as):
    admin = client_as("admin")
    anonymous = dash_app.server.test_client()
    responses = {
        "login": anonymous.get("/login"),
        "page": admin.get("/trading"),
        "layout": admin.get("/_dash-layout"),
        "callback": call_callback(admin, "audit-verify-result.children",
                                  [{"id": "audit-verify", "property": "n_clicks", "value": 1}]),
        "api": admin.get("/api/v1/me"),
        "readyz": anonymous.get("/readyz"),
        "not found": anonymous.get("/api/v1/nope"),
    }
    hashes = set(dash_app.csp_hashes())
    assert hashes and all(h.startswith("'sha256-") for h in hashes)
    for name, response in responses.items():
        assert response.status_code < 500, name
        policy = _csp(response)
        assert policy["script-src"][0] == "'self'" and set(policy["script-src"][1:]) == hashes, name
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'self'"] and policy["connect-src"] == ["'self'"], name
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"], name
        assert policy["img-src"] == ["'self'", "data:", "blob:"], name
        assert response.headers["X-Frame-Options"] == "DENY", name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "same-origin", name
        assert response.headers["Cache-Control"] == "no-store", name
        assert "Strict-Transport-Security" not in response.headers, name  # dev
    # The index page's inline scripts are exactly the hashed ones: each hashes to an allowed value.
    page = responses["page"].get_data(as_text=True)
    assert '<script id="_dash-renderer"' in page


def test_static_files_keep_their_caching(dash_app, client_as):
    admin = client_as("admin")
    css = admin.get("/assets/00-bootstrap.min.css")
    assert css.status_code == 200 and css.headers.get("Cache-Control") != "no-store"
    page = admin.get("/").get_data(as_text=True)
    bundle = page.split('src="')[1].split('"')[0]  # the first script: a fingerprinted Dash bundle
    assert bundle.startswith("/_dash-component-suites/")
    response = admin.get(bundle)
    assert response.status_code == 200 and "max-age" in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_hsts_and_secure_cookies_outside_dev(tmp_path, database_url):
    from dashapp import create_app

    app = create_app(make_settings(tmp_path, database_url, env="staging"))
    try:
        upgrade_database(app.server)
        client = app.server.test_client()
        secure = client.get("/login", base_url="https://desk.example")
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
        proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" in proxied.headers
        # Plain HTTP is not redirected by the app (the proxy in front terminates TLS).
        assert client.get("/login").status_code == 200
        assert app.server.config["SESSION_COOKIE_SECURE"] is True
        cookie = secure.headers.get("Set-Cookie", "")
        assert "_csrf_token=" in cookie and "Secure" in cookie
    finally:
        with app.server.app_context():
            db.session.remove()
            db.engine.dispose()
        dash.page_registry.clear()
