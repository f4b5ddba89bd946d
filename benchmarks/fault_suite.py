"""Fault suite: the cockpit under one fault at a time, each measured and checked, on both stacks:

    postgres  `dashapp up --web 2 --workers 2` on a PRIVATE PostgreSQL and a PRIVATE Redis (servers
              this script starts on free loopback ports, never the machine's shared ones);
    embedded  `dashapp up` with its defaults (SQLite file, filesystem broker, one web, one worker).

Faults: kill -9 of the web master, a web worker, a Celery worker (main process), a pool child, beat
and the paper engine; on the postgres stack also an outage of Redis and of PostgreSQL (stop the
private server, wait, start it again). The embedded stack has no server to stop.

For each: the time to recover (first good answer after the fault: /readyz of every web process, the
first job done after it, or the engine's restart event and every order it numbered in the store),
jobs lost (health-check jobs launched before and during the fault that never succeeded: must be 0;
a launch refused while the broker is down is counted as refused, not lost), whether /healthz
answers 200 on every web process afterwards, and for the engine: orders lost (the store's id
sequence, `engine_recovery.sequence_report`, has no gap, no repeat, and reaches the number the
outbox had given out at the kill) and the book difference (the engine's cash and positions against
the store's at one sequence number, `engine_recovery.book_difference`). All must be 0.

    .venv/bin/python benchmarks/fault_suite.py --outage 30              # writes docs/RELIABILITY.md
    .venv/bin/python benchmarks/fault_suite.py --outage 5 --no-write    # a small form
    .venv/bin/python benchmarks/fault_suite.py --stacks embedded --faults engine --no-write

Every wait has a deadline; loops are bounded in count and time. tests/integration/test_faults.py runs
the same code in a bounded form.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fault_cockpit import (ADMIN_PASSWORD, FAST_ENV, Cockpit, Timeout, alive,  # noqa: E402
                                      children, wait_for)

__all__ = ["ADMIN_PASSWORD", "FAST_ENV", "Cockpit", "Row", "Timeout", "alive", "children", "run_faults",
           "run_suite", "started", "table", "wait_for"]


@dataclass
class Row:
    fault: str
    recover_s: float | None = None
    jobs_launched: int = 0
    jobs_lost: int = 0
    jobs_refused: int = 0
    orders_lost: int | None = None
    orders_repeated: int | None = None
    book_difference: int | None = None
    note: str = ""
    lost_ids: list[str] = field(default_factory=list)
    lost_stories: list[str] = field(default_factory=list)  # state, error and log tail of each lost job
    stack: str = ""
    healthy_after: bool | None = None  # /healthz 200 on every web process once the fault is over

    @property
    def ok(self) -> bool:
        return (self.recover_s is not None and self.jobs_lost == 0 and not self.orders_lost
                and not self.orders_repeated and not self.book_difference and self.healthy_after is not False)


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
    if orphans:  # a worker that outlives its master keeps the port: not recovered
        return Row("kill -9 web master", None, note=f"orphan workers still alive: {orphans}")
    return Row("kill -9 web master", recover, note=f"{len(workers)} worker(s) died with it")


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
               (len(before) + len(during)) - len(accepted), lost_ids=lost, lost_stories=cockpit.job_stories(lost))


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
               note=f"{seconds:g} s outage; recovery counted from the restart", lost_ids=lost,
               lost_stories=cockpit.job_stories(lost))




def kill_engine(cockpit: Cockpit, deadline: float = 240) -> Row:
    """kill -9 of the paper engine while it trades: the engine supervisor starts it again, it resumes
    from the store, and every id it had numbered (its outbox's sequence at the kill) is stored once.
    Then the engine is stopped cleanly: its last heartbeat carries its book at its final sequence
    number, which must equal the store's positions and cash."""
    label = "kill -9 engine"
    answer = cockpit.control("start")
    if answer.status_code >= 400:
        return Row(label, None, note=f"could not start the engine: {answer.status_code} {answer.text[:100]}")
    outbox = cockpit.instance / "engine" / "paper-1" / "outbox.sqlite"
    # Killed while it holds positions and has fills in flight, so the book check compares something.
    wait_for("the engine trading (a fill stored)", lambda: _local_seq(outbox) > 0 and cockpit.in_store(_fills) > 0,
             deadline, poll=0.5)
    restarts = cockpit.restarts()
    old = cockpit.pid("engine")
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    numbered = _local_seq(outbox)
    wait_for("the engine resumed from the store (a new engine.restart event)",
             lambda: cockpit.restarts() > restarts, deadline, poll=0.5)
    wait_for(f"the store holding every id up to #{numbered}", lambda: cockpit.sequence().last >= numbered,
             deadline, poll=0.5)
    recover = time.monotonic() - killed
    stopping = cockpit.control("stop")
    if stopping.status_code >= 400:
        return Row(label, recover, note=f"could not stop the engine: {stopping.status_code} {stopping.text[:100]}")
    book = wait_for("the engine's book and the store's at one sequence number", cockpit.book_check, deadline,
                    poll=0.5)
    report = cockpit.sequence()
    lost = len(report.missing) + max(numbered - report.last, 0)
    note = (f"ids #{report.first}..#{report.last}: {report.stored} stored, {len(report.missing)} missing, "
            f"{len(report.repeated)} repeated (the outbox had numbered #{numbered} at the kill); book: "
            f"{book.compared} cash/position entries compared at #{book.seq}")
    if book.differences:
        note += "; " + "; ".join(book.differences[:5])
    return Row(label, recover, orders_lost=lost, orders_repeated=len(report.repeated),
               book_difference=len(book.differences), note=note)


def _fills() -> int:
    import sqlalchemy as sa

    from dashapp.extensions import db
    from models import Fill

    return db.session.execute(sa.select(sa.func.count()).select_from(Fill)
                              .where(Fill.engine_id == "paper-1")).scalar_one()


def _local_seq(outbox: Path) -> int:
    if not outbox.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=2)) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
    return int(row[0]) if row else 0


