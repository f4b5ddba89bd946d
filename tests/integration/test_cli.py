"""The `dashapp` command against a real scratch database (SQLite and PostgreSQL): user
administration, its refusals (clear message, exit 1, nothing half-written), audit verify, demo."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashapp.cli import main
from dashapp.security.passwords import verify_password
from tests.support.web import PASSWORD

UNSET = ("REDIS_URL", "COCKPIT_ADMIN_PASSWORD", "COCKPIT_DEMO_PASSWORD", "COCKPIT_ENV", "PORT", "LOG_LEVEL")


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


class Cli:
    """Runs `dashapp ...` in this process with the scratch database in its environment."""

    def __init__(self, database_url: str, instance_dir):
        self.database_url = database_url
        self.instance_dir = instance_dir
        self.env = {"DATABASE_URL": database_url, "COCKPIT_INSTANCE_DIR": str(instance_dir),
                    "SECRET_KEY": "test-secret-key", **{name: None for name in UNSET}}
        self.engine = sa.create_engine(_sqlalchemy_url(database_url))

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None, expect: int = 0):
        result = CliRunner().invoke(main, list(args), input=input, env={**self.env, **(env or {})},
                                    catch_exceptions=False)
        assert result.exit_code == expect, f"dashapp {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result.output

    def sql(self, statement: str, **params):
        with self.engine.begin() as conn:
            return conn.execute(sa.text(statement), params).all() if statement.lstrip().upper().startswith(
                "SELECT") else conn.execute(sa.text(statement), params)

    def users(self) -> dict[str, tuple[str, bool]]:
        return {name: (role, bool(active)) for name, role, active in
                self.sql("SELECT username, role_name, active FROM users ORDER BY username")}

    def audit_count(self) -> int:
        return self.sql("SELECT count(*) FROM audit_records")[0][0]


@pytest.fixture
def cli(database_url, tmp_path):
    runner = Cli(database_url, tmp_path / "instance")
    runner("db", "upgrade")
    runner("users", "create", "root-admin", "--role", "admin", "--password", PASSWORD)
    yield runner
    runner.engine.dispose()


def test_every_command_has_help(tmp_path):
    """Through the real entry point, as an operator types it."""
    env = {**os.environ, "COCKPIT_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/help.sqlite"}
    for command in ([], ["users"], ["users", "create"], ["users", "list"], ["users", "set-role"],
                    ["users", "disable"], ["audit", "verify"], ["db", "upgrade"], ["worker"], ["beat"],
                    ["demo"], ["web"], ["up"]):
        done = subprocess.run([sys.executable, "-m", "dashapp.cli", *command, "--help"], capture_output=True,
                              text=True, timeout=60, env=env)
        assert done.returncode == 0, (command, done.stderr)
        assert "Usage:" in done.stdout


def test_users_create_list_set_role_disable(cli):
    assert "created alice (trader)" in cli("users", "create", "alice", "--role", "trader", "--password", PASSWORD)
    listing = cli("users", "list")
    assert re.search(r"^alice\s+trader\s+yes", listing, re.M), listing
    assert "alice is now risk" in cli("users", "set-role", "alice", "risk")
    assert "alice is disabled" in cli("users", "disable", "alice")
    assert re.search(r"^alice\s+risk\s+no", cli("users", "list"), re.M)
    assert cli.users()["alice"] == ("risk", False)
    actions = [row[0] for row in cli.sql("SELECT action FROM audit_records WHERE target = 'user:alice' ORDER BY id")]
    assert actions == ["user.create", "user.set_role", "user.disable"]
    actors = {row[0] for row in cli.sql("SELECT actor FROM audit_records WHERE target = 'user:alice'")}
    assert all(actor.startswith("cli:") for actor in actors)
    assert "audit chain OK" in cli("audit", "verify")


def test_generated_and_prompted_passwords(cli):
    out = cli("users", "create", "bob", "--role", "viewer", "--generate")
    password = re.search(r"password: (\S+)", out).group(1)
    (stored,) = cli.sql("SELECT password_hash FROM users WHERE username = 'bob'")[0]
    assert verify_password(stored, password)
    cli("users", "create", "carol", "--role", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n")
    cli("users", "reset-password", "carol", input="Another-Str0ng-Secret\nAnother-Str0ng-Secret\n")
    (stored,) = cli.sql("SELECT password_hash FROM users WHERE username = 'carol'")[0]
    assert verify_password(stored, "Another-Str0ng-Secret")


@pytest.mark.parametrize("args, message", [
    (["users", "create", "root-admin", "--role", "viewer", "--password", PASSWORD], "already taken"),
    (["users", "create", "dave", "--role", "viewer", "--password", "short"], "weak password"),
    (["users", "create", "dave", "--role", "emperor", "--password", PASSWORD], "unknown role 'emperor'"),
    (["users", "create", "X!", "--role", "viewer", "--password", PASSWORD], "user name must be"),
    (["users", "set-role", "root-admin", "emperor"], "unknown role 'emperor'"),
    (["users", "set-role", "nobody", "viewer"], "no user named 'nobody'"),
    (["users", "disable", "nobody"], "no user named 'nobody'"),
    (["users", "disable", "root-admin"], "last active admin"),
    (["users", "set-role", "root-admin", "viewer"], "last active admin"),
])
def test_refusals_are_clear_and_write_nothing(cli, args, message):
    users_before, audit_before = cli.users(), cli.audit_count()
    out = cli(*args, expect=1)
    assert message in out
    assert "Traceback" not in out
    assert cli.users() == users_before
    assert cli.audit_count() == audit_before
    assert "audit chain OK" in cli("audit", "verify")


def test_last_admin_can_be_disabled_once_another_admin_exists(cli):
    cli("users", "create", "second-admin", "--role", "admin", "--password", PASSWORD)
    cli("users", "disable", "root-admin")
    assert "last active admin" in cli("users", "disable", "second-admin", expect=1)
    assert cli.users()["second-admin"] == ("admin", True)


def test_audit_verify_names_the_edited_record(cli):
    cli("users", "create", "erin", "--role", "trader", "--password", PASSWORD)
    cli("users", "set-role", "erin", "viewer")
    assert re.search(r"audit chain OK: \d+ records verified", cli("audit", "verify"))
    (record_id,) = cli.sql("SELECT id FROM audit_records WHERE action = 'user.set_role'")[0]
    cli.sql("UPDATE audit_records SET actor = 'mallory' WHERE id = :id", id=record_id)
    out = cli("audit", "verify", expect=1)
    assert f"BROKEN at record {record_id}" in out
    assert "edited" in out


def test_audit_verify_detects_a_deleted_record(cli):
    cli("users", "create", "frank", "--role", "trader", "--password", PASSWORD)
    cli("users", "disable", "frank")
    (first_id,) = cli.sql("SELECT min(id) FROM audit_records")[0]
    cli.sql("DELETE FROM audit_records WHERE id = :id", id=first_id)
    out = cli("audit", "verify", expect=1)
    assert "BROKEN at record" in out and "deleted" in out


def test_demo_seeds_once_and_reprints_kept_passwords(cli):
    first = cli("demo")
    passwords = dict(re.findall(r"Demo:\s+(\w+) \(\w+\) / (\S+)", first))
    assert set(passwords) == {"trader", "risk", "viewer"}
    assert {name: cli.users()[name][0] for name in passwords} == {"trader": "trader", "risk": "risk", "viewer": "viewer"}
    kept = (cli.instance_dir / "demo-users.txt")
    assert kept.stat().st_mode & 0o777 == 0o600
    audit_after_first = cli.audit_count()
    second = cli("demo")
    assert dict(re.findall(r"Demo:\s+(\w+) \(\w+\) / (\S+)", second)) == passwords
    assert cli.audit_count() == audit_after_first  # nothing created twice
    (stored,) = cli.sql("SELECT password_hash FROM users WHERE username = 'trader'")[0]
    assert verify_password(stored, passwords["trader"])


def test_demo_password_from_env_and_weak_one_refused(cli):
    out = cli("demo", env={"COCKPIT_DEMO_PASSWORD": "weak"}, expect=1)
    assert "demo password" in out and "trader" in out
    assert not {"trader", "risk", "viewer"} & set(cli.users())
    out = cli("demo", env={"COCKPIT_DEMO_PASSWORD": "Desk-Demo-2026!"})
    assert "$COCKPIT_DEMO_PASSWORD" in out and "Desk-Demo-2026!" not in out
    (stored,) = cli.sql("SELECT password_hash FROM users WHERE username = 'risk'")[0]
    assert verify_password(stored, "Desk-Demo-2026!")


def test_process_commands_build_the_documented_command_lines(cli):
    web = cli("web", "--dry-run", env={"PORT": "18123"})
    assert "gunicorn wsgi:app" in web and "--worker-class gthread --workers 1" in web
    assert "--bind 0.0.0.0:18123" in web
    worker = cli("worker", "--dry-run", "--concurrency", "1")
    assert "celery -A workers.main:celery worker -Q default,jobs,reports --loglevel INFO --concurrency 1" in worker
    beat = cli("beat", "--dry-run")
    assert f"beat -s {cli.instance_dir / 'celerybeat-schedule'}" in beat
