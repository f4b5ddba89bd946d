"""What `dashapp up` does before starting processes (migrate, first admin, demo), on SQLite and
PostgreSQL, and the supervisord config it writes."""
from __future__ import annotations

import re
import sys

import pytest

from dashapp.supervisor import bootstrap, config, programs
from tests.conftest import make_settings


def _admin_password(lines: list[str]) -> str | None:
    match = re.search(r"Admin:\s+admin / (\S+)", lines[0])
    return match.group(1) if match else None


def _reset_admin_password(settings, new_password: str) -> None:
    from dashapp import create_server
    from dashapp.extensions import db
    from dashapp.services import users

    server = create_server(settings)
    with server.app_context():
        users.reset_password("test", users.find_by_username("admin").id, new_password)
        db.session.remove()
        db.engine.dispose()


def test_first_start_generates_keeps_and_forgets_the_admin_password(settings):
    first = bootstrap.prepare(settings, with_demo=True)
    password = _admin_password(first)
    assert password and "generated now" in first[0]
    kept = settings.instance_dir / bootstrap.FIRST_ADMIN_FILE
    assert kept.stat().st_mode & 0o777 == 0o600
    users, notes = first[1:4], first[4:]  # the demo users' logins first, then what else was seeded
    assert [line.split()[1] for line in users] == ["trader", "risk", "viewer"]
    assert any(note.startswith("Demo:   model ") for note in notes), notes

    again = bootstrap.prepare(settings, with_demo=True)
    assert _admin_password(again) == password and "generated now" not in again[0]
    assert again[1:4] == users  # the demo users are not created twice: the same logins are shown
    assert "Demo:   model aapl-direction: present" in again[4:], again  # nor the demo model trained twice

    _reset_admin_password(settings, "Changed-By-Hand-42")
    after_change = bootstrap.prepare(settings, with_demo=False)
    assert "changed since it was generated" in after_change[0]
    assert "admin" not in bootstrap.read_saved(kept)
    assert len(after_change) == 1


def test_admin_password_from_the_environment_is_used_and_never_printed(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, admin_password="Env-Given-Secret-7")
    lines = bootstrap.prepare(settings, with_demo=False)
    assert lines == ["Admin:  admin / the password in $COCKPIT_ADMIN_PASSWORD"]
    assert not (settings.instance_dir / bootstrap.FIRST_ADMIN_FILE).exists()


def test_a_weak_admin_password_from_the_environment_is_refused_by_name(tmp_path, database_url):
    from dashapp.services.errors import ValidationError

    settings = make_settings(tmp_path, database_url, admin_password="weak")
    with pytest.raises(ValidationError, match="COCKPIT_ADMIN_PASSWORD is refused"):
        bootstrap.prepare(settings, with_demo=False)


def test_config_lists_every_program_and_keeps_secrets_out(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:do-not-write-me@db/cockpit")
    paths = config.Paths(tmp_path / "a" / ("long-directory-name-" * 6))
    text = config.render(paths, programs(), tmp_path)
    for name in ("web", "worker", "beat"):
        assert f"[program:{name}]" in text
    assert "do-not-write-me" not in text
    assert "nodaemon=true" in text and "autorestart=true" in text
    assert f"{sys.executable} -m dashapp.cli web" in text
    assert len(str(paths.socket)) <= 100  # a unix socket path must fit sun_path
