"""Capacity (D37): page traffic and live streams cannot take the threads that control actions,
probes and ingest need. Real HTTP against a real server the test starts on a free port: Werkzeug's
threaded server in this process (so the test can fill the page gate itself, deterministically), and
`dashapp web` (Gunicorn gthread with 4 threads) to show that many streams cannot starve /healthz.
Every assertion is on statuses and counters, none on time."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from dashapp.security import capacity
from layouts.ids import CommandCenter as cc
from tests.conftest import make_settings
from tests.support.web import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20  # seconds per HTTP call: a request that would hang fails the test instead


@pytest.fixture
def settings(tmp_path, database_url):
    # 8 threads: 2 stream slots (2 per user), 2 kept in reserve, so 4 page slots.
    return make_settings(tmp_path, database_url, web_threads=8, streams_per_process=2, streams_per_user=2,
                         web_reserve_threads=2)


@pytest.fixture
def live(dash_app):
    """The whole cockpit served over HTTP by a threaded Werkzeug server on a free port."""
    httpd = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)


def _user(app, role: str, name: str) -> None:
    from dashapp.services import users

    with app.app_context():
        if users.find_by_username(name) is None:
            users.create_user("test", name, PASSWORD, role)


def signed_in(base: str, name: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"username": name, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text[:300]
    assert session.get(f"{base}/", timeout=TIMEOUT).status_code == 200  # sets the CSRF cookie
    return session


def callback(session: requests.Session, base: str, output: str, inputs: list[dict], state=None):
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
               for o in output.strip(".").split("...")]
    body = {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "state": state or [], "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs]}
    return session.post(f"{base}/_dash-update-component", json=body, timeout=TIMEOUT,
                        headers={"X-CSRFToken": session.cookies.get("_csrf_token", "")})


def _output_key(dash_app, function_name: str) -> str:
    return next(key for key, entry in dash_app.callback_map.items()
                if getattr(entry.get("callback"), "__name__", "") == function_name)


def open_stream(session: requests.Session, base: str) -> requests.Response:
    """GET /events/stream; on 200, read up to the `hello` event, so the stream is really open."""
    response = session.get(f"{base}/events/stream", stream=True, timeout=TIMEOUT)
    if response.status_code == 200:
        # Keep the iterator: a dropped one is garbage-collected at once, and urllib3 then closes the
        # connection, which would end the stream on the server too.
        response.events = response.iter_content(chunk_size=None)
        received = b""
        while b"event: hello" not in received:
            received += next(response.events)
    return response


def wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_limits_leave_a_reserve(settings):
    limits = capacity.Limits.from_settings(settings)
    assert (limits.page_slots, limits.streams_per_process, limits.streams_per_user) == (4, 2, 2)
    default = capacity.Limits.from_settings(make_settings(settings.instance_dir.parent, settings.database_url))
    # 32 threads: a quarter for streams, 4 in reserve, the rest for pages.
    assert (default.threads, default.streams_per_process, default.reserve, default.page_slots) == (32, 8, 4, 20)


@pytest.mark.parametrize("path, method, kind", [
    ("/healthz", "GET", "probe"), ("/readyz", "GET", "probe"), ("/metrics", "GET", "probe"),
    ("/api/v1/ingest/orders", "POST", "control"), ("/api/v1/engines/paper-1/stop", "POST", "control"),
    ("/api/v1/engines/paper-1/control", "GET", "control"), ("/api/v1/kill-switch/activate", "POST", "control"),
    ("/assets/cockpit.js", "GET", "static"), ("/_dash-component-suites/dash/x.js", "GET", "static"),
    ("/events/stream", "GET", "stream"), ("/command-center", "GET", "page"), ("/login", "POST", "page"),
    ("/_dash-update-component", "POST", "page"), ("/_dash-layout", "GET", "page"), ("/api/v1/me", "GET", "page"),
])
def test_request_classes(path, method, kind):
    assert capacity.request_class(path, method) == kind


def test_streams_capped_per_user_and_per_process_while_probes_answer(dash_app, live):
    _user(dash_app.server, "viewer", "watcher")
    _user(dash_app.server, "viewer", "other")
    slots = capacity.of(dash_app.server).streams
    watcher, other = signed_in(live, "watcher"), signed_in(live, "other")
    opened = [open_stream(watcher, live) for _ in range(2)]
    assert [r.status_code for r in opened] == [200, 200]
    refused = [open_stream(watcher, live) for _ in range(5)]
    assert {r.status_code for r in refused} == {429}
    assert all(r.headers["Retry-After"] == str(capacity.STREAM_RETRY_AFTER) for r in refused)
    assert "live streams open" in refused[0].json()["message"]
    # The process's cap (2) is reached as well: another user is refused with 503.
    full = open_stream(other, live)
    assert full.status_code == 503 and full.headers["Retry-After"] == str(capacity.STREAM_RETRY_AFTER)
    assert slots.open == 2 and slots.refused == {"user": 5, "process": 1}
    assert requests.get(f"{live}/healthz", timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{live}/readyz", timeout=TIMEOUT).status_code == 200
    # Pages still load for the user whose streams are refused (they poll instead).
    assert watcher.get(f"{live}/trading", timeout=TIMEOUT).status_code == 200
    # A closed stream gives its slot back (noticed at the next keep-alive write at the latest).
    opened[0].close()
    wait_for(lambda: slots.open == 1, "the closed stream's slot to be released")
    again = open_stream(other, live)
    assert again.status_code == 200
    for response in (opened[1], again):
        response.close()
    wait_for(lambda: slots.open == 0, "every stream slot to be released")


def test_full_page_gate_refuses_pages_at_once_but_not_control_or_probes(dash_app, live):
    from dashapp.services import controls, tokens, users

    _user(dash_app.server, "trader", "desk")
    desk = signed_in(live, "desk")
    with dash_app.server.app_context():
        _, secret = tokens.create_token("test", users.find_by_username("desk").id, "capacity", ["paper-1"])
    tiles = _output_key(dash_app, "refresh_tiles")
    tick = [{"id": cc.INTERVAL, "property": "n_intervals", "value": 1}]
    assert callback(desk, live, tiles, tick).status_code == 200

    gate = capacity.of(dash_app.server).pages
    held = 0
    while gate.try_enter():  # every page slot is taken, as by long page requests
        held += 1
    assert held == gate.size == 4
    refused_before = gate.refused
    try:
        busy = callback(desk, live, tiles, tick)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == str(capacity.PAGE_RETRY_AFTER)
        assert "busy" in busy.json()["message"]
        page = desk.get(f"{live}/trading", headers={"Accept": "text/html"}, timeout=TIMEOUT)
        assert page.status_code == 503 and 'http-equiv="refresh"' in page.text and page.headers["Retry-After"]
        # Control, probes and static files do not wait for a page slot.
        assert requests.get(f"{live}/healthz", timeout=TIMEOUT).status_code == 200
        assert requests.get(f"{live}/readyz", timeout=TIMEOUT).status_code == 200
        assert desk.get(f"{live}/assets/cockpit.js", timeout=TIMEOUT).status_code == 200
        api = requests.post(f"{live}/api/v1/engines/paper-1/stop", json={"reason": "capacity test"},
                            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": uuid.uuid4().hex},
                            timeout=TIMEOUT)
        assert api.status_code == 200, api.text[:300]
        confirm = _output_key(dash_app, "confirm_action")
        clicked = callback(desk, live, confirm, [{"id": cc.CONFIRM, "property": "n_clicks", "value": 1}],
                           [{"id": cc.PENDING, "property": "data", "value": {"action": "kill", "key": uuid.uuid4().hex}},
                            {"id": cc.REASON, "property": "value", "value": "capacity test"}])
        assert clicked.status_code == 200, clicked.text[:300]
        assert gate.refused - refused_before == 2 and gate.in_use == held  # the callback and the page load
    finally:
        for _ in range(held):
            gate.leave()
    with dash_app.server.app_context():
        assert controls.kill_switch().active
        assert controls.engine_view("paper-1").desired == "stopped"
    assert callback(desk, live, tiles, tick).status_code == 200
    assert gate.in_use == 0  # every admitted request gave its slot back


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_many_streams_cannot_starve_gunicorn(dash_app, tmp_path):
    """`dashapp web` with 4 threads: one user opening 12 streams gets 2, and /healthz and a page still
    answer. Without the caps the first 4 streams would hold all 4 threads and /healthz would hang."""
    settings = dash_app.server.config["COCKPIT_SETTINGS"]
    _user(dash_app.server, "viewer", "streamer")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "COCKPIT_INSTANCE_DIR": str(settings.instance_dir),
           "SECRET_KEY": settings.secret_key, "PORT": str(port), "REDIS_URL": "", "COCKPIT_ENV": "dev",
           "LOG_LEVEL": "WARNING", "WEB_THREADS": "4", "COCKPIT_STREAMS_PER_PROCESS": "2",
           "COCKPIT_STREAMS_PER_USER": "2", "COCKPIT_WEB_RESERVE_THREADS": "1"}
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115
    web = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "web", "--threads", "4"], cwd=ROOT, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    streams = []
    try:
        def up() -> bool:
            assert web.poll() is None, (tmp_path / "web.log").read_text()[-2000:]
            try:
                return requests.get(f"{base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, "gunicorn to answer /healthz", timeout=120)
        user = signed_in(base, "streamer")
        streams = [open_stream(user, base) for _ in range(12)]
        statuses = [r.status_code for r in streams]
        assert statuses.count(200) == 2 and statuses.count(429) == 10, statuses
        for _ in range(5):
            assert requests.get(f"{base}/healthz", timeout=TIMEOUT).status_code == 200
        assert user.get(f"{base}/trading", timeout=TIMEOUT).status_code == 200
    finally:
        for response in streams:
            response.close()
        os.killpg(web.pid, 15)
        web.wait(timeout=30)
        log.close()


def _redis_server(port: int, folder: Path) -> subprocess.Popen:
    """A private redis-server on its own port (never the machine's shared one)."""
    import redis

    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    wait_for(answers, "the private redis-server to answer")
    return proc


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_open_stream_survives_a_redis_restart(tmp_path, database_url):
    """One subscription per process: after Redis comes back, events published through it reach the
    streams that were open during the outage (the listener reconnects; the page polled meanwhile)."""
    import shutil

    from dashapp import create_server
    from dashapp.realtime import bus, publish
    from tests.conftest import upgrade_database

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    redis_proc = _redis_server(port, tmp_path)
    server = create_server(make_settings(tmp_path, database_url, redis_url=f"redis://127.0.0.1:{port}/0"))
    upgrade_database(server)
    try:
        with server.app_context():
            subscription = bus.subscribe()
            publish("probe", {"n": 1})
            assert subscription.get(timeout=10)["data"] == {"n": 1}
            listener = bus._listeners[(f"redis://127.0.0.1:{port}/0", bus._channel())]
            redis_proc.kill()
            redis_proc.wait(timeout=10)
            wait_for(lambda: not listener.subscribed.is_set(), "the listener to notice the outage")
            publish("probe", {"n": 2})  # Redis down: delivered in this process only, never raised
            assert subscription.get(timeout=10)["data"] == {"n": 2}
            redis_proc = _redis_server(port, tmp_path)
            wait_for(listener.subscribed.is_set, "the listener to subscribe again")
            publish("probe", {"n": 3})
            assert subscription.get(timeout=10)["data"] == {"n": 3}
            subscription.close()
    finally:
        redis_proc.kill()
        redis_proc.wait(timeout=10)
