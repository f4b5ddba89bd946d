"""Shared fixtures. Database fixtures run every test on SQLite and on PostgreSQL; see
tests/support/services.py for how missing servers are reported (skip locally, fail on CI)."""
from __future__ import annotations

import os

import dash
import pytest
import sqlalchemy as sa

from dashapp.config import Settings
from tests.support.db import drop_templates, scratch_database
from tests.support.web import PASSWORD, login

os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")

DB_BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


def pytest_sessionfinish(session, exitstatus):
    drop_templates()


def pytest_setup_options():
    """Chromium flags for this machine: no network beyond loopback, no GPU, no first-run noise."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = os.environ["DASH_TEST_CHROMEPATH"]
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--window-size=1400,1000"):
        options.add_argument(flag)
    return options  # pluggy collects one result per hook; dash_duo takes the first as its Options


def make_settings(tmp_path, database_url: str, **overrides) -> Settings:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    os.environ.pop("REDIS_URL", None)
    return Settings.from_env(instance_dir=instance, database_url=database_url, secret_key="test-secret-key",
                             redis_url=overrides.pop("redis_url", None), **overrides)


def upgrade_database(server) -> None:
    """Migrate to head. Scratch databases come migrated from a template, so this usually only
    confirms the version (cheap) instead of running every migration again."""
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    from dashapp.extensions import db
    from dashapp.services import users

    with server.app_context():
        config = server.extensions["migrate"].migrate.get_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        current = None
        if sa.inspect(db.engine).has_table("alembic_version"):
            current = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if current != head:
            upgrade()
        users.ensure_roles()
        db.session.remove()


@pytest.fixture(params=DB_BACKENDS)
def db_backend(request):
    return request.param


@pytest.fixture
def database_url(db_backend, tmp_path):
    with scratch_database(db_backend, tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path, database_url):
    return make_settings(tmp_path, database_url)


@pytest.fixture
def server(settings):
    """The Flask server with its database migrated (no Dash): for services and the REST API."""
    from dashapp import create_server
    from dashapp.extensions import db

    app = create_server(settings)
    upgrade_database(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def dash_app(settings):
    """The whole web application (Dash mounted), database migrated."""
    from dashapp import create_app
    from dashapp.extensions import db

    app = create_app(settings)
    upgrade_database(app.server)
    yield app
    with app.server.app_context():
        db.session.remove()
        db.engine.dispose()
    dash.page_registry.clear()


@pytest.fixture
def make_user(request):
    """make_user(role, username=None) -> User, created through the service (audited)."""

    def _make(role: str, username: str | None = None, password: str = PASSWORD):
        from dashapp.services import users

        return users.create_user("test", username or f"{role}1", password, role)

    return _make


@pytest.fixture
def client_as(dash_app):
    """client_as(role) -> a Flask test client logged in as a fresh user of that role."""
    from dashapp.services import users

    def _client(role: str, username: str | None = None):
        name = username or f"{role}-user"
        with dash_app.server.app_context():
            if users.find_by_username(name) is None:
                users.create_user("test", name, PASSWORD, role)
        client = dash_app.server.test_client()
        response = login(client, name)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.get("/")  # first page load sets the CSRF cookie
        return client

    return _client
