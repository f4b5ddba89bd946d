"""The cockpit under test for the fault suite (benchmarks/fault_suite.py): `dashapp up --web N
--workers M` in its own process group, on a private PostgreSQL + Redis or on the embedded defaults
(SQLite file, filesystem broker), plus what the suite needs to drive and check it: sessions, job
launches and their states, and the engine's sequence and book read from the store.

Every wait has a deadline (`wait_for`), so nothing here can hang a test or a run."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ADMIN_PASSWORD = "Fault-Suite-2026!x"
# The reaper and heartbeats on a short clock, so recovery is measured in seconds, not minutes; the
# same knobs an operator sets (workers.celery_app.worker_option).
FAST_ENV = {"COCKPIT_REAP_EVERY_SECONDS": "5", "COCKPIT_JOB_HEARTBEAT_SECONDS": "2",
            "COCKPIT_HEALTH_CHECK_EVERY_SECONDS": "3600"}


class Timeout(RuntimeError):
    pass


def wait_for(what: str, check, deadline: float, poll: float = 0.25):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(Exception):
            if result := check():
                return result
        time.sleep(poll)
    raise Timeout(f"no {what} within {deadline:.0f} s")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


class Cockpit:
    """`dashapp up --web N --workers M` in a subprocess, plus what the suite needs to drive it."""

    def __init__(self, folder: Path, database_url: str | None, redis_url: str | None, web: int = 2,
                 workers: int = 2, extra_env: dict | None = None):
        from tests.support.private_servers import free_port

        self.instance = folder / "instance"
        self.ports = []
        while len(self.ports) < web:  # consecutive free ports
            base = free_port()
            if all(_port_free(base + i) for i in range(web)):
                self.ports = [base + i for i in range(web)]
        self.web = ["web"] if web == 1 else [f"web-{i}" for i in range(1, web + 1)]
        self.workers = ["worker"] if workers == 1 else [f"worker-{i}" for i in range(1, workers + 1)]
        drop = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "COCKPIT_ADMIN_PASSWORD", "COCKPIT_DEMO_PASSWORD",
                "COCKPIT_ENV", "PORT", "COCKPIT_URL")
        self.env = {**{k: v for k, v in os.environ.items() if k not in drop}, **FAST_ENV, **(extra_env or {}),
                    "COCKPIT_INSTANCE_DIR": str(self.instance), "PORT": str(self.ports[0]),
                    "COCKPIT_ADMIN_PASSWORD": ADMIN_PASSWORD}
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashapp.cli", "up", "--interval", "2", "--web", str(web), "--workers", str(workers)],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
        threading.Thread(target=lambda: [self.lines.append(line) for line in self.proc.stdout], daemon=True).start()
        self._server = None
        self._port = None

    # --- plumbing ----------------------------------------------------------------------------
    def output(self, last: int = 60) -> str:
        return "".join(self.lines[-last:])

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def get(self, path: str, index: int = 0, session: requests.Session | None = None, timeout: float = 5):
        http = session or _plain()
        return http.get(self.url(index) + path, timeout=timeout, allow_redirects=False)

    def ready(self) -> bool:
        return all(self.get("/readyz", i).status_code == 200 for i in range(len(self.ports)))

    def wait_ready(self, deadline: float = 240) -> None:
        try:
            wait_for("/readyz 200 on every web process", self.ready, deadline)
        except Timeout as exc:
            raise Timeout(f"{exc}\n{self.output()}") from None

    @property
    def supervisor(self):
        from dashapp.supervisor import Supervisor

        return Supervisor(self.instance, timeout=10)

    def pid(self, program: str) -> int:
        return self.supervisor.status()[program].pid

    def login(self, index: int = 0, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
        http = _plain()
        page = self.get("/login", index, http).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = http.post(self.url(index) + "/login", data={"username": username, "password": password,
                                                              "csrf_token": token}, timeout=10, allow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"login on {self.url(index)} answered {answer.status_code}")
        return http

    def app(self):
        """A Flask server on the same store and broker, for launching and reading jobs directly."""
        if self._server is None:
            from dashapp import create_server
            from dashapp.config import Settings
            from workers.celery_app import CeleryJobPort, create_celery

            # Exactly the cockpit's store and broker: on the embedded stack its SQLite file and
            # filesystem broker, whatever DATABASE_URL / REDIS_URL this process may have.
            settings = Settings.from_env(
                instance_dir=self.instance,
                database_url=self.env.get("DATABASE_URL") or f"sqlite:///{self.instance / 'cockpit.sqlite'}",
                redis_url=self.env.get("REDIS_URL"))
            self._server = create_server(settings)
            self._port = CeleryJobPort(create_celery(settings))
        return self._server

    def launch(self, sleep_seconds: float = 0.0) -> str | None:
        """A health-check job; None when the launch was refused (broker down: 503 at the edges)."""
        from sqlalchemy import exc as sa_exc

        from dashapp.extensions import db
        from dashapp.services import jobs

        with self.app().app_context():
            try:
                return jobs.launch("fault-suite", "admin", "health_check", {"sleep_seconds": sleep_seconds},
                                   port=self._port).id
            except (jobs.QueueUnavailable, sa_exc.OperationalError):  # broker or database down: refused
                return None
            finally:
                db.session.remove()

    def job_states(self, ids: list[str]) -> dict[str, str]:
        import sqlalchemy as sa

        from dashapp.extensions import db
        from models import Job

        with self.app().app_context():
            try:
                return dict(db.session.execute(sa.select(Job.id, Job.state).where(Job.id.in_(ids))).all())
            finally:
                db.session.remove()

    def holding(self, ids: list[str]) -> bool:
        """True when every job runs past its checks (the health check probes the broker and the
        database first: a fault before that is a check that rightly fails, not a lost job)."""
        import sqlalchemy as sa

        from dashapp.extensions import db
        from models import Job

        ids = [i for i in ids if i]
        with self.app().app_context():
            try:
                rows = db.session.execute(sa.select(Job.state, Job.progress).where(Job.id.in_(ids))).all()
            finally:
                db.session.remove()
        past = [state in ("running", "succeeded") and (progress or 0) >= 50 for state, progress in rows]
        return len(rows) == len(ids) and all(past) and any(state == "running" for state, _ in rows)

    def job_stories(self, ids: list[str], lines: int = 8) -> list[str]:
        """For a failure message: each job's state, error and the last lines of its log."""
        import sqlalchemy as sa

        from dashapp.extensions import db
        from models import Job

        if not ids:
            return []
        with self.app().app_context():
            try:
                rows = db.session.execute(sa.select(Job.id, Job.state, Job.attempts, Job.error, Job.log)
                                          .where(Job.id.in_(ids))).all()
            finally:
                db.session.remove()
        return [f"{job_id} {state} after {attempts} attempt(s), error {error!r}; log tail:\n  "
                + "\n  ".join((log or "").splitlines()[-lines:]) for job_id, state, attempts, error, log in rows]

    def wait_jobs(self, ids: list[str], deadline: float) -> list[str]:
        """Wait until every job is terminal; returns the ids that did not succeed (lost)."""
        ids = [i for i in ids if i]
        terminal = {"succeeded", "failed", "canceled", "timed_out"}
        end = time.monotonic() + deadline
        states: dict[str, str] = {}
        while time.monotonic() < end:
            with contextlib.suppress(Exception):
                states = self.job_states(ids)
                if all(states.get(i) in terminal for i in ids):
                    break
            time.sleep(0.5)
        return [i for i in ids if states.get(i) != "succeeded"]

    def job_done_after(self, deadline: float) -> float:
        """Seconds until a job launched now (retrying refused launches) succeeds."""
        started = time.monotonic()
        job = wait_for("a job launch accepted", self.launch, deadline, poll=0.5)
        lost = self.wait_jobs([job], max(deadline - (time.monotonic() - started), 5))
        if lost:
            raise Timeout(f"job {job} did not succeed after the fault")
        return time.monotonic() - started

    def in_store(self, read):
        """`read()` inside an app context on the cockpit's store (its session removed after)."""
        from dashapp.extensions import db

        with self.app().app_context():
            try:
                return read()
            finally:
                db.session.remove()

    def healthy(self) -> bool:
        """A good /healthz from every web process (the recovery a desk user would see)."""
        return all(self.get("/healthz", i).status_code == 200 for i in range(len(self.ports)))

    def control(self, action: str, engine_id: str = "paper-1") -> requests.Response:
        """An engine control action through the API, as the admin (session cookie + CSRF token)."""
        admin = self.login(0)
        return admin.post(f"{self.url(0)}/api/v1/engines/{engine_id}/{action}",
                          json={"reason": f"fault suite: {action}", "idempotency_key": uuid.uuid4().hex},
                          headers={"X-CSRFToken": admin.cookies.get("_csrf_token") or ""}, timeout=15)

    def engine_running(self) -> bool:
        return self.supervisor.status()["engine"].running

    def restarts(self, engine_id: str = "paper-1") -> int:
        """How many `engine.restart` events the store holds for the engine."""
        import sqlalchemy as sa

        from dashapp.extensions import db
        from dashapp.services.engine_recovery import RESTART_KIND
        from models import EngineEvent

        return self.in_store(lambda: db.session.execute(
            sa.select(sa.func.count()).select_from(EngineEvent)
            .where(EngineEvent.engine_id == engine_id, EngineEvent.kind == RESTART_KIND)).scalar_one())

    def sequence(self, engine_id: str = "paper-1"):
        from dashapp.services.engine_recovery import sequence_report

        return self.in_store(lambda: sequence_report(engine_id))

    def book_check(self, engine_id: str = "paper-1"):
        """The engine's book (its last heartbeat) against the store's; None until both are at one point."""
        from dashapp.services.engine_recovery import book_difference

        return self.in_store(lambda: book_difference(engine_id))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(timeout=150)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        return self.proc.returncode

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        if self._server is not None:
            from dashapp.extensions import db

            with contextlib.suppress(Exception), self._server.app_context():
                db.engine.dispose()


def _plain() -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # loopback, never through a proxy from the environment
    return http


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False
