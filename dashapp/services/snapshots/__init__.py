"""Shared views: what many sessions watch (Command Center, Trading side panels, Risk War Room) is
computed once per tick for everyone, not once per session.

`shared(view, build, period)` returns the snapshot of `view` for the current version, where the
version is the tick `floor(now / period)` plus a generation that `invalidate(view)` bumps (a control
action or a saved limit shows at once, not at the next tick). Single flight: the first caller of a
version takes the build lock (a threading lock in-process, SET NX PX on Redis across processes) and
builds; the others read the previous version while it is fresh enough (stale-while-revalidate) or
wait for the new one. So N sessions cost one build per tick, never N.

The snapshot is the JSON form Dash itself would send (plotly's encoder: figures, components, NumPy,
timestamps), so every backend returns the same plain data and a callback returns it as is. `build`
runs in whichever session's request comes first: it must not depend on the user (filter per user
after reading). Callers must not mutate what they get (in-process it is the shared object).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from typing import Any, Callable

import redis
from flask import current_app
from plotly.io.json import to_json_plotly

from dashapp.services.snapshots.backends import Entry, LocalBackend, RedisBackend

log = logging.getLogger(__name__)

clock: Callable[[], float] = time.time  # wall clock, shared by every process of a desk; tests replace it
LOCK_SECONDS = 15.0  # longest a build may hold its lock (and a waiter may wait) before others step in
MIN_STALE_SECONDS = 5.0  # a previous version younger than this (or 3 periods) is served during a build

_stats: Counter = Counter()  # this process: builds, hits, stale, waited, fallback, redis_errors
_stats_lock = threading.Lock()
_redis_clients: dict[str, redis.Redis] = {}


def shared(view: str, build: Callable[[], Any], period: float) -> Any:
    """The current snapshot of `view` (built by `build` at most once per version)."""
    backend = _backend()
    try:
        return _shared(backend, view, build, period)
    except redis.RedisError:
        # Redis down: keep serving from this process's memory (still one build per tick per process).
        log.warning("snapshot store unreachable; using process memory for %s", view, exc_info=True)
        _count("redis_errors")
        return _shared(_local(), view, build, period)


def invalidate(view: str) -> None:
    """Start a new version of `view` now (after a write its viewers must see at once)."""
    backend = _backend()
    try:
        backend.bump(view)
    except redis.RedisError:
        log.warning("snapshot store unreachable; %s invalidated in this process only", view, exc_info=True)
    if backend is not _local():
        _local().bump(view)


def stats() -> dict[str, int]:
    with _stats_lock:
        return dict(_stats)


def reset_stats() -> None:
    with _stats_lock:
        _stats.clear()


def _shared(backend, view: str, build: Callable[[], Any], period: float) -> Any:
    version = f"{int(clock() // period)}.{backend.generation(view)}"
    entry = backend.read(view, version)
    if entry is not None:
        _count("hits")
        return entry.data
    token = backend.acquire(view, version, LOCK_SECONDS)
    if token is not None:
        try:
            entry = backend.read(view, version)  # built by someone between our read and our lock
            if entry is None:
                entry = _build(view, version, build)
                backend.write(view, entry, ttl=max(3 * period, MIN_STALE_SECONDS) + period)
            return entry.data
        finally:
            backend.release(view, version, token)
    previous = backend.latest(view)
    if previous is not None and clock() - previous.built_at <= max(3 * period, MIN_STALE_SECONDS):
        _count("stale")
        return previous.data
    entry = backend.wait(view, version, LOCK_SECONDS)
    if entry is not None:
        _count("waited")
        return entry.data
    # The producer died or is stuck past its lock: answer this caller rather than hang it.
    log.warning("snapshot %s version %s not built within %.0f s; building for this caller", view, version,
                LOCK_SECONDS)
    _count("fallback")
    return _build(view, version, build).data


def _build(view: str, version: str, build: Callable[[], Any]) -> Entry:
    started = clock()
    data = json.loads(to_json_plotly(build()))
    _count("builds")
    return Entry(version, started, data)


def _count(what: str) -> None:
    with _stats_lock:
        _stats[what] += 1


def _local() -> LocalBackend:
    return current_app.extensions.setdefault("cockpit_snapshots", LocalBackend())


def _backend():
    """Redis when the deployment has one (all web processes share it), else this app's memory."""
    app = current_app
    backend = app.extensions.get("cockpit_snapshots_backend")
    if backend is None:
        settings = app.config["COCKPIT_SETTINGS"]
        if settings.redis_url:
            # The deployment's key prefix (as Celery and the login limiter use): desks sharing a Redis keep apart.
            prefix = str(settings.extra.get("redis_key_prefix") or os.environ.get("COCKPIT_REDIS_KEY_PREFIX") or "")
            backend = RedisBackend(_redis(settings.redis_url), prefix)
        else:
            backend = _local()
        app.extensions["cockpit_snapshots_backend"] = backend
    return backend


def _redis(url: str) -> redis.Redis:
    client = _redis_clients.get(url)
    if client is None:
        # Short timeouts: a page read must never hang on the cache; it falls back to memory instead.
        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return client
