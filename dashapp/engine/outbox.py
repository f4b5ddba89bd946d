"""The engine's report outbox: every report is written to disk first, then delivered in order.

A tick's reports go into one SQLite transaction (WAL, synchronous=FULL: on disk when `append`
returns), and `flush` posts them oldest first, deleting each row only after the cockpit stored it.
So a kill -9 at any point loses nothing that was appended, and a report the cockpit stored just
before the kill is sent again on restart; ingest stores repeats once, so that is harmless.

Delivery never raises for the cockpit's sake:
- no connection, a timeout, 5xx, 408/425/429: the row stays, and the next attempt waits an
  exponential backoff with jitter (at least the server's Retry-After);
- 401/403: the engine's token is refused, not the report: kept and retried at the longest backoff;
- any other 4xx: the report itself is wrong and would be refused for ever. It moves to
  `dead-letters.jsonl` beside the outbox (with the server's answer), a warning is logged, and
  delivery goes on with the next row. Nothing is dropped silently: the file is the record.
"""
from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dashapp.client import CockpitUnavailable, IngestRefused

log = logging.getLogger("cockpit.engine.outbox")
CREDENTIAL_REFUSED = (401, 403)
CHUNK = 5000  # items per request, as CockpitClient.batch_size


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th retry in a row: half of min(cap, base * 2**(n-1)) fixed plus up to the
    same again at random ("equal jitter": engines that failed together do not retry together, and
    no delay collapses to zero), never less than the server's Retry-After."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(failures - 1, 0))
        jittered = ceiling / 2 + (rng or random).uniform(0.0, ceiling / 2)
        return max(jittered, retry_after or 0.0)


@dataclass(frozen=True)
class FlushResult:
    sent: int  # rows delivered this call
    dead: int  # rows moved to the dead-letter file this call
    pending: int  # rows still waiting
    waiting: float  # seconds until the next attempt is allowed (0 when nothing waits)


class ReportOutbox:
    """`path=None` keeps the outbox in memory (tests that run engines in threads); production
    engines keep it under `<instance>/engine/<engine_id>/`."""

    def __init__(self, path: Path | None, backoff: Backoff = Backoff(), clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None):
        self.path = path
        self.dead_letter_path = path.parent / "dead-letters.jsonl" if path is not None else None
        self.backoff, self.clock, self.rng = backoff, clock, rng or random.Random()
        self.failures = 0
        self.not_before = 0.0
        self.dead_in_memory: list[dict] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are the explicit BEGIN/COMMIT below, nothing implicit.
        self.db = sqlite3.connect(str(path) if path is not None else ":memory:", isolation_level=None,
                                  check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                        " body TEXT NOT NULL, appended_at REAL NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    # --- writing ---------------------------------------------------------------------------
    def append(self, batches, last_seq: int | None = None) -> int:
        """Store [(kind, items), ...] in this order as one transaction; with `last_seq`, the
        engine's id sequence high-water mark in the same transaction. Returns rows written."""
        rows = [(kind, json.dumps(items[start:start + CHUNK], separators=(",", ":")), time.time())
                for kind, items in batches if items for start in range(0, len(items), CHUNK)]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO outbox (kind, body, appended_at) VALUES (?, ?, ?)", rows)
            if last_seq is not None:
                self.db.execute("INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE "
                                "SET value = max(value, excluded.value)", (int(last_seq),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return len(rows)

    # --- reading ---------------------------------------------------------------------------
    def pending(self) -> int:
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def last_seq(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        return int(row[0]) if row else 0

    def peek(self, limit: int = 1000) -> list[tuple[str, list[dict]]]:
        return [(kind, json.loads(body)) for kind, body in
                self.db.execute("SELECT kind, body FROM outbox ORDER BY id LIMIT ?", (limit,))]

    def dead_letters(self) -> list[dict]:
        if self.dead_letter_path is None:
            return list(self.dead_in_memory)
        if not self.dead_letter_path.exists():
            return []
        return [json.loads(line) for line in self.dead_letter_path.read_text().splitlines() if line.strip()]

    # --- delivering ------------------------------------------------------------------------
    def flush(self, post: Callable[[str, list[dict]], dict], max_rows: int | None = None) -> FlushResult:
        """Deliver waiting rows oldest first with `post(kind, items)` until the outbox is empty, a
        delivery fails (then wait the backoff), or `max_rows` were tried. Never raises for an HTTP
        or connection error."""
        sent = dead = 0
        now = self.clock()
        if now < self.not_before:
            return FlushResult(0, 0, self.pending(), self.not_before - now)
        while max_rows is None or sent + dead < max_rows:
            row = self.db.execute("SELECT id, kind, body FROM outbox ORDER BY id LIMIT 1").fetchone()
            if row is None:
                break
            row_id, kind, body = row
            try:
                post(kind, json.loads(body))
            except CockpitUnavailable as exc:
                return self._failed(sent, dead, exc.retry_after, f"{kind}: {exc}")
            except IngestRefused as exc:
                if exc.status in CREDENTIAL_REFUSED:
                    self.failures = max(self.failures, 64)  # the longest backoff: a person must fix the token
                    return self._failed(sent, dead, None, f"{kind}: token refused ({exc})")
                self._dead_letter(row_id, kind, body, exc)
                dead += 1
                continue
            self.db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            self.failures, self.not_before = 0, 0.0
            sent += 1
        return FlushResult(sent, dead, self.pending(), 0.0)

    def _failed(self, sent: int, dead: int, retry_after: float | None, why: str) -> FlushResult:
        self.failures += 1
        wait = self.backoff.delay(self.failures, retry_after, self.rng)
        self.not_before = self.clock() + wait
        pending = self.pending()
        log.warning("cockpit did not take a report (%s); %d batch(es) kept on disk, next try in %.1f s",
                    why, pending, wait)
        return FlushResult(sent, dead, pending, wait)

    def _dead_letter(self, row_id: int, kind: str, body: str, exc: IngestRefused) -> None:
        record = {"kind": kind, "status": exc.status, "answer": exc.body, "items": json.loads(body),
                  "dead_at": time.time()}
        log.error("cockpit refused a %s batch (HTTP %s: %s): moved to the dead-letter file, not retried",
                  kind, exc.status, exc.body.get("message", ""))
        if self.dead_letter_path is None:
            self.dead_in_memory.append(record)
        else:
            # Appended and synced before the row leaves the outbox: a kill between the two repeats
            # the dead letter, never loses it.
            with open(self.dead_letter_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, separators=(",", ":")) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        self.db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    def close(self) -> None:
        self.db.close()