# --- the suite -----------------------------------------------------------------------------------
FAULTS = ("web-master", "web-worker", "celery-worker", "pool-child", "beat", "redis", "postgres", "engine")
STACKS = {"postgres": FAULTS,  # the engine last: its check ends with the engine stopped
          "embedded": ("web-master", "web-worker", "celery-worker", "pool-child", "beat", "engine")}


@contextlib.contextmanager
def started(folder: Path, stack: str):
    """The cockpit of `stack` up and ready (private servers started first for postgres); all
    stopped at the end. The postgres stack's servers are at `.pg` / `.rd` for outages."""
    from tests.support.private_servers import private_postgres, private_redis

    root = Path(folder) / stack
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack_exit:
        if stack == "embedded":
            cockpit = Cockpit(root, None, None, web=1, workers=1)
            cockpit.pg = cockpit.rd = None
        else:
            pg = stack_exit.enter_context(private_postgres(root))
            rd = stack_exit.enter_context(private_redis(root))
            cockpit = Cockpit(root, pg.url, rd.url, web=2, workers=2)
            cockpit.pg, cockpit.rd = pg, rd
        stack_exit.callback(cockpit.close)
        cockpit.wait_ready()
        yield cockpit


def run_faults(cockpit: Cockpit, stack: str, faults, outage_seconds: float = 30.0, log=print) -> list[Row]:
    """Each fault in turn on a running cockpit, each from a healthy cockpit; one Row each."""
    steps = {
        "web-master": lambda: kill_web_master(cockpit),
        "web-worker": lambda: kill_web_worker(cockpit),
        "celery-worker": lambda: kill_celery_worker(cockpit),
        "pool-child": lambda: kill_pool_child(cockpit),
        "beat": lambda: kill_beat(cockpit),
        "redis": lambda: outage(cockpit, "Redis outage", cockpit.rd, outage_seconds),
        "postgres": lambda: outage(cockpit, "PostgreSQL outage", cockpit.pg, outage_seconds),
        "engine": lambda: kill_engine(cockpit),
    }
    rows = []
    for name in faults:
        try:
            row = steps[name]()
        except Timeout as exc:
            row = Row(name, None, note=str(exc).splitlines()[0])
        row.stack = stack
        try:
            wait_for("/healthz 200 on every web process", cockpit.healthy, 120, poll=0.5)
            row.healthy_after = True
        except Timeout:
            row.healthy_after = False
        rows.append(row)
        log(f"[{stack}] {row.fault}: recovered in {'-' if row.recover_s is None else round(row.recover_s, 1)} s, "
            f"jobs {row.jobs_launched} launched / {row.jobs_lost} lost / {row.jobs_refused} refused"
            f"{'' if row.orders_lost is None else f', orders lost {row.orders_lost}'}"
            f"{'' if row.book_difference is None else f', book difference {row.book_difference}'}"
            f", /healthz after: {'ok' if row.healthy_after else 'FAILED'} {row.note}")
        with contextlib.suppress(Timeout):
            cockpit.wait_ready(120)  # the next fault starts from a healthy cockpit
    return rows


