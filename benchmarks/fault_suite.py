"""Fault suite: `dashapp up --web 2 --workers 2` on a PRIVATE PostgreSQL and a PRIVATE Redis (servers
this script starts on free loopback ports, never the machine's shared ones), then one fault at a
time, each measured and checked:

    kill -9 of the web master, a web worker, a Celery worker (main process), a pool child, beat, engine;
    an outage of Redis and of PostgreSQL (stop the private server, wait, start it again).

For each: the time to recover (first good answer after the fault: /readyz of every web process, or
the first job done after it), jobs lost (health-check jobs launched before and during the fault
that never succeeded: must be 0; a launch refused with 503 while the broker is down is counted as
refused, not lost), and for the engine the orders lost (its id sequence in the local outbox before
the kill against the store's after recovery: must be 0).

    .venv/bin/python benchmarks/fault_suite.py                 # full form, writes docs/RELIABILITY.md
    .venv/bin/python benchmarks/fault_suite.py --outage 5 --quick --no-write   # a small form

Every wait has a deadline; loops are bounded in count and time. tests/integration/test_faults.py runs
the same code in a bounded form.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class Row:
    fault: str
    recover_s: float | None = None
    jobs_launched: int = 0
    jobs_lost: int = 0
    jobs_refused: int = 0
    orders_lost: int | None = None
    note: str = ""
    lost_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.recover_s is not None and self.jobs_lost == 0 and not self.orders_lost


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

            settings = Settings.from_env(instance_dir=self.instance, database_url=self.env.get("DATABASE_URL"),
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


# --- the faults ----------------------------------------------------------------------------------
def kill_web_master(cockpit: Cockpit) -> Row:
    name = cockpit.web[0]
    master = cockpit.pid(name)
    workers = children(master)
    killed = time.monotonic()
    os.kill(master, signal.SIGKILL)
    wait_for("web restarted with a new master",
             lambda: (st := cockpit.supervisor.status()[name]).running and st.pid != master, 180)
    wait_for("/readyz 200", lambda: cockpit.get("/readyz").status_code == 200, 180, poll=0.1)
    recover = time.monotonic() - killed
    orphans = [pid for pid in workers if alive(pid)]
    return Row("kill -9 web master", recover, note=f"{len(workers)} worker(s) died with it"
               if not orphans else f"ORPHANS LEFT: {orphans}") if not orphans else \
        Row("kill -9 web master", None, note=f"orphan workers still alive: {orphans}")


def kill_web_worker(cockpit: Cockpit) -> Row:
    master = cockpit.pid(cockpit.web[0])
    [worker, *_] = children(master)
    killed = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    wait_for("a new gunicorn worker", lambda: [p for p in children(master) if p != worker], 60, poll=0.1)
    wait_for("/readyz 200", lambda: cockpit.get("/readyz").status_code == 200, 180, poll=0.1)
    return Row("kill -9 web worker", time.monotonic() - killed)


def _job_fault(cockpit: Cockpit, label: str, fault, deadline: float, hold: float = 8.0) -> Row:
    """Launch jobs (some running while the fault strikes), apply `fault`, launch more, then check each."""
    before = [cockpit.launch(hold) for _ in range(2)]
    wait_for("the jobs running past their checks", lambda: cockpit.holding(before), 90)
    killed = time.monotonic()
    fault()
    during = [cockpit.launch(0.5) for _ in range(2)]
    recover = cockpit.job_done_after(deadline)
    accepted = [j for j in before + during if j]
    lost = cockpit.wait_jobs(accepted, deadline)
    return Row(label, time.monotonic() - killed if recover is not None else None, len(accepted), len(lost),
               (len(before) + len(during)) - len(accepted), lost_ids=lost)


def kill_celery_worker(cockpit: Cockpit, deadline: float = 180) -> Row:
    name = cockpit.workers[0]
    return _job_fault(cockpit, "kill -9 Celery worker (main process)",
                      lambda: os.kill(cockpit.pid(name), signal.SIGKILL), deadline)


def kill_pool_child(cockpit: Cockpit, deadline: float = 180) -> Row:
    def fault():
        pids = [child for name in cockpit.workers for child in children(cockpit.pid(name))]
        os.kill(pids[0], signal.SIGKILL)

    return _job_fault(cockpit, "kill -9 Celery pool child", fault, deadline)


def kill_beat(cockpit: Cockpit) -> Row:
    old = cockpit.pid("beat")
    killed = time.monotonic()
    os.kill(old, signal.SIGKILL)
    wait_for("beat restarted", lambda: (st := cockpit.supervisor.status()["beat"]).running and st.pid != old, 60,
             poll=0.1)
    return Row("kill -9 beat", time.monotonic() - killed, note="supervisord restarts it; the schedule file persists")


def outage(cockpit: Cockpit, label: str, server, seconds: float, deadline: float = 240) -> Row:
    """Stop a private server for `seconds`, start it again; jobs launched before and during must end well."""
    before = [cockpit.launch(seconds + 4) for _ in range(2)]
    wait_for("the jobs running past their checks", lambda: cockpit.holding(before), 90)
    server.stop()
    stopped = time.monotonic()
    during = []
    while time.monotonic() - stopped < seconds:  # bounded: one launch attempt a second
        during.append(cockpit.launch(0.5))
        time.sleep(1.0)
    server.start()
    restarted = time.monotonic()
    cockpit.job_done_after(deadline)
    wait_for("/readyz 200 on every web process", cockpit.ready, deadline)
    recover = time.monotonic() - restarted
    accepted = [j for j in before + during if j]
    lost = cockpit.wait_jobs(accepted, deadline)
    return Row(label, recover, len(accepted), len(lost), len(before) + len(during) - len(accepted),
               note=f"{seconds:g} s outage; recovery counted from the restart", lost_ids=lost)


def kill_engine(cockpit: Cockpit, deadline: float = 120) -> Row:
    """kill -9 of the paper engine while it trades: the engine supervisor starts it again, and every
    order id it had numbered (its outbox's sequence) reaches the store."""
    admin = cockpit.login(0)
    csrf = admin.cookies.get("_csrf_token")
    answer = admin.post(cockpit.url(0) + "/api/v1/engines/paper-1/start", json={},
                        headers={"X-CSRFToken": csrf or ""}, timeout=10)
    if answer.status_code >= 400:
        return Row("kill -9 engine", None, note=f"could not start the engine: {answer.status_code} {answer.text[:100]}")
    outbox = cockpit.instance / "engine" / "paper-1" / "outbox.sqlite"
    wait_for("the engine running and numbering orders", lambda: _local_seq(outbox) > 0, 120, poll=0.5)
    old = cockpit.pid("engine")
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    numbered = _local_seq(outbox)
    wait_for("engine restarted", lambda: (st := cockpit.supervisor.status()["engine"]).running and st.pid != old,
             deadline)
    token = (cockpit.instance / "engine-token").read_text().strip()
    bearer = {"Authorization": f"Bearer {token}"}

    def stored_seq():
        return int(cockpit.get_json("/api/v1/engines/paper-1/recovery", bearer).get("last_seq") or 0)

    with contextlib.suppress(Timeout):
        wait_for("the store holding every numbered order", lambda: stored_seq() >= numbered, deadline, poll=0.5)
    recover = time.monotonic() - killed
    lost = max(numbered - stored_seq(), 0)
    return Row("kill -9 engine", recover, orders_lost=lost,
               note=f"outbox had numbered up to #{numbered}; the store holds up to #{stored_seq()}")


def _local_seq(outbox: Path) -> int:
    if not outbox.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=2)) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
    return int(row[0]) if row else 0


