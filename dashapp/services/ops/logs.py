"""Log search over the JSON-lines files every process writes (`<instance>/logs/<process>.jsonl` and
its rotated backups `.1` .. `.N`, see dashapp/log_files.py), and a live tail with a cursor.

Files, not a database table (D68): a process never waits on the store to log, a dead database still
leaves its logs readable, and retention is the rotation's size bound. The price is that a search
reads text: it is bounded by a time window (at most `MAX_WINDOW`), a result count (`MAX_RESULTS`) and
the bytes it may scan (`MAX_SCAN_BYTES`); it says when a bound cut it short. Each file is read
backwards in blocks, so the newest lines come first and an old window costs only the bytes after it.
Lines of all processes are merged newest first. A cheap text test on the raw line runs before JSON
parsing, so a search for an id parses only the lines that mention it.
"""
from __future__ import annotations

import heapq
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pydantic

from dashapp.log_files import BACKUPS, PROCESS_NAME, logs_dir
from dashapp.services import fields
from dashapp.services.errors import ValidationError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_WINDOW = timedelta(days=7)
DEFAULT_WINDOW = timedelta(hours=1)
MAX_RESULTS = 1000
MAX_SCAN_BYTES = 256 * 1024 * 1024  # about the whole rotation of five processes (D68)
TAIL_MAX_BYTES = 1024 * 1024  # per file per poll
BLOCK = 256 * 1024
CLOCK_SLACK = timedelta(seconds=5)  # lines of one file may be this much out of order (several pids write it)
_ID = r"^[A-Za-z0-9._:@-]*$"


class LogQuery(pydantic.BaseModel):
    """What the Logs page (or a link) asks for; every field bounded."""

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)

    since: datetime | None = None
    until: datetime | None = None
    level: str = "DEBUG"
    process: str = pydantic.Field("", max_length=40, pattern=r"^[a-z0-9_-]*$")
    request_id: str = pydantic.Field("", max_length=64, pattern=_ID)
    user: str = pydantic.Field("", max_length=64, pattern=fields.NO_CONTROL)
    job_id: str = pydantic.Field("", max_length=64, pattern=_ID)
    order_id: str = pydantic.Field("", max_length=64, pattern=_ID)
    text: str = pydantic.Field("", max_length=200, pattern=fields.NO_CONTROL)
    limit: int = pydantic.Field(200, ge=1, le=MAX_RESULTS)

    @pydantic.field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = (value or "DEBUG").upper()
        if value not in LEVELS:
            raise ValueError(f"must be one of {', '.join(LEVELS)}")
        return value

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        until = _aware(self.until) or now
        since = _aware(self.since) or until - DEFAULT_WINDOW
        if since >= until:
            raise ValidationError("the window's start must be before its end", field="since")
        if until - since > MAX_WINDOW:
            raise ValidationError(f"the window may span at most {MAX_WINDOW.days} days", field="since")
        return since, until


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_query(data: dict) -> LogQuery:
    """A LogQuery from edge input (form, URL), with a ValidationError naming the first bad field."""
    try:
        return LogQuery.model_validate({k: v for k, v in data.items() if v not in (None,)})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "query"
        raise ValidationError(f"log search {name!r}: {first['msg']}", field=name) from None


def _stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Matcher:
    """The query as a test on one line: a raw-text pre-test, then the parsed fields."""

    def __init__(self, query: LogQuery, since: str, until: str):
        self.q, self.since, self.until = query, since, until
        self.min_level = LEVELS.index(query.level)
        self.needles = [v.encode() for v in (query.request_id, query.job_id, query.order_id) if v]
        self.text = query.text.lower()
        self._text = self.text.encode("utf-8")
        # JSON escapes non-ASCII text, so only an ASCII needle can be tested on the raw bytes
        self._text_raw = bool(self._text) and self._text.isascii() and '"' not in self.text and "\\" not in self.text

    def raw(self, line: bytes) -> bool:
        """A cheap test on the undecoded line that every matching line passes."""
        if not all(needle in line for needle in self.needles):
            return False
        return not self._text_raw or self._text in line.lower()

    def record(self, rec: dict) -> bool:
        q = self.q
        when = rec.get("time") or ""
        if not (self.since <= when <= self.until):
            return False
        level = str(rec.get("level", "")).upper()
        if level in LEVELS and LEVELS.index(level) < self.min_level:
            return False
        for name in ("process", "request_id", "user", "job_id", "order_id"):
            wanted = getattr(q, name)
            if wanted and str(rec.get(name) or "") != wanted:
                return False
        return not self.text or self.text in str(rec.get("message", "")).lower() or \
            self.text in str(rec.get("logger", "")).lower()


@dataclass
class SearchResult:
    rows: list[dict]
    scanned_bytes: int
    truncated: str = ""  # why the search stopped early ("" when it read the whole window)
    files: list[str] = field(default_factory=list)


def process_files(directory: Path) -> dict[str, list[Path]]:
    """process -> its files, newest first (current, .1, .2, ...); only names log_files writes."""
    found: dict[str, list[Path]] = {}
    if not directory.is_dir():
        return found
    for path in directory.glob("*.jsonl"):
        name = path.name[:-len(".jsonl")]
        if PROCESS_NAME.match(name):
            rotated = [directory / f"{path.name}.{n}" for n in range(1, BACKUPS + 20)]
            found[name] = [path] + [p for p in rotated if p.exists()]
    return found


