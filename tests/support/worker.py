"""A real `celery worker` subprocess for integration tests, pointed at a test's settings.

    with celery_worker(settings) as worker:
        ...  # worker.node, worker.pid, worker.log_tail(), worker.kill()

The worker runs the same command line operators use (`celery -A workers.main:celery worker`), with
DATABASE_URL, REDIS_URL, COCKPIT_INSTANCE_DIR and SECRET_KEY taken from the settings. The context
manager waits until the worker answers a ping and always stops it (its whole process group).
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
START_TIMEOUT = 45.0


def worker_env(settings) -> dict:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "COCKPIT_INSTANCE_DIR": str(settings.instance_dir),
           "SECRET_KEY": settings.secret_key, "REDIS_URL": settings.redis_url or "", "COCKPIT_ENV": settings.env,
           "PYTHONUNBUFFERED": "1"}
    for name, value in settings.extra.items():  # worker tuning knobs, see workers.celery_app.worker_option
        env[f"COCKPIT_{name.upper()}"] = str(value)
    return env


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    node: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no worker log)"

    def kill(self) -> None:
        """kill -9 the worker and its pool children at once (what a crashed host looks like)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def wait_until_ready(app, worker: WorkerProcess, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            pytest.fail(f"celery worker exited with {worker.proc.returncode} before it was ready:\n{worker.log_tail()}")
        replies = app.control.ping(destination=[worker.node], timeout=0.5) or []
        if any(worker.node in reply for reply in replies):
            return
    pytest.fail(f"celery worker {worker.node} did not answer a ping within {timeout:.0f} s:\n{worker.log_tail()}")


def stop(worker: WorkerProcess, grace: float = 1.5) -> None:
    """Warm shutdown (SIGTERM), then kill -9 whatever is left: a test has no work worth waiting for,
    and Celery's timer thread can hold a warm shutdown for several seconds."""
    if worker.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.proc.pid, signal.SIGKILL)  # and any pool child left behind
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.proc.wait(timeout=10)


@contextlib.contextmanager
def celery_worker(settings, app=None, queues: str = "default,jobs,reports", pool: str = "prefork",
                  concurrency: int = 2, node: str | None = None):
    """Start a worker for `settings`, wait for its ping (through `app`, a Celery app for the same
    settings), yield it, and always stop it. `node`: the name of a worker it replaces (supervisord
    restarts a worker under its old name); a fresh one by default."""
    from workers.celery_app import create_celery

    app = app or create_celery(settings)
    node = node or f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = Path(settings.instance_dir) / f"worker-{node.split('@')[0]}.log"
    command = [str(CELERY), "-A", "workers.main:celery", "worker", "-Q", queues, "--pool", pool,
               "--concurrency", str(concurrency), "-n", node, "--loglevel", os.environ.get("COCKPIT_TEST_WORKER_LOGLEVEL", "INFO"),
               "--without-gossip", "--without-mingle"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=worker_env(settings), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    worker = WorkerProcess(proc, node, log_path)
    try:
        wait_until_ready(app, worker)
        yield worker
    finally:
        stop(worker)


@contextlib.contextmanager
def broker_settings(tmp_path, database_url: str, broker: str, extra: dict):
    """Settings for a worker test on `broker` ("filesystem" or "redis"). On Redis the run gets a
    key prefix of its own (other runs may share the server) and its keys are deleted afterwards."""
    from tests.conftest import make_settings
    from tests.support.services import redis_url

    extra = dict(extra)
    url = None
    if broker == "redis":
        url = redis_url()
        extra["redis_key_prefix"] = f"cockpit-test-{uuid.uuid4().hex[:8]}:"
    yield make_settings(tmp_path, database_url, redis_url=url, extra=extra)
    if url:
        import redis

        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{extra['redis_key_prefix']}*"):
            client.delete(key)


def wait_for_job(job_id: str, states, timeout: float = 60.0, worker: WorkerProcess | None = None,
                 what: str = ""):
    """Poll the job row (a fresh read each time) until its state is one of `states`; fail with the
    job's state, message and log, and the worker's log, when the deadline passes."""
    from dashapp.extensions import db
    from dashapp.services import jobs

    states = {states} if isinstance(states, str) else set(states)
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        db.session.expire_all()
        job = jobs.get_job(job_id)
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} {what or ''} still {job.state!r} (wanted {sorted(states)}) after {timeout:.0f} s; "
                        f"message={job.message!r} error={job.error!r}\njob log:\n{job.log}\n"
                        f"worker log:\n{worker.log_tail() if worker else '(no worker)'}")
        time.sleep(0.1)


@contextlib.contextmanager
def celery_beat(settings):
    """Start `celery beat` exactly as operators do (schedule file in the instance folder); always stop it."""
    log_path = Path(settings.instance_dir) / f"beat-{uuid.uuid4().hex[:8]}.log"
    command = [str(CELERY), "-A", "workers.main:celery", "beat", "-s",
               str(Path(settings.instance_dir) / "celerybeat-schedule"), "--loglevel", "INFO"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=worker_env(settings), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    beat = WorkerProcess(proc, "beat", log_path)
    try:
        yield beat
    finally:
        stop(beat)
