"""The paper engine as `dashapp up` runs it: a real supervisord, web, worker, beat, engine supervisor
and engine on a free port and a scratch instance directory. The engine trades on its own, is
brought back after a kill -9, and follows start/stop requests made through the REST API.
Every wait has a deadline; nothing asserts on timing."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import uuid

import pytest

from dashapp.supervisor import Supervisor
from tests.integration.test_supervisor import PROJECT_DIR, Up, alive, descendants, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.timeout(420)]


def trader_token(instance) -> str:
    """A trader of our own and an API token for it, made with the services on the cockpit's database."""
    from dashapp import create_server
    from dashapp.config import Settings
    from dashapp.extensions import db
    from dashapp.services import tokens, users
    from tests.support.web import PASSWORD

    settings = Settings.from_env(instance_dir=instance, database_url=f"sqlite:///{instance / 'cockpit.sqlite'}")
    server = create_server(settings)
    with server.app_context():
        try:
            user = users.create_user("test", "desk-trader", PASSWORD, "trader")
            _, secret = tokens.create_token("test", user.id, "engine process test", ["paper-1"])
            return secret
        finally:
            db.session.remove()
            db.engine.dispose()


def count(instance, table: str) -> int:
    with sqlite3.connect(instance / "cockpit.sqlite", timeout=30) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)


def test_engine_commands_have_help(tmp_path):
    env = {**os.environ, "COCKPIT_INSTANCE_DIR": str(tmp_path)}
    for command in (["engine"], ["engine", "run"], ["engine", "supervise"]):
        done = subprocess.run([sys.executable, "-m", "dashapp.cli", *command, "--help"], capture_output=True,
                              text=True, timeout=60, env=env, cwd=PROJECT_DIR)
        assert done.returncode == 0, (command, done.stderr)
        assert "Usage:" in done.stdout


def test_up_runs_the_engine_restarts_it_after_a_crash_and_follows_start_stop(tmp_path, monkeypatch):
    for name in ("COCKPIT_ENGINE_TOKEN", "COCKPIT_URL", "COCKPIT_ENGINE_ID", "COCKPIT_ENGINE_TICK"):
        monkeypatch.delenv(name, raising=False)
    up = Up(tmp_path)
    try:
        up.wait_healthy()
        out = wait_for("banner", lambda: "Ctrl-C stops everything" in up.output() and up.output(), 60, up.proc,
                       up.output)
        token_file = up.instance / "engine-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert "Engine: paper-1 reports as paper-engine" in out
        assert token_file.read_text().strip() not in out  # the secret is never printed

        headers = {"Authorization": f"Bearer {trader_token(up.instance)}"}
        supervisor = Supervisor(up.instance)

        def engine(expect_actual: str, old_pid: int = 0):
            """The engine's view once it matches `expect_actual` (and, when up, runs with a new pid)."""
            view = up.http.get(f"{up.url}/api/v1/engines/paper-1", headers=headers, timeout=10).json()
            program = supervisor.status()["engine"]
            if view["actual"] != expect_actual:
                return None
            if expect_actual == "running" and not (program.running and program.pid != old_pid
                                                    and view["pid"] == program.pid):
                return None
            return view, program

        # 1. Nobody asked for anything: the desired state defaults to running and the engine trades.
        view, program = wait_for("the engine running", lambda: engine("running"), 150, up.proc, up.output)
        assert view["desired"] == "running"
        # Generous: with a cold numba cache (a kernel source just changed) the first tick compiles the
        # option pricer, which takes minutes on a busy two-core machine.
        orders = count(up.instance, "orders")
        wait_for("orders arriving", lambda: count(up.instance, "orders") > orders, 240, up.proc, up.output)
        fills = count(up.instance, "fills")
        wait_for("fills arriving", lambda: count(up.instance, "fills") > fills, 60, up.proc, up.output)
        wait_for("health line with the engine", lambda: "engine RUNNING" in up.output()
                 and "engine-supervisor RUNNING" in up.output(), 30, up.proc, up.output)

        # 2. kill -9: supervisord leaves it down (autorestart off); the engine supervisor starts it again.
        os.kill(program.pid, signal.SIGKILL)
        view, program = wait_for("the engine back after kill -9", lambda: engine("running", program.pid), 120,
                                 up.proc, up.output)
        supervisor_log = up.instance / "logs" / "engine-supervisor.log"
        wait_for("the crash in the engine supervisor's log", lambda: "process crashed" in supervisor_log.read_text(),
                 30, up.proc, up.output)

        # 3. Stop through the API (desired state): the process goes down and the cockpit says stopped.
        def act(action: str) -> dict:
            response = up.http.post(f"{up.url}/api/v1/engines/paper-1/{action}", headers=headers, timeout=10,
                                    json={"reason": f"integration test {action}", "idempotency_key": uuid.uuid4().hex})
            assert response.status_code == 200, response.text
            return response.json()

        assert "stop requested" in act("stop")["outcome"]
        # STOPPED when the engine supervisor stopped it, EXITED when the engine saw the request first.
        view, stopped = wait_for("the engine stopped", lambda: (found := engine("stopped"))
                                 and found[1].state in ("STOPPED", "EXITED") and found, 60, up.proc, up.output)
        assert view["desired"] == "stopped" and stopped.pid == 0

        # 4. Start again.
        assert "start requested" in act("start")["outcome"]
        view, restarted = wait_for("the engine running again", lambda: engine("running", program.pid), 120,
                                   up.proc, up.output)
        assert view["desired"] == "running" and restarted.pid != program.pid

        # 5. Ctrl-C: everything stops, the engine too.
        family = descendants(up.proc.pid)
        assert restarted.pid in family
        assert up.stop() == 0, up.output()
        assert "all processes stopped" in up.output()
        wait_for("every child gone", lambda: not [pid for pid in family if alive(pid)], 30)
    finally:
        up.kill()
