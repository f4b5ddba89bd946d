"""`dashapp up` as an operator runs it: a real supervisord with gunicorn, worker and beat, on a free
port and a scratch instance directory. Every wait has a deadline; nothing asserts on timing."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from dashapp.supervisor import Supervisor, SupervisorUnavailable

PROJECT_DIR = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.timeout(420)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, check, deadline: float, proc: subprocess.Popen | None = None, output=None):
    """Poll `check` until it returns something truthy; fail with `what` (and the output) at the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"`dashapp up` exited ({proc.returncode}) while waiting for {what}\n{output and output()}")
        try:
            result = check()
        except (requests.RequestException, SupervisorUnavailable, KeyError):
            result = None
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"no {what} within {deadline:.0f} s\n{output and output()}")


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie is gone, only not yet reaped


class Up:
    """`dashapp up` in a subprocess, its output collected by a thread."""

    def __init__(self, tmp_path: Path, **env):
        self.port = free_port()
        self.instance = tmp_path / "instance"
        base = {k: v for k, v in os.environ.items() if k not in (
            "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "COCKPIT_ADMIN_PASSWORD", "COCKPIT_DEMO_PASSWORD",
            "COCKPIT_ENV", "PORT")}
        self.env = {**base, "COCKPIT_INSTANCE_DIR": str(self.instance), "PORT": str(self.port), **env}
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "up", "--interval", "1"], cwd=PROJECT_DIR,
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.trust_env = False  # loopback, never through a proxy from the environment

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url + path, timeout=5, allow_redirects=False)

    def wait_healthy(self, deadline: float = 180):
        wait_for("answer on /healthz", lambda: self.get("/healthz").status_code == 200, deadline, self.proc,
                 self.output)

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=150)
        finally:
            self.reader.join(timeout=10)

    def kill(self):
        if self.proc.poll() is None:  # supervisord dies with its parent (PR_SET_PDEATHSIG) and stops the rest
            self.proc.kill()
            self.proc.wait(timeout=30)


def login(up: Up, username: str, password: str) -> requests.Response:
    page = up.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return up.http.post(up.url + "/login", data={"username": username, "password": password, "csrf_token": token},
                        timeout=10, allow_redirects=False)


def test_up_serves_restarts_a_killed_web_and_stops_cleanly(tmp_path):
    up = Up(tmp_path)
    try:
        up.wait_healthy()
        page = up.get("/login")
        assert page.status_code == 200 and "Sign in" in page.text

        out = wait_for("banner", lambda: "Ctrl-C stops everything" in up.output() and up.output(), 30, up.proc,
                       up.output)
        assert f"http://127.0.0.1:{up.port}" in out
        password = re.search(r"Admin:\s+admin / (\S+)", out).group(1)
        assert login(up, "admin", password).status_code == 302
        assert (up.instance / "first-admin.txt").stat().st_mode & 0o777 == 0o600
        assert re.search(r"Demo:\s+trader \(trader\) / \S+", out)
        wait_for("health line with web ready", lambda: re.search(r"web RUNNING \d+ ready", up.output()), 60,
                 up.proc, up.output)

        supervisor = Supervisor(up.instance)
        assert {"web", "worker", "beat"} <= set(supervisor.status())
        old_pid = supervisor.status()["web"].pid
        os.kill(old_pid, signal.SIGKILL)
        wait_for("web restarted by supervisord", lambda: (st := supervisor.status()["web"]).running
                 and st.pid != old_pid, 120, up.proc, up.output)
        up.wait_healthy()

        family = descendants(up.proc.pid)
        assert family, "supervisord and its children should be running"
        assert up.stop() == 0, up.output()
        assert "all processes stopped" in up.output()
        wait_for("every child gone", lambda: not [pid for pid in family if alive(pid)], 30)
        with pytest.raises(requests.ConnectionError):
            up.get("/healthz")
    finally:
        up.kill()


def test_up_refuses_a_second_cockpit_on_the_same_instance(tmp_path):
    up = Up(tmp_path)
    try:
        up.wait_healthy()
        second = subprocess.run([sys.executable, "-m", "dashapp.cli", "up"], cwd=PROJECT_DIR,
                                env={**up.env, "PORT": str(free_port())}, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert up.stop(signal.SIGTERM) == 0, up.output()  # what a service manager sends
        assert "all processes stopped" in up.output()
    finally:
        up.kill()


@pytest.mark.postgres
@pytest.mark.redis
def test_up_uses_postgresql_and_redis_when_set(tmp_path):
    from tests.support.db import scratch_database
    from tests.support.services import redis_url

    # A Redis database of its own, so this worker never meets messages other tests left behind.
    parts = urlsplit(redis_url())
    broker = urlunsplit(parts._replace(path="/14"))
    with scratch_database("postgresql", tmp_path) as database_url:
        up = Up(tmp_path, DATABASE_URL=database_url, REDIS_URL=broker, COCKPIT_ADMIN_PASSWORD="Desk-Pass-2026!x")
        try:
            up.wait_healthy()
            ready = wait_for("/readyz 200", lambda: (r := up.get("/readyz")).status_code == 200 and r.json(), 60,
                             up.proc, up.output)
            assert ready["broker_kind"] == "redis" and ready["database"] == "ok"
            assert "Admin:  admin / the password in $COCKPIT_ADMIN_PASSWORD" in up.output()
            assert "Desk-Pass-2026!x" not in up.output()
            assert login(up, "admin", "Desk-Pass-2026!x").status_code == 302
            assert not (up.instance / "cockpit.sqlite").exists()
            assert up.stop() == 0, up.output()
        finally:
            up.kill()