def run_suite(folder: Path, outage_seconds: float = 30.0, faults=FAULTS, stacks=tuple(STACKS), log=print) -> list[Row]:
    rows: list[Row] = []
    for stack in stacks:
        chosen = [f for f in faults if f in STACKS[stack]]
        if not chosen:
            continue
        with started(folder, stack) as cockpit:
            log(f"[{stack}] cockpit ready on {', '.join(map(str, cockpit.ports))}"
                + (f" (PostgreSQL :{cockpit.pg.port}, Redis :{cockpit.rd.port})" if cockpit.pg else
                   " (SQLite, filesystem broker)"))
            rows += run_faults(cockpit, stack, chosen, outage_seconds, log)
    return rows


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def table(rows: list[Row], outage_seconds: float, load_before: str | None = None) -> str:
    from benchmarks._common import machine

    stacks = {row.stack for row in rows}
    lines = [f"Measured on {machine()} by `benchmarks/fault_suite.py --outage {outage_seconds:g}`; load average "
             f"(1/5/15 min) {load_before or _load()} at the start, {_load()} at the end"
             + (": the machine was shared with other work, so recovery times are upper bounds."
                if os.getloadavg()[1] > (os.cpu_count() or 1) else "."), "",
             "Stacks: **postgres** is `dashapp up --web 2 --workers 2` on a private PostgreSQL and a private Redis "
             "(append-only); **embedded** is `dashapp up` with its defaults (SQLite file, filesystem broker, one "
             "web, one worker; no server to stop, so no outage rows). Reaper every 5 s, job heartbeat 2 s. "
             "Engine orders lost: gaps in the store's id sequence plus ids the outbox had numbered at the kill "
             "and the store never got; book difference: cash and position entries where the engine's book (its "
             "last heartbeat) and the store's differ at the same sequence number.", "",
             "| Stack | Fault | Recovered in | Jobs launched | Jobs lost | Launches refused | Engine orders lost "
             "| Book difference | /healthz after | Note |",
             "| --- | --- | --: | --: | --: | --: | --: | --: | --- | --- |"]
    for row in sorted(rows, key=lambda r: r.stack != "postgres") if len(stacks) > 1 else rows:
        recover = "did not recover" if row.recover_s is None else f"{row.recover_s:.1f} s"
        orders = "" if row.orders_lost is None else str(row.orders_lost)
        book = "" if row.book_difference is None else str(row.book_difference)
        health = {True: "200", False: "FAILED", None: ""}[row.healthy_after]
        lines.append(f"| {row.stack} | {row.fault} | {recover} | {row.jobs_launched} | {row.jobs_lost} | "
                     f"{row.jobs_refused} | {orders} | {book} | {health} | {row.note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=30.0, help="Seconds each server stays down.")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"Comma-separated subset of {','.join(FAULTS)}.")
    parser.add_argument("--stacks", default=",".join(STACKS), help="Comma-separated subset of postgres,embedded.")
    parser.add_argument("--no-write", action="store_true", help="Print the table; leave docs/RELIABILITY.md alone.")
    args = parser.parse_args(argv)
    stacks = [s for s in args.stacks.split(",") if s]
    if unknown := [s for s in stacks if s not in STACKS] + [f for f in args.faults.split(",") if f and f not in FAULTS]:
        parser.error(f"unknown stack or fault: {', '.join(unknown)}")
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="fault-suite-") as folder:
        rows = run_suite(Path(folder), args.outage, [f for f in args.faults.split(",") if f], stacks)
    body = table(rows, args.outage, load_before)
    print(body)
    if not args.no_write:
        from benchmarks._common import write_section

        write_section("Fault suite", body, target=ROOT / "docs" / "RELIABILITY.md")
    return 0 if rows and all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
