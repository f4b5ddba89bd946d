"""Log search over the JSON-lines files (dashapp/services/ops/logs.py) and the caller's cost of a log line.

Writes a full rotation's worth of lines for three processes (web, worker, engine: each its current file plus
4 backups of 10 MB, ~150 MB and ~600,000 lines in all, one hour of history) through the real formatter, then
times searches: the newest 200 lines, a request id from the middle of the hour, a job id near the start of
the hour (the whole window read, up to the 64 MB bound), a text search, and a live-tail poll. Then the time a
`logger.info` call costs the calling thread with the file sink on (queue) against a plain stderr handler.

    .venv/bin/python benchmarks/bench_log_search.py [--mb-per-process 50]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashapp import log_files  # noqa: E402
from dashapp.services.ops import logs  # noqa: E402


def _line(when: datetime, process: str, n: int) -> str:
    return json.dumps({"time": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "level": "INFO", "process": process,
                       "logger": "cockpit.access", "message": f"GET /trading 200 line {n}",
                       "request_id": f"req-{process}-{n:08d}", "user": "trader1", "job_id": None,
                       "order_id": None, "pid": 4242, "method": "GET", "path": "/trading", "status": 200,
                       "ms": 12.5})


def write_history(folder: Path, mb_per_process: int, now: datetime) -> dict:
    """Per process: `mb_per_process` MB spread over the last hour, in the current file and 4 backups."""
    sizes = {}
    for process in ("web", "worker", "engine"):
        sample = len(_line(now, process, 0)) + 1
        total = mb_per_process * 1024 * 1024 // sample
        per_file = total // (log_files.BACKUPS + 1)
        n = 0
        for index in range(log_files.BACKUPS, -1, -1):  # oldest backup first
            path = folder / (f"{process}.jsonl" + (f".{index}" if index else ""))
            with open(path, "w") as handle:
                for _ in range(per_file):
                    when = now - timedelta(seconds=3600 * (1 - n / total))
                    handle.write(_line(when, process, n) + "\n")
                    n += 1
        sizes[process] = n
    return sizes


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def caller_cost(instance: Path, n: int = 20000) -> dict:
    logger = logging.getLogger("bench.caller")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    results = {}
    with open(os.devnull, "w") as sink:
        plain = logging.StreamHandler(sink)
        plain.setFormatter(log_files.LineFormatter("bench"))
        for name, handler in (("stderr-like handler (format + write in the caller)", plain),
                              ("file sink (queue; writer thread formats and writes)",
                               log_files.file_handler(instance, "bench"))):
            logger.handlers[:] = [handler]
            started = time.perf_counter()
            for i in range(n):
                logger.info("order %s reported %s", i, "filled", extra={"order_id": f"o-{i}"})
            results[name] = (time.perf_counter() - started) / n * 1e6
            log_files.flush()
    log_files.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb-per-process", type=int, default=50)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as scratch:
        instance = Path(scratch)
        folder = log_files.logs_dir(instance)
        folder.mkdir()
        counts = write_history(folder, args.mb_per_process, now)
        total_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1024 / 1024
        middle = counts["web"] // 2
        cases = [
            ("newest 200 lines, no filter, last hour", {"limit": 200}),
            ("request id from the middle of the hour (web)", {"request_id": f"req-web-{middle:08d}"}),
            ("request id from the hour's first minute (worker)", {"request_id": "req-worker-00000100"}),
            ("text 'line 123456', level INFO, last hour", {"text": "line 123456", "level": "INFO"}),
            ("process=engine, last 15 minutes, 1000 lines", {"process": "engine", "limit": 1000,
                                                              "since": now - timedelta(minutes=15)}),
        ]
        print(f"load average: {os.getloadavg()[0]:.2f}; {sum(counts.values()):,} lines, {total_mb:.0f} MB in "
              f"{len(list(folder.iterdir()))} files")
        print("| search | median s | lines found | MB read | cut short |")
        print("|---|---:|---:|---:|---|")
        for label, query in cases:
            q = logs.parse_query({"since": now - timedelta(hours=1), "until": now + timedelta(seconds=1), **query})
            seconds, result = timed(lambda: logs.search(instance, q, now=now))
            print(f"| {label} | {seconds:.3f} | {len(result.rows)} | {result.scanned_bytes / 1024 / 1024:.1f} | "
                  f"{result.truncated or '-'} |")
        query = logs.parse_query({"request_id": "nothing-like-this"})
        _, cursor = logs.tail(instance, query, None)
        with open(folder / "web.jsonl", "a") as handle:
            for i in range(2000):
                handle.write(_line(now, "web", 10**8 + i) + "\n")
        seconds, (rows, _) = timed(lambda: logs.tail(instance, query, cursor), repeat=5)
        print(f"| live-tail poll over 2,000 new lines (none matching) | {seconds:.4f} | {len(rows)} | - | - |")
        print()
        for name, micros in caller_cost(instance).items():
            print(f"caller cost per log line, {name}: {micros:.1f} µs")


if __name__ == "__main__":
    main()
