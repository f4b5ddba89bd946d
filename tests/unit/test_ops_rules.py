"""Pure rules of the Operations console: which SLOs a request counts for, process and service states
from heartbeat ages, the per-minute tally, durations as the page writes them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dashapp.services.ops.health import instance_state, service_state
from dashapp.services.ops.heartbeats import Timing
from dashapp.services.ops.slo import Recorder, classify
from dashapp.services.ops.task_history import summarize_args
from layouts.operations_parts import duration

TIMING = Timing(interval=2, degraded_after=5, down_after=8, forget_after=86400)


@pytest.mark.parametrize("path, kind, status, elapsed, expected", [
    ("/api/v1/orders", "page", 200, 0.1, [("api-availability", True), ("api-latency", True)]),
    ("/api/v1/orders", "page", 503, 0.1, [("api-availability", False)]),  # errors are not timed
    ("/api/v1/orders", "page", 404, 0.9, [("api-availability", True), ("api-latency", False)]),
    ("/api/v1/ingest/orders", "control", 200, 0.7, [("api-availability", True), ("api-latency", False),
                                                    ("control-availability", True), ("control-latency", True)]),
    ("/_dash-update-component", "control", 500, 0.1, [("control-availability", False)]),
    ("/events/stream", "stream", 200, 0.2, [("push-availability", True), ("push-latency", True)]),
    ("/events/stream", "stream", 503, 0.0, [("push-availability", False)]),
    ("/events/stream", "stream", 429, 0.0, [("push-availability", True)]),  # the user's own cap
    ("/trading", "page", 200, 3.0, []),
    ("/healthz", "probe", 200, 0.0, []),
])
def test_request_classification(path, kind, status, elapsed, expected):
    assert classify(path, kind, status, elapsed) == expected


@pytest.mark.parametrize("age, stopped, state", [
    (0.0, False, "up"), (4.9, False, "up"), (5.0, False, "degraded"), (7.9, False, "degraded"),
    (8.0, False, "down"), (1e6, False, "down"), (None, False, "unknown"), (1.0, True, "stopped")])
def test_instance_state_from_age(age, stopped, state):
    assert instance_state(age, stopped, TIMING) == state


@pytest.mark.parametrize("states, service", [
    ([], "unknown"), (["up", "up"], "up"), (["up", "down"], "degraded"), (["degraded"], "degraded"),
    (["down", "down"], "down"), (["stopped"], "stopped"), (["up", "stopped"], "up"), (["down", "stopped"], "down")])
def test_service_state_from_instances(states, service):
    assert service_state(states) == service


def test_tally_groups_by_minute_and_slo():
    recorder = Recorder()
    at = datetime(2026, 12, 6, 7, 0, 10, tzinfo=timezone.utc)
    recorder.add([("api-availability", True), ("api-latency", False)], at)
    recorder.add([("api-availability", False)], at.replace(second=59))
    recorder.add([("api-availability", True)], at.replace(minute=1))
    assert recorder.pending() == 3
    assert recorder._pending[("api-availability", at.replace(second=0))] == [1, 2]


def test_args_summary_is_bounded_and_single_line():
    text = summarize_args(["x" * 1000, "a\nb"], {"k": "\x00"})
    assert len(text) == 300 and "\n" not in text and "\x00" not in text


@pytest.mark.parametrize("seconds, text", [(None, ""), (12, "12 s"), (61, "1 m 1 s"), (3600, "1 h"),
                                           (3 * 86400 + 4 * 3600, "3 d 4 h")])
def test_durations(seconds, text):
    assert duration(seconds) == text
