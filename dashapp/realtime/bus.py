"""The event bus. With REDIS_URL: Redis pub/sub, so every web process (and the worker and engine)
reaches every open page. Without it: an in-process fan-out, which is all one web process needs
(the embedded default runs a single Gunicorn process); pages also poll, so nothing is missed.

A web process holds ONE Redis subscription, however many pages it streams to: a listener thread
copies each message into the bounded queue of every open stream in the process. (One Redis
connection per open stream cost a connection and a socket read per page, and a Redis restart broke
every stream at once.) The listener reconnects by itself with a bounded backoff after a Redis
outage; meanwhile publishes from this process still reach its own pages, and pages poll.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time

from flask import current_app, has_app_context

log = logging.getLogger(__name__)
CHANNEL = "cockpit.events"
# Every Redis call from the web tier is bounded: a stuck Redis answers an error in seconds, never hangs a thread.
REDIS_TIMEOUT_SECONDS = 2.0
SUBSCRIBE_WAIT_SECONDS = 2.0  # a new stream waits this long at most for the listener to be subscribed
QUEUE_SIZE = 1000

_local_subscribers: set[queue.Queue] = set()
_lock = threading.Lock()
_redis_clients: dict[str, object] = {}
_listeners: dict[tuple[str, str], "_RedisListener"] = {}


def _redis_url() -> str | None:
    if not has_app_context():
        return None
    return current_app.config["COCKPIT_SETTINGS"].redis_url


def _channel() -> str:
    """CHANNEL behind the deployment's Redis key prefix (the one Celery and the rate limiter use), so
    cockpits or test runs sharing one Redis do not see each other's events."""
    extra = current_app.config["COCKPIT_SETTINGS"].extra if has_app_context() else {}
    return f"{extra.get('redis_key_prefix') or os.environ.get('COCKPIT_REDIS_KEY_PREFIX') or ''}{CHANNEL}"


def _redis(url: str):
    import redis

    with _lock:
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = redis.Redis.from_url(
                url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                health_check_interval=15)
    return client


def publish(topic: str, data: dict) -> None:
    """Fire and forget: a failed publish is logged, never raised (the store already has the truth)."""
    message = {"topic": topic, "data": data, "ts": time.time()}
    url = _redis_url()
    if url:
        try:
            _redis(url).publish(_channel(), json.dumps(message, default=str))
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


class _RedisListener(threading.Thread):
    """The process's one subscription to CHANNEL on one Redis; fans messages out to local streams."""

    def __init__(self, url: str, channel: str):
        super().__init__(name="cockpit-bus-listener", daemon=True)
        self.url, self.channel = url, channel
        self.subscribed = threading.Event()

    def run(self) -> None:
        backoff = 0.5
        while True:
            pubsub = None
            try:
                pubsub = _redis(self.url).pubsub()
                pubsub.subscribe(self.channel)
                while True:
                    raw = pubsub.get_message(timeout=1.0)
                    if raw is None:
                        continue
                    if raw.get("type") == "subscribe":
                        self.subscribed.set()  # from here on, nothing published is missed
                        backoff = 0.5
                    elif raw.get("type") == "message":
                        _deliver_local(json.loads(raw["data"]))
            except Exception as exc:
                if self.subscribed.is_set() or backoff == 0.5:  # once per outage, not at every retry
                    log.warning("redis subscription lost (%s); reconnecting with backoff up to 5 s", exc)
                else:
                    log.debug("redis still unavailable: %s", exc)
                self.subscribed.clear()
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass
            time.sleep(backoff)  # bounded: a Redis restart is picked up within 5 s of its return
            backoff = min(backoff * 2, 5.0)


def _listener(url: str, channel: str) -> _RedisListener:
    with _lock:
        listener = _listeners.get((url, channel))
        if listener is None or not listener.is_alive():
            listener = _listeners[(url, channel)] = _RedisListener(url, channel)
            listener.start()
    return listener


class Subscription:
    """Iterate messages with `get(timeout)`; close() when done (idempotent)."""

    def __init__(self, redis_url: str | None, channel: str = CHANNEL):
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        with _lock:
            _local_subscribers.add(self._queue)
        if redis_url:
            # Bounded: with Redis down the stream opens at once on in-process events and catches up later.
            _listener(redis_url, channel).subscribed.wait(SUBSCRIBE_WAIT_SECONDS)

    def get(self, timeout: float = 1.0) -> dict | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        with _lock:
            _local_subscribers.discard(self._queue)


def subscribe() -> Subscription:
    return Subscription(_redis_url(), _channel())


def open_subscriptions() -> int:
    """How many streams of this process are subscribed (for tests and the capacity gauge)."""
    with _lock:
        return len(_local_subscribers)
