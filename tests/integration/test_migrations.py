"""Migrations build the schema on SQLite and PostgreSQL, and agree with the models."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dashapp.extensions import db
from models import Role


def test_upgrade_builds_every_table_and_seeds_roles(server):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert {r.name for r in db.session.execute(sa.select(Role)).scalars()} == {"viewer", "trader", "risk", "admin"}


def test_models_and_migrations_agree(server):
    from flask_migrate import downgrade, upgrade

    # Rebuild with the real migrations (scratch PostgreSQL schemas are made by create_all).
    downgrade(revision="base")
    upgrade()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `dashapp db migrate`: {diff}"


def test_downgrade_to_base_and_back(server):
    from flask_migrate import downgrade, upgrade

    downgrade(revision="base")
    assert "users" not in sa.inspect(db.engine).get_table_names()
    upgrade()
    assert "users" in sa.inspect(db.engine).get_table_names()
