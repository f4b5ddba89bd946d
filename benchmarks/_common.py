"""Shared helpers for the benchmark scripts: scratch databases, machine facts, and writing a
section of docs/BENCHMARKS.md without touching the other sections."""
from __future__ import annotations

import os
import platform
import re
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def median_time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def scratch_app(backend: str):
    """A migrated Flask server (no Dash) on a throw-away SQLite file or PostgreSQL schema."""
    from flask_migrate import upgrade

    from dashapp import create_server
    from dashapp.config import Settings
    from dashapp.extensions import db
    from dashapp.services import users

    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    schema = None
    if backend == "postgresql":
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{folder / 'bench.sqlite'}"
    settings = Settings.from_env(instance_dir=folder, database_url=url, secret_key="bench")
    server = create_server(settings)
    try:
        with server.app_context():
            upgrade()
            users.ensure_roles()
            yield server
            db.session.remove()
            db.engine.dispose()
    finally:
        if schema:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def write_section(title: str, body: str, target: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the `## title` section of docs/BENCHMARKS.md (or of `target`)."""
    target.parent.mkdir(exist_ok=True)
    text = target.read_text() if target.exists() else f"# {target.stem.title()}\n\n"
    section = f"## {title}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    target.write_text(text)


def start_web(extra_args: list[str], env: dict, instance_dir, port: int, timeout: float = 120):
    """Start `dashapp web` as its own process (log in <instance>/web.log) and wait for /healthz."""
    import subprocess
    import sys

    import requests

    log = open(Path(instance_dir) / "web.log", "wb")  # noqa: SIM115 (lives as long as the process)
    proc = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "web", *extra_args], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the web process exited ({proc.returncode}); see {log.name}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the web process did not answer /healthz within {timeout:g} s; see {log.name}")
