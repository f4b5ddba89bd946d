"""Every route and every Dash callback asks the permission matrix, on the server."""
from __future__ import annotations

import json

import pytest

from dashapp.security.guards import AUTHENTICATED_ONLY, callback_permission, is_public
from dashapp.security.permissions import MATRIX, Perm, has_permission
from dashapp.services import audit
from models import User
from tests.support.web import call_callback, login

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def _registered_callbacks(dash_app, client):
    client.get("/healthz")  # Dash copies global callbacks and adds the Pages router on first request
    return dict(dash_app.callback_map)


def test_every_dash_callback_declares_a_known_permission(dash_app, client_as):
    client = client_as("admin")
    callbacks = _registered_callbacks(dash_app, client)
    assert len(callbacks) >= 3, "expected the app's callbacks to be registered"
    unguarded = []
    server_side = {key: entry for key, entry in callbacks.items() if entry.get("callback") is not None}
    assert len(server_side) < len(callbacks), "expected clientside callbacks (theme) as well"
    for output_key in server_side:
        perm = callback_permission(dash_app, output_key)
        if perm is None or (perm != AUTHENTICATED_ONLY and perm not in set(Perm)):
            unguarded.append(output_key)
    assert unguarded == [], f"callbacks without a permission: {unguarded}"


def test_every_flask_route_is_public_by_design_or_refuses_anonymous(dash_app):
    client = dash_app.server.test_client()
    client.get("/healthz")
    checked = 0
    for rule in dash_app.server.url_map.iter_rules():
        path = rule.rule.replace("<path:path>", "trading").replace("<filename>", "x.css")
        path = path.replace("<package_name>", "dash").replace("<fingerprinted_path>", "x.js")
        path = path.replace("<string:package_name>", "dash").replace("<path:fingerprinted_path>", "x.js")
        if is_public(path):
            continue
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        response = client.open(path, method=method, json={} if method == "POST" else None)
        checked += 1
        assert response.status_code in (302, 400, 401, 403), f"{method} {path} answered {response.status_code} to anonymous"
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], path
    assert checked >= 6


def test_api_endpoints_each_declare_a_permission(dash_app):
    api_views = {name: view for name, view in dash_app.server.view_functions.items() if name.startswith("api_")}
    assert api_views, "no API endpoints found"
    missing = [name for name, view in api_views.items() if getattr(view, "required_permission", None) is None]
    assert missing == []


def test_viewer_crafted_post_to_trader_only_callback_is_refused_without_side_effect(dash_app, client_as):
    """Find a callback that needs a permission the viewer lacks, call it as a viewer."""
    viewer = client_as("viewer")
    callbacks = _registered_callbacks(dash_app, viewer)
    restricted = [key for key in callbacks
                  if (p := callback_permission(dash_app, key)) not in (None, AUTHENTICATED_ONLY)
                  and not has_permission("viewer", p)]
    assert restricted, "expected at least one callback a viewer may not call"
    with dash_app.server.app_context():
        before = len(audit.query(limit=5000))
    for key in restricted:
        first = key.strip(".").split("...")[0]
        component, prop = first.rsplit(".", 1)
        response = call_callback(viewer, key, [{"id": component, "property": prop, "value": 1}])
        assert response.status_code == 403, f"{key} answered {response.status_code}"
    with dash_app.server.app_context():
        assert len(audit.query(limit=5000)) == before, "a refused callback must not write anything"


def test_unknown_and_clientside_callbacks_are_refused_on_the_server(client_as):
    client = client_as("admin")
    response = call_callback(client, "no-such-component.children", [{"id": "x", "property": "n_clicks", "value": 1}])
    assert response.status_code == 403
    # A clientside callback has no server function; naming it in a POST must not reach Dash.
    response = call_callback(client, "shell-theme-sink.children",
                             [{"id": "shell-theme-switch", "property": "value", "value": True}])
    assert response.status_code == 403


def test_theme_callback_works_for_viewer_and_is_stored(dash_app, client_as):
    client = client_as("viewer", "vera")
    response = call_callback(client, "shell-theme-status.children",
                             [{"id": "shell-theme-switch", "property": "value", "value": False}])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert json.loads(response.get_data(as_text=True))["response"]["shell-theme-status"]["children"] == "light"
    with dash_app.server.app_context():
        from dashapp.services import users

        assert users.find_by_username("vera").theme == "light"  # new users start dark


def test_callback_post_without_csrf_token_is_refused(client_as):
    client = client_as("admin")
    response = client.post("/_dash-update-component", json={"output": "shell-theme-status.children"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_pages_render_refusal_for_roles_without_permission(dash_app, client_as, role):
    from dashapp.pages import PAGES

    client = client_as(role)
    for page in PAGES:
        body = call_callback(
            client, ".._pages_content.children..._pages_store.data..",
            [{"id": "_pages_location", "property": "pathname", "value": page.path},
             {"id": "_pages_location", "property": "search", "value": ""}],
        )
        assert body.status_code == 200, page.path
        text = body.get_data(as_text=True)
        if has_permission(role, page.perm):
            assert "page-forbidden" not in text, f"{role} should open {page.path}"
        else:
            assert "page-forbidden" in text, f"{role} must be refused {page.path}"


def test_login_page_does_not_redirect_off_site(dash_app):
    client = dash_app.server.test_client()
    with dash_app.server.app_context():
        from dashapp.services import users

        users.create_user("test", "olga", "Correct-Horse-9-Battery", "viewer")
    from tests.support.web import csrf_from_login_page

    token = csrf_from_login_page(client)
    response = client.post("/login", data={"username": "olga", "password": "Correct-Horse-9-Battery",
                                           "csrf_token": token, "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_session_cookie_flags(dash_app):
    with dash_app.server.app_context():
        from dashapp.services import users

        users.create_user("test", "cookie", "Correct-Horse-9-Battery", "viewer")
    client = dash_app.server.test_client()
    response = login(client, "cookie")
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_disabled_user_session_stops_working(dash_app, client_as):
    client = client_as("trader", "tess")
    assert client.get("/_dash-layout").status_code == 200
    with dash_app.server.app_context():
        from dashapp.extensions import db
        from dashapp.services import users

        users.set_active("test", users.find_by_username("tess").id, False)
        assert db.session.get(User, users.find_by_username("tess").id).active is False
    assert client.get("/_dash-layout").status_code == 401