def _blocks_backwards(path: Path, budget: list[int]) -> Iterator[tuple[bytes, list[bytes]]]:
    """(block, its whole lines newest first) from the file's end to its start, spending `budget[0]` bytes."""
    try:
        handle = open(path, "rb")
    except OSError:
        return
    with handle:
        handle.seek(0, os.SEEK_END)
        position, tail = handle.tell(), b""
        while position > 0 and budget[0] > 0:
            size = min(BLOCK, position)
            position -= size
            handle.seek(position)
            chunk = handle.read(size) + tail
            budget[0] -= size
            parts = chunk.split(b"\n")
            tail = parts[0]  # may be the end of a line that starts in the block before
            yield chunk, [part for part in reversed(parts[1:]) if part]
        if tail and position == 0:
            yield tail, [tail]


def _time(line: bytes) -> str:
    return line[10:34].decode("ascii", "replace") if line.startswith(b'{"time": "') else ""


def _stream(files: list[Path], matcher: Matcher, budget: list[int], stop_before: str) -> Iterator[tuple[str, dict]]:
    """(time, record) of one process's matching lines, newest first, until lines are older than the window."""
    for path in files:
        for block, lines in _blocks_backwards(path, budget):
            if not lines:
                continue
            if not matcher.raw(block):  # nothing in this block can match: only see whether the window ended
                if (when := _time(lines[-1])) and when < stop_before:
                    return
                continue
            for line in lines:
                when = _time(line)
                if when and when < stop_before:
                    return
                if not matcher.raw(line):
                    continue
                try:
                    rec = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if isinstance(rec, dict) and matcher.record(rec):
                    yield rec.get("time", ""), rec


def search(instance_dir: Path | str, query: LogQuery, now: datetime | None = None,
           max_scan_bytes: int = MAX_SCAN_BYTES) -> SearchResult:
    """Matching lines of every process, newest first, within the query's bounds."""
    since, until = query.window(now or datetime.now(timezone.utc))
    matcher = Matcher(query, _stamp(since), _stamp(until))
    files = process_files(logs_dir(instance_dir))
    if query.process:
        files = {query.process: files.get(query.process, [])}
    budget = [max_scan_bytes]
    stop_before = _stamp(since - CLOCK_SLACK)
    streams = [_stream(paths, matcher, budget, stop_before) for paths in files.values()]
    rows: list[dict] = []
    for _, rec in heapq.merge(*streams, key=lambda item: item[0], reverse=True):
        rows.append(rec)
        if len(rows) >= query.limit:
            break
    truncated = ""
    if len(rows) >= query.limit:
        truncated = f"showing the newest {query.limit} matching lines; narrow the search for older ones"
    elif budget[0] <= 0:
        truncated = f"stopped after scanning {max_scan_bytes // (1024 * 1024)} MB; narrow the time window"
    return SearchResult(rows, max_scan_bytes - budget[0], truncated, sorted(files))


# --- live tail ---------------------------------------------------------------------------------

_CURSOR = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def tail(instance_dir: Path | str, query: LogQuery, cursor: dict | None, limit: int = 200) -> tuple[list[dict], dict]:
    """Lines written since `cursor` ({process: [inode, offset]}) that match `query` (its time window
    is ignored: a tail is "from now on"), newest first, and the next cursor. With no cursor it starts
    at the end of each file. A file rotated since the cursor is read on from the same offset in its
    backup, then the new file from the start. Only filtered lines leave the server."""
    matcher = Matcher(query.model_copy(update={"since": None, "until": None}), "", "~")
    files = process_files(logs_dir(instance_dir))
    if query.process:
        files = {query.process: files.get(query.process, [])}
    clean = {k: v for k, v in (cursor or {}).items() if isinstance(k, str) and _CURSOR.match(k) and
             isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) and x >= 0 for x in v)}
    rows: list[dict] = []
    nxt: dict = {}
    for name, paths in files.items():
        try:
            stat = paths[0].stat()
        except OSError:
            continue
        if cursor is None:  # the first poll starts at the end of every file
            nxt[name] = [stat.st_ino, stat.st_size]
            continue
        inode, offset = clean.get(name, (stat.st_ino, 0))  # a file new since the cursor: from its start
        if inode != stat.st_ino:  # rotated since: finish the old file where it lives now
            old = next((p for p in paths[1:] if _inode(p) == inode), None)
            if old is not None:
                rows += _read_from(old, offset, matcher)[0]
            offset = 0
        if offset > stat.st_size:  # truncated under us
            offset = 0
        found, end = _read_from(paths[0], offset, matcher)
        rows += found
        nxt[name] = [stat.st_ino, end]
    rows.sort(key=lambda r: r.get("time", ""), reverse=True)
    return rows[:limit], nxt


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _read_from(path: Path, offset: int, matcher: Matcher) -> tuple[list[dict], int]:
    """Whole lines after `offset` (at most TAIL_MAX_BYTES) that match, and the offset after the last one."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(TAIL_MAX_BYTES)
    except OSError:
        return [], offset
    complete = data.rfind(b"\n") + 1  # a half-written last line waits for the next poll
    rows = []
    for line in data[:complete].split(b"\n"):
        if not line or not matcher.raw(line):
            continue
        try:
            rec = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(rec, dict) and matcher.record(rec):
            rows.append(rec)
    return rows, offset + complete


COLUMNS = ("time", "level", "process", "request_id", "user", "job_id", "order_id", "logger", "message")


def grid_row(rec: dict) -> dict:
    """One grid row: the fixed columns, strings bounded (a message is cut at 2000 characters)."""
    row = {name: ("" if rec.get(name) is None else str(rec.get(name)))[:2000 if name == "message" else 128]
           for name in COLUMNS}
    row["time"] = row["time"].replace("T", " ").rstrip("Z")
    extra = {key: value for key, value in rec.items() if key not in COLUMNS and value not in (None, "")}
    row["extra"] = json.dumps(extra, default=str)[:2000] if extra else ""
    return row
