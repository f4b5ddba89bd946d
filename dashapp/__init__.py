"""The application factory. `create_app()` builds the Flask server and mounts the Dash app on it;
`create_server()` builds only the Flask part (database, login, API) for the CLI, workers and engine."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from dashapp.config import Settings
from dashapp.extensions import csrf, db, login_manager, migrate

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def create_server(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    server = Flask("dashapp", instance_path=str(settings.instance_dir), static_folder=None)
    secure = settings.env != "dev"
    server.config.update(
        SECRET_KEY=settings.secret_key,
        COCKPIT_SETTINGS=settings,
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        WTF_CSRF_TIME_LIMIT=None,  # an idle desk tab must keep working after an hour
        WTF_CSRF_SSL_STRICT=False,
    )
    from dashapp.api.body_limits import install as install_body_limits

    install_body_limits(server, settings.max_body_bytes)  # before anything that reads a body
    from dashapp.security import capacity

    capacity.install(server)  # before the login guard: page traffic is admitted before it reads the database
    db.init_app(server)
    migrate.init_app(server, db, directory=str(PROJECT_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(server)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(server)
    import models  # noqa: F401  (registers every table on db.metadata)

    from dashapp.observability import install as install_observability
    from dashapp.security.login import bp as auth_bp
    from dashapp.api import register as register_api

    from dashapp.realtime.stream import bp as realtime_bp

    install_observability(server)
    server.register_blueprint(auth_bp)
    server.register_blueprint(realtime_bp)
    register_api(server)
    return server


def _engine_options(settings: Settings) -> dict:
    if settings.is_sqlite:
        # Several processes share one SQLite file: wait for locks instead of failing at once.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # A database that does not answer fails a connect in seconds instead of holding a web thread (D38).
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10, "connect_args": {"connect_timeout": 5}}


def create_app(settings: Settings | None = None):
    """The whole web application: Flask server + Dash pages, guards, callbacks. Returns the Dash app;
    its Flask server is `app.server` (what Gunicorn serves through wsgi.py)."""
    server = create_server(settings)
    from dashapp.web import build_dash

    return build_dash(server)
