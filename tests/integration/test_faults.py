"""Process faults and scale-out, against real processes, on both stacks: `dashapp up --web 2
--workers 2` on a PRIVATE PostgreSQL and a PRIVATE Redis that the test starts
(tests/support/private_servers.py), so servers can be killed and restarted without touching the
machine's shared ones, and `dashapp up` on its embedded defaults (SQLite, filesystem broker). The
fault suite (benchmarks/fault_suite.py) runs here in a bounded form: short outages, a few jobs per
fault, every wait with a deadline (generous: the machine may be loaded), no assertion on timing
(recovery figures are measured by the script), and each row must show nothing lost."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime, timezone

import pytest

from benchmarks import fault_suite
from benchmarks.fault_cockpit import _plain
from benchmarks.fault_suite import alive, children, wait_for
from tests.support.private_servers import postgres_problem, redis_problem, require

# The bound on each test (a cockpit start plus every fault, each with its own deadlines).
pytestmark = [pytest.mark.worker, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory):
    """One PostgreSQL + Redis cockpit for the module's three tests (a start costs ~20 s): each test
    begins from a healthy cockpit because every fault waits for recovery before the next."""
    require(postgres_problem())
    require(redis_problem())
    with fault_suite.started(tmp_path_factory.mktemp("faults"), "postgres") as up:
        yield up


@pytest.fixture
def embedded(tmp_path):
    with fault_suite.started(tmp_path, "embedded") as up:
        yield up


def _stream_events(session, url: str, received: list, opened: threading.Event, stop: threading.Event):
    with session.get(url + "/events/stream", stream=True, timeout=(5, 30)) as response:
        assert response.status_code == 200
        buffer = ""
        for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
            buffer += chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if fields.get("event") == "hello":
                    opened.set()
                elif fields.get("event") == "cockpit":
                    received.append(json.loads(fields["data"]))
            if stop.is_set():
                return


@pytest.mark.postgres
@pytest.mark.redis
def test_sessions_jobs_and_pushes_work_across_web_processes(cockpit):
    # A session made on web-1 is honoured by web-2 (signed cookie, shared SECRET_KEY).
    session = cockpit.login(0)
    assert cockpit.get("/jobs", 1, session).status_code == 200
    assert cockpit.get("/jobs", 1).status_code in (302, 401)  # and not without it

    # A job launched through web-1 is seen, finished by a worker, through web-2.
    csrf = {"X-CSRFToken": session.cookies.get("_csrf_token") or ""}
    answer = session.post(cockpit.url(0) + "/api/v1/exports", json={"dataset": "orders", "format": "csv"},
                          headers=csrf, timeout=10)
    assert answer.status_code in (200, 201, 202), answer.text
    job_id = answer.json()["job_id"] if "job_id" in answer.json() else answer.json()["id"]
    done = wait_for("the export finished, seen through web-2",
                    lambda: (body := cockpit.get(f"/api/v1/exports/{job_id}", 1, session).json())
                    .get("state") == "succeeded" and body, 120)
    assert done["state"] == "succeeded"

    # A push published by web-1 (an ingest) reaches a live stream held open on web-2 (Redis fan-out).
    received, opened, stop = [], threading.Event(), threading.Event()
    reader = threading.Thread(target=_stream_events, args=(session, cockpit.url(1), received, opened, stop),
                              daemon=True)
    reader.start()
    assert opened.wait(30), "the stream on web-2 did not open"
    token = (cockpit.instance / "engine-token").read_text().strip()
    now = datetime.now(timezone.utc).isoformat()
    for _ in range(20):  # bounded: the listener may still be subscribing when the first one goes out
        posted = _plain().post(
            cockpit.url(0) + "/api/v1/ingest/engine_state", timeout=10,
            json={"engine_id": "paper-1", "items": [{"status": "stopped", "heartbeat_at": now}]},
            headers={"Authorization": f"Bearer {token}"})
        assert posted.status_code == 200, posted.text
        if wait_for_topic(received, "ingest.engine_state", 1.0):
            break
    stop.set()
    assert any(event["topic"] == "ingest.engine_state" for event in received), received


def wait_for_topic(events: list, topic: str, seconds: float) -> bool:
    """The paper engine reports to web-1 too, so other ingest events arrive as well: look for ours."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if any(event["topic"] == topic for event in list(events)):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
@pytest.mark.redis
def test_killed_web_master_takes_its_workers_with_it_and_comes_back(cockpit):
    master = cockpit.pid("web-1")
    workers = children(master)
    assert workers, "gunicorn should have a worker"
    os.kill(master, signal.SIGKILL)
    wait_for("the orphaned workers gone", lambda: not [pid for pid in workers if alive(pid)], 30)
    wait_for("web-1 restarted by supervisord", lambda: (st := cockpit.supervisor.status()["web-1"]).running
             and st.pid != master, 60)
    wait_for("web-1 ready again", lambda: cockpit.get("/readyz", 0).status_code == 200, 180)
    assert cockpit.get("/readyz", 1).status_code == 200  # web-2 never went away


def assert_nothing_lost(rows, faults, cockpit) -> None:
    """Every fault ran and recovered (a good /healthz after), no job lost, and for the engine no
    order lost or repeated and no difference between its book and the store's."""
    report = fault_suite.table(rows, 5)
    context = f"{report}\n--- cockpit output ---\n{cockpit.output()}"
    assert len(rows) == len(faults), context
    for row in rows:
        assert row.recover_s is not None, f"{row.fault} did not recover: {row.note}\n{context}"
        stories = "\n".join(row.lost_stories)
        assert row.jobs_lost == 0, f"{row.fault}: lost {row.lost_ids}\n{stories}\n{context}"
        assert row.healthy_after is True, f"{row.fault}: no good /healthz after\n{context}"
    [engine] = [row for row in rows if row.fault == "kill -9 engine"]
    assert engine.orders_lost == 0, context
    assert engine.orders_repeated == 0, context
    assert engine.book_difference == 0, context
    assert "entries compared" in engine.note, context


@pytest.mark.postgres
@pytest.mark.redis
def test_fault_suite_bounded_form(cockpit):
    """Each fault once on PostgreSQL + Redis, outages of 5 s (the web master has its own test)."""
    faults = [f for f in fault_suite.STACKS["postgres"] if f != "web-master"]
    rows = fault_suite.run_faults(cockpit, "postgres", faults, outage_seconds=5)
    assert_nothing_lost(rows, faults, cockpit)


def test_fault_suite_bounded_form_embedded(embedded):
    """Each process kill once on the embedded defaults (SQLite, filesystem broker, one of each)."""
    faults = list(fault_suite.STACKS["embedded"])
    rows = fault_suite.run_faults(embedded, "embedded", faults)
    assert_nothing_lost(rows, faults, embedded)
