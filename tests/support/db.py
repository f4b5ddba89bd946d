"""Throw-away databases, each already at the migrations' head, without paying for running every
migration in every test (about a second each): see `scratch_database`."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.support.services import postgres_url

_templates: dict[str, str] = {}  # backend -> SQLite file path / PostgreSQL database name


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _with_database(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def _migrate(database_url: str) -> None:
    from flask_migrate import upgrade

    from dashapp import create_server
    from dashapp.config import Settings
    from dashapp.extensions import db
    from dashapp.services import users

    instance = Path(tempfile.mkdtemp(prefix="tpl-instance-"))
    server = create_server(Settings.from_env(instance_dir=instance, database_url=database_url,
                                             secret_key="template", redis_url=None))
    with server.app_context():
        upgrade()
        users.ensure_roles()
        db.session.remove()
        db.engine.dispose()


def _admin_engine():
    return sa.create_engine(_psycopg(postgres_url()), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _template(backend: str) -> str:
    if backend in _templates:
        return _templates[backend]
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="tpl-sqlite-")) / "template.sqlite"
        _migrate(f"sqlite:///{path}")
        _templates[backend] = str(path)
    else:
        name = f"cockpit_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with _admin_engine().connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        _migrate(_with_database(postgres_url(), name))
        _templates[backend] = name
    return _templates[backend]


def drop_templates() -> None:
    """Called at the end of the session."""
    name = _templates.pop("postgresql", None)
    if name:
        with _admin_engine().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _templates.clear()


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    root = Path(__file__).resolve().parents[2] / "migrations"
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root))
    return ScriptDirectory.from_config(config).get_current_head()


@contextlib.contextmanager
def scratch_database(backend: str, tmp_path):
    """Yield a DATABASE_URL for a fresh, migrated database of `backend` ('sqlite' or 'postgresql').

    SQLite: a copy of the template the real migrations built. PostgreSQL: a new schema (put first
    on the connection's search_path) built by `create_all` and stamped at the migrations' head:
    faster than CREATE DATABASE on a busy server, and the same schema, because
    test_models_and_migrations_agree fails whenever models and migrations differ."""
    if backend == "sqlite":
        target = tmp_path / "test.sqlite"
        shutil.copyfile(_template("sqlite"), target)
        yield f"sqlite:///{target}"
        return
    from dashapp.extensions import db
    import models  # noqa: F401  (every table on db.metadata)

    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(_psycopg(base), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(sa.text(f'SET LOCAL search_path TO "{schema}"'))
        db.metadata.create_all(conn)
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": _head()})
        # What migration 0001 seeds (the roles every user row points to).
        from dashapp.security.permissions import ROLES

        conn.execute(sa.text("INSERT INTO roles (name, description) VALUES (:name, :description)"),
                     [{"name": name, "description": text} for name, text in ROLES.items()])
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
