"""services.snapshots without a database: one build per version however many callers, the previous
version served while the next one builds (only while fresh), invalidation, a failed build, and the
same guarantees across two processes' worth of Redis clients."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from dash import html
from dash.testing.wait import until
from flask import Flask

from dashapp.services import snapshots
from dashapp.services.snapshots.backends import LocalBackend, RedisBackend


@pytest.fixture
def app(monkeypatch):
    app = Flask(__name__)
    app.config["COCKPIT_SETTINGS"] = SimpleNamespace(redis_url=None, extra={})
    now = {"t": 1_000.0}
    monkeypatch.setattr(snapshots, "clock", lambda: now["t"])
    app.now = now
    snapshots.reset_stats()
    with app.app_context():
        yield app


class Gate:
    """A build that blocks until released, counting its calls."""

    def __init__(self, value="v"):
        self.calls, self.value = 0, value
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self):
        self.calls += 1
        self.entered.set()
        assert self.release.wait(30), "the test never released the build"
        return {"value": self.value, "call": self.calls}


def _in_threads(app, count, target):
    results, errors = [None] * count, []

    def run(i):
        try:
            with app.app_context():
                results[i] = target(i)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    return threads, results, errors


def _count_waiters(monkeypatch, backend_cls):
    waiting = {"n": 0}
    real_wait = backend_cls.wait
    lock = threading.Lock()

    def counted(self, *args, **kwargs):
        with lock:
            waiting["n"] += 1
        return real_wait(self, *args, **kwargs)

    monkeypatch.setattr(backend_cls, "wait", counted)
    return waiting


def test_many_callers_at_once_one_build_and_the_same_answer(app, monkeypatch):
    waiting = _count_waiters(monkeypatch, LocalBackend)
    build = Gate()
    threads, results, errors = _in_threads(app, 8, lambda _i: snapshots.shared("v", build, 2.0))
    until(lambda: waiting["n"] == 7, 20)  # one builds, seven wait for it (no older version to serve)
    build.release.set()
    for t in threads:
        t.join(30)
    assert not errors and build.calls == 1
    assert results == [{"value": "v", "call": 1}] * 8
    assert snapshots.stats() == {"builds": 1, "waited": 7}


def test_next_tick_serves_the_previous_version_while_one_caller_builds(app):
    assert snapshots.shared("v", lambda: {"n": 1}, 2.0) == {"n": 1}
    app.now["t"] += 2.0  # next tick
    build = Gate()
    threads, results, _ = _in_threads(app, 1, lambda _i: snapshots.shared("v", build, 2.0))
    assert build.entered.wait(20)
    assert snapshots.shared("v", lambda: pytest.fail("a second build of one version"), 2.0) == {"n": 1}
    assert snapshots.stats()["stale"] == 1
    build.release.set()
    threads[0].join(30)
    assert results[0] == {"value": "v", "call": 1}
    assert snapshots.shared("v", lambda: pytest.fail("built again"), 2.0) == {"value": "v", "call": 1}


def test_a_too_old_version_is_not_served_callers_wait_for_the_new_one(app, monkeypatch):
    waiting = _count_waiters(monkeypatch, LocalBackend)
    snapshots.shared("v", lambda: {"n": 1}, 1.0)
    app.now["t"] += snapshots.MIN_STALE_SECONDS + 1  # older than the staleness bound
    build = Gate()
    producer, results, _ = _in_threads(app, 1, lambda _i: snapshots.shared("v", build, 1.0))
    assert build.entered.wait(20)
    reader, read, _ = _in_threads(app, 1, lambda _i: snapshots.shared("v", build, 1.0))
    until(lambda: waiting["n"] == 1, 20)
    build.release.set()
    for t in producer + reader:
        t.join(30)
    assert read[0] == results[0] == {"value": "v", "call": 1}
    assert build.calls == 1


def test_invalidate_starts_a_new_version_within_the_tick(app):
    assert snapshots.shared("v", lambda: {"n": 1}, 60.0) == {"n": 1}
    assert snapshots.shared("v", lambda: {"n": 2}, 60.0) == {"n": 1}  # same tick: cached
    snapshots.invalidate("v")
    assert snapshots.shared("v", lambda: {"n": 3}, 60.0) == {"n": 3}
    assert snapshots.shared("other", lambda: {"n": 4}, 60.0) == {"n": 4}  # views are separate


def test_a_failed_build_frees_the_version_for_the_next_caller(app):
    def broken():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        snapshots.shared("v", broken, 2.0)
    assert snapshots.shared("v", lambda: {"n": 1}, 2.0) == {"n": 1}


def test_snapshots_are_what_dash_would_send(app):
    data = snapshots.shared("v", lambda: (html.Div("x", id="a"), pd.DataFrame({"q": [1.5, np.nan]}).to_dict("records"),
                                          datetime(2026, 1, 2, tzinfo=timezone.utc), np.float64(2.5)), 2.0)
    assert data == [{"props": {"children": "x", "id": "a"}, "type": "Div", "namespace": "dash_html_components"},
                    [{"q": 1.5}, {"q": None}], "2026-01-02T00:00:00+00:00", 2.5]


def test_each_app_keeps_its_own_snapshots(app):
    snapshots.shared("v", lambda: {"app": 1}, 60.0)
    other = Flask("other")
    other.config["COCKPIT_SETTINGS"] = SimpleNamespace(redis_url=None, extra={})
    with other.app_context():
        assert snapshots.shared("v", lambda: {"app": 2}, 60.0) == {"app": 2}


# -- Redis: two backends with their own clients stand for two web processes ------------------------------------

@pytest.fixture
def redis_pair():
    import redis

    from tests.support.services import redis_url

    url, prefix = redis_url(), f"cockpit-test-{uuid.uuid4().hex[:8]}:"
    clients = [redis.Redis.from_url(url) for _ in range(2)]
    yield [RedisBackend(c, prefix) for c in clients], clients[0], prefix
    for key in clients[0].scan_iter(match=f"{prefix}*"):
        clients[0].delete(key)


def test_redis_one_build_across_processes(app, redis_pair, monkeypatch):
    (first, second), client, prefix = redis_pair
    waiting = _count_waiters(monkeypatch, RedisBackend)
    build = Gate()
    def caller(i):  # one caller in the first process, five in the second
        return snapshots._shared(first if i == 0 else second, "v", build, 2.0)

    threads, results, errors = _in_threads(app, 6, caller)
    until(lambda: waiting["n"] == 5, 20)
    build.release.set()
    for t in threads:
        t.join(30)
    assert not errors and build.calls == 1 and results == [{"value": "v", "call": 1}] * 6
    assert sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*")) == [
        f"{prefix}snap:v:latest", f"{prefix}snap:v:v:500.0"]  # the lock is gone, keys carry the prefix


def test_redis_invalidate_reaches_the_other_process(app, redis_pair):
    (first, second), _, _ = redis_pair
    assert snapshots._shared(first, "v", lambda: {"n": 1}, 60.0) == {"n": 1}
    assert snapshots._shared(second, "v", lambda: {"n": 2}, 60.0) == {"n": 1}
    first.bump("v")
    assert snapshots._shared(second, "v", lambda: {"n": 3}, 60.0) == {"n": 3}
    assert snapshots._shared(first, "v", lambda: {"n": 4}, 60.0) == {"n": 3}


def test_redis_lock_of_a_dead_producer_expires(app, redis_pair):
    (first, second), _, _ = redis_pair
    assert first.acquire("v", "7.0", ttl=0.2) is not None  # a producer that dies without releasing
    assert second.acquire("v", "7.0", ttl=0.2) is None
    until(lambda: second.acquire("v", "7.0", ttl=5) is not None, 10)