def _get_json(self: Cockpit, path: str, headers: dict) -> dict:
    answer = _plain().get(self.url(0) + path, headers=headers, timeout=5)
    answer.raise_for_status()
    return answer.json()


Cockpit.get_json = _get_json


# --- the suite -----------------------------------------------------------------------------------
FAULTS = ("web-master", "web-worker", "celery-worker", "pool-child", "beat", "redis", "postgres", "engine")


def run_suite(folder: Path, outage_seconds: float = 30.0, faults=FAULTS, log=print) -> list[Row]:
    from tests.support.private_servers import private_postgres, private_redis

    rows: list[Row] = []
    with private_postgres(folder) as pg, private_redis(folder) as rd:
        cockpit = Cockpit(folder, pg.url, rd.url)
        try:
            cockpit.wait_ready()
            log(f"cockpit ready on {', '.join(map(str, cockpit.ports))} (PostgreSQL :{pg.port}, Redis :{rd.port})")
            steps = {
                "web-master": lambda: kill_web_master(cockpit),
                "web-worker": lambda: kill_web_worker(cockpit),
                "celery-worker": lambda: kill_celery_worker(cockpit),
                "pool-child": lambda: kill_pool_child(cockpit),
                "beat": lambda: kill_beat(cockpit),
                "redis": lambda: outage(cockpit, "Redis outage", rd, outage_seconds),
                "postgres": lambda: outage(cockpit, "PostgreSQL outage", pg, outage_seconds),
                "engine": lambda: kill_engine(cockpit),
            }
            for name in faults:
                try:
                    row = steps[name]()
                except Timeout as exc:
                    row = Row(name, None, note=str(exc).splitlines()[0])
                rows.append(row)
                log(f"{row.fault}: recovered in {row.recover_s if row.recover_s is None else round(row.recover_s, 1)} s, "
                    f"jobs {row.jobs_launched} launched / {row.jobs_lost} lost / {row.jobs_refused} refused"
                    f"{'' if row.orders_lost is None else f', orders lost {row.orders_lost}'} {row.note}")
                with contextlib.suppress(Timeout):
                    cockpit.wait_ready(120)  # the next fault starts from a healthy cockpit
        finally:
            cockpit.close()
    return rows


def table(rows: list[Row], outage_seconds: float) -> str:
    from benchmarks._common import machine

    lines = [f"Measured on {machine()} by `benchmarks/fault_suite.py --outage {outage_seconds:g}`: "
             "`dashapp up --web 2 --workers 2` on a private PostgreSQL and a private Redis (append-only), "
             "reaper every 5 s, heartbeat 2 s.", "",
             "| Fault | Recovered in | Jobs launched | Jobs lost | Launches refused (503) | Engine orders lost | Note |",
             "| --- | --: | --: | --: | --: | --: | --- |"]
    for row in rows:
        recover = "did not recover" if row.recover_s is None else f"{row.recover_s:.1f} s"
        orders = "" if row.orders_lost is None else str(row.orders_lost)
        lines.append(f"| {row.fault} | {recover} | {row.jobs_launched} | {row.jobs_lost} | {row.jobs_refused} | "
                     f"{orders} | {row.note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=30.0, help="Seconds each server stays down.")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"Comma-separated subset of {','.join(FAULTS)}.")
    parser.add_argument("--no-write", action="store_true", help="Print the table; leave docs/RELIABILITY.md alone.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fault-suite-") as folder:
        rows = run_suite(Path(folder), args.outage, [f for f in args.faults.split(",") if f])
    body = table(rows, args.outage)
    print(body)
    if not args.no_write:
        from benchmarks._common import write_section

        write_section("Fault suite", body, target=ROOT / "docs" / "RELIABILITY.md")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
