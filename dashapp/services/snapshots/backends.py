"""Where snapshots live between callers: process memory (embedded, one web process) or Redis
(several web processes). Both hold, per view, the entry of each recent version plus the latest one
(for stale-while-revalidate), a generation counter (bumped by `invalidate`) and a build lock per
version, so that one caller builds a version and the others read it."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import redis

log = logging.getLogger(__name__)
# Compressed size above which a snapshot is logged: the views bound their own reads (time windows,
# top-N lists), so a snapshot this big means a view's bound is missing.
WARN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    version: str
    built_at: float  # wall clock of the build (seconds); all processes of a desk share the clock
    data: Any


class LocalBackend:
    """One process: entries are the decoded objects themselves (callers treat them as read-only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Entry] = {}
        self._generation: dict[str, int] = {}
        self._building: dict[tuple[str, str], threading.Event] = {}

    def generation(self, view: str) -> int:
        return self._generation.get(view, 0)

    def bump(self, view: str) -> None:
        with self._lock:
            self._generation[view] = self._generation.get(view, 0) + 1

    def read(self, view: str, version: str) -> Entry | None:
        entry = self._latest.get(view)
        return entry if entry is not None and entry.version == version else None

    def latest(self, view: str) -> Entry | None:
        return self._latest.get(view)

    def write(self, view: str, entry: Entry, ttl: float) -> None:
        with self._lock:
            current = self._latest.get(view)
            # A slow producer of an older version must not replace a newer entry.
            if current is None or current.built_at <= entry.built_at:
                self._latest[view] = entry

    def acquire(self, view: str, version: str, ttl: float) -> str | None:
        with self._lock:
            if (view, version) in self._building:
                return None
            self._building[(view, version)] = threading.Event()
            return version

    def release(self, view: str, version: str, token: str) -> None:
        with self._lock:
            done = self._building.pop((view, version), None)
        if done is not None:
            done.set()

    def wait(self, view: str, version: str, timeout: float) -> Entry | None:
        with self._lock:
            done = self._building.get((view, version))
        if done is not None:
            done.wait(timeout)
        return self.read(view, version)


class RedisBackend:
    """Several processes: zlib-compressed JSON under `<prefix>snap:<view>:...` keys. Each process
    keeps the last decoded entry per view, so a version is fetched and decoded once per process."""

    POLL_SECONDS = 0.02  # how often a waiter looks for the producer's entry (bounded by its timeout)

    def __init__(self, client: redis.Redis, prefix: str = "") -> None:
        self._client = client
        self._prefix = f"{prefix}snap:"
        self._decoded: dict[str, Entry] = {}

    def _key(self, view: str, *parts: str) -> str:
        return ":".join([self._prefix + view, *parts])

    def generation(self, view: str) -> int:
        return int(self._client.get(self._key(view, "gen")) or 0)

    def bump(self, view: str) -> None:
        self._client.incr(self._key(view, "gen"))

    def _decode(self, view: str, blob: bytes | None) -> Entry | None:
        if blob is None:
            return None
        raw = json.loads(zlib.decompress(blob))
        entry = Entry(raw["version"], raw["built_at"], raw["data"])
        known = self._decoded.get(view)
        if known is None or known.built_at <= entry.built_at:
            self._decoded[view] = entry
        return entry

    def read(self, view: str, version: str) -> Entry | None:
        known = self._decoded.get(view)
        if known is not None and known.version == version:
            return known
        return self._decode(view, self._client.get(self._key(view, "v", version)))

    def latest(self, view: str) -> Entry | None:
        return self._decode(view, self._client.get(self._key(view, "latest")))

    def write(self, view: str, entry: Entry, ttl: float) -> None:
        blob = encode_entry(entry)
        if len(blob) > WARN_BYTES:
            log.warning("snapshot %s is %d bytes compressed", view, len(blob))
        ms = max(int(ttl * 1000), 1000)
        with self._client.pipeline(transaction=False) as pipe:
            pipe.set(self._key(view, "v", entry.version), blob, px=ms)
            pipe.set(self._key(view, "latest"), blob, px=ms)
            pipe.execute()
        self._decoded[view] = entry

    def acquire(self, view: str, version: str, ttl: float) -> str | None:
        # SET NX PX: one producer per version across processes; the TTL frees the lock of a producer
        # that died mid-build, so a version is never blocked for longer than that.
        token = uuid.uuid4().hex
        if self._client.set(self._key(view, "lock", version), token, nx=True, px=max(int(ttl * 1000), 100)):
            return token
        return None

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def release(self, view: str, version: str, token: str) -> None:
        # Compare-and-delete: a producer that outlived its lock must not free someone else's.
        self._client.eval(self._RELEASE, 1, self._key(view, "lock", version), token)

    def wait(self, view: str, version: str, timeout: float) -> Entry | None:
        deadline = time.monotonic() + timeout
        lock_key = self._key(view, "lock", version)
        while True:
            entry = self.read(view, version)
            if entry is not None or time.monotonic() >= deadline:
                return entry
            if not self._client.exists(lock_key):  # the producer gave up or died: stop waiting
                return self.read(view, version)
            time.sleep(self.POLL_SECONDS)


def encode_entry(entry: Entry) -> bytes:
    return zlib.compress(json.dumps({"version": entry.version, "built_at": entry.built_at, "data": entry.data},
                                    separators=(",", ":"), allow_nan=False).encode(), 3)
