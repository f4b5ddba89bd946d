"""The push channel: bus events reach an open /events/stream, in-process and through Redis."""
from __future__ import annotations

import json
import threading
import time

import pytest

from dashapp.realtime import publish
from tests.conftest import make_settings
from tests.support.services import redis_url
from tests.support.web import login


def _read_events(response, want: int, deadline: float) -> list[dict]:
    events, buffer = [], ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
            if lines.get("event") == "cockpit":
                events.append(json.loads(lines["data"]))
        if len(events) >= want or time.monotonic() > deadline:
            break
    return events


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("broker", ["in-process", "redis"])
def test_published_event_reaches_open_stream(tmp_path, database_url, broker, make_user):
    from dashapp import create_server
    from tests.conftest import upgrade_database

    settings = make_settings(tmp_path, database_url, redis_url=redis_url() if broker == "redis" else None)
    server = create_server(settings)
    upgrade_database(server)
    with server.app_context():
        make_user("viewer", "streamer")
    client = server.test_client()
    login(client, "streamer")
    response = client.get("/events/stream", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"

    def later():
        time.sleep(0.5)  # let the stream subscribe first
        with server.app_context():
            publish("ingest.orders", {"engine_id": "paper-1", "stored": 3})

    threading.Thread(target=later, daemon=True).start()
    events = _read_events(response, 1, time.monotonic() + 10)
    response.close()
    assert events and events[0]["topic"] == "ingest.orders" and events[0]["data"]["stored"] == 3


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_stream_refuses_anonymous(dash_app):
    assert dash_app.server.test_client().get("/events/stream").status_code == 401
