"""Private PostgreSQL and Redis servers for fault tests: our own processes on free loopback ports in a
temp directory, so a test may kill, stop, pause and restart them without touching the machine's
shared servers (never stop or restart those).

    with private_postgres(tmp_path) as pg, private_redis(tmp_path) as rd:
        pg.url, rd.url          # DATABASE_URL / REDIS_URL for the processes under test
        rd.stop(); rd.start()   # an outage: the same data directory (and port) comes back
        pg.pause(); pg.resume() # a hung server (SIGSTOP / SIGCONT): connections hang instead of failing
        pg.kill()               # kill -9, then start() recovers from the WAL

PostgreSQL refuses to run as root, so when we are root its commands run as the `postgres` OS user
(binaries from $PG_BIN, else /usr/lib/postgresql/<newest>/bin, else PATH). Missing binaries skip
the test with the reason printed; with CI=true they fail it (see `require`).
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START_TIMEOUT = 60.0


class Unavailable(RuntimeError):
    """The binaries (or the OS user) a private server needs are not on this machine."""


def require(problem: str | None) -> None:
    """In a test: skip with `problem` printed (fail with CI=true); nothing when `problem` is None."""
    if problem is None:
        return
    import pytest

    if IN_CI:
        pytest.fail(f"{problem}; CI=true, so this is a failure, not a skip", pytrace=False)
    print(f"SKIPPED: {problem}")
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} at start:\n{_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"did not listen on {port} within {timeout:.0f} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class _Server:
    """A server process we own: start/stop/kill/pause/resume, always on the same port and data."""

    name = "server"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.root / f"{self.name}.log"

    def command(self) -> list[str]:  # each server names its own command line
        return []

    def _popen_options(self) -> dict:
        return {}

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc and self.proc.poll() is None else 0

    def start(self) -> "_Server":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, **self._popen_options())
        _wait_port(self.port, self.proc, self.log)
        self.ready()
        return self

    def ready(self) -> None:
        """Wait until the server answers a real request (listening is not enough)."""

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> None:
        """A clean stop (PostgreSQL's fast shutdown, Redis' SIGINT); kill -9 when it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.resume()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # PostgreSQL's backends too
            self.proc.wait(timeout=30)

    def pause(self) -> None:
        if self.pid:
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.pid:
            os.killpg(self.proc.pid, signal.SIGCONT)


def _pg_bin() -> Path | None:
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and (Path(found).parent / "postgres").exists() else None


def postgres_problem() -> str | None:
    if _pg_bin() is None:
        return "private PostgreSQL: no initdb/postgres binaries (set PG_BIN or install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "private PostgreSQL: running as root, and there is no `postgres` OS user to run it as"
    return None


def redis_problem() -> str | None:
    return None if shutil.which("redis-server") else "private Redis: no redis-server binary on PATH"


class PrivatePostgres(_Server):
    name = "postgres"

    def __init__(self, root: Path):
        super().__init__(root)
        if problem := postgres_problem():
            raise Unavailable(problem)
        self.bin = _pg_bin()
        self.data = self.root / "pgdata"
        self.sockets = self.root / "pgsock"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _popen_options(self) -> dict:
        return {"user": self.user} if self.user else {}

    def _own(self, *paths: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in paths:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> "PrivatePostgres":
        self.root.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700)
        self.sockets.mkdir()
        self.log.touch()
        self._own(self.root, self.data, self.sockets, self.log)
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120,
                       **self._popen_options())
        return self

    def command(self) -> list[str]:
        # fsync off would risk the very recovery a kill -9 test checks: keep it on.
        return [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.sockets),
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=32MB"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                                     connect_timeout=2) as conn:
                    conn.execute("select 1")
                return
            except psycopg.OperationalError:  # "the database system is starting up"
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"PostgreSQL did not accept connections:\n{_tail(self.log)}") from None
                time.sleep(0.2)


class PrivateRedis(_Server):
    name = "redis"

    def command(self) -> list[str]:
        # Append-only file, fsync each write: a restarted Redis still holds its queued messages, as a
        # production Redis carrying Celery queues should (docs/OPERATIONS.md).
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no",
                "--daemonize", "no"]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ready(self) -> None:
        import redis

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                redis.Redis(port=self.port, socket_timeout=2).ping()
                return
            except redis.exceptions.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextlib.contextmanager
def private_postgres(root: Path | None = None):
    """A fresh PostgreSQL cluster (database `postgres`), stopped (and killed) and deleted at the end.
    Its folder is made in the system temp dir: pytest's tmp_path is 0700 and the `postgres` user
    could not enter it; `root` only names where its log is copied at the end."""
    folder = Path(tempfile.mkdtemp(prefix="cockpit-private-pg-"))
    folder.chmod(0o755)
    server = PrivatePostgres(folder / "pg")
    try:
        server.init()
        yield server.start()
    finally:
        server.stop()
        server.kill()
        if root is not None and server.log.exists():
            with contextlib.suppress(OSError):
                shutil.copy(server.log, Path(root) / "private-postgres.log")
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def private_redis(root: Path):
    """A Redis server with its data (append-only file) and log in `root`/redis; stopped at the end."""
    folder = Path(root) / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    server = PrivateRedis(folder)
    try:
        yield server.start()
    finally:
        server.stop()
        server.kill()
