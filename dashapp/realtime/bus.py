"""The event bus. With REDIS_URL: Redis pub/sub, so every web process (and the worker and engine)
reaches every open page. Without it: an in-process fan-out, which is all one web process needs
(the embedded default runs a single Gunicorn process); pages also poll, so nothing is missed.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time

from flask import current_app, has_app_context

log = logging.getLogger(__name__)
CHANNEL = "cockpit.events"

_local_subscribers: set[queue.Queue] = set()
_lock = threading.Lock()
_redis_clients: dict[str, object] = {}


def _redis_url() -> str | None:
    if not has_app_context():
        return None
    return current_app.config["COCKPIT_SETTINGS"].redis_url


def _redis(url: str):
    import redis

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return client


def publish(topic: str, data: dict) -> None:
    """Fire and forget: a failed publish is logged, never raised (the store already has the truth)."""
    message = {"topic": topic, "data": data, "ts": time.time()}
    url = _redis_url()
    if url:
        try:
            _redis(url).publish(CHANNEL, json.dumps(message, default=str))
            return
        except Exception:
            log.warning("redis publish failed; delivering in-process only", exc_info=True)
    _deliver_local(message)


def _deliver_local(message: dict) -> None:
    with _lock:
        targets = list(_local_subscribers)
    for q in targets:
        try:
            q.put_nowait(message)
        except queue.Full:
            pass  # a slow page drops events; it re-reads the store on its next poll


class Subscription:
    """Iterate messages with `get(timeout)`; close() when done."""

    def __init__(self, redis_url: str | None):
        self._queue: queue.Queue = queue.Queue(maxsize=1000)
        self._pubsub = None
        if redis_url:
            try:
                self._pubsub = _redis(redis_url).pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(CHANNEL)
            except Exception:
                log.warning("redis subscribe failed; falling back to in-process events", exc_info=True)
                self._pubsub = None
        with _lock:
            _local_subscribers.add(self._queue)

    def get(self, timeout: float = 1.0) -> dict | None:
        if self._pubsub is not None:
            raw = self._pubsub.get_message(timeout=timeout)
            if raw and raw.get("type") == "message":
                return json.loads(raw["data"])
        try:
            return self._queue.get(timeout=0 if self._pubsub is not None else timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        with _lock:
            _local_subscribers.discard(self._queue)
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                pass


def subscribe() -> Subscription:
    return Subscription(_redis_url())
