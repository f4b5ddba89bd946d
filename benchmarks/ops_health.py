"""Cost of the Operations console's reads: one health snapshot (every heartbeat row, database probe and
pool, slow queries, broker probe and queue depth, task rates) and one /metrics scrape (the snapshot,
the SLO status over 3 days of per-minute samples, task-run totals, the process's own metrics), each
built cold (per-process caches emptied), on SQLite and PostgreSQL with the embedded filesystem broker.

Store: 12 process heartbeats, 20,000 task runs (a day of a busy desk: beat's 5-second risk tick alone
is 17,280), 6 SLOs x 3 days of per-minute samples (25,920 rows) plus 27 more days summed for the budget.

    .venv/bin/python benchmarks/ops_health.py [--repeat 15]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import machine, scratch_app  # noqa: E402


def seed() -> None:
    import sqlalchemy as sa

    from dashapp.extensions import db
    from dashapp.services.ops import heartbeats, slo
    from models import TaskRun, utcnow

    for i in range(12):
        service = ("web", "worker", "beat", "engine-supervisor")[i % 4]
        heartbeats.record(service, f"{service}-{i}@bench", {"queues": ["default", "jobs"], "push_connections": 3,
                                                            "latency": [{"method": "GET", "endpoint": "/x", "count": 5,
                                                                         "p50_ms": 10, "p95_ms": 50}]})
    now = utcnow()
    names = ("workers.tasks.monitor_risk", "workers.tasks.run_job", "workers.tasks.reap_stale_jobs")
    rows = [{"task_id": f"bench-{i}", "name": names[i % 3], "queue": "default", "worker": "w@bench", "args": "{}",
             "state": "failed" if i % 50 == 0 else "succeeded", "retries": 0,
             "started_at": now - timedelta(seconds=4.3 * i), "finished_at": now - timedelta(seconds=4.3 * i - 0.05),
             "runtime_s": 0.05} for i in range(20_000)]
    db.session.execute(sa.insert(TaskRun), rows)
    db.session.commit()
    minute = now.replace(second=0, microsecond=0)
    samples = [(s.key, minute - timedelta(minutes=m), 59, 60) for s in slo.SLOS for m in range(3 * 1440)]
    samples += [(s.key, minute - timedelta(days=d), 80_000, 80_100) for s in slo.SLOS for d in range(4, 31)]
    for start in range(0, len(samples), 5000):
        slo.add_counts(samples[start:start + 5000])


def cold(fn):
    from dashapp.services.ops import health, slo

    health._cache.clear()
    slo._status_cache.clear()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(backend: str, repeat: int) -> dict:
    from prometheus_client import generate_latest

    from dashapp.observability import REGISTRY
    from dashapp.services.ops import health

    with scratch_app(backend):
        seed()
        health.build()  # warm: imports, numba kernels loaded from cache, broker folders
        generate_latest(REGISTRY)
        snap = [cold(health.build) for _ in range(repeat)]
        scrape = [cold(lambda: generate_latest(REGISTRY)) for _ in range(repeat)]
        size = len(generate_latest(REGISTRY))
    return {"snapshot": statistics.median(snap) * 1000, "snapshot_p90": sorted(snap)[int(0.9 * (repeat - 1))] * 1000,
            "scrape": statistics.median(scrape) * 1000, "scrape_p90": sorted(scrape)[int(0.9 * (repeat - 1))] * 1000,
            "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    import os

    print(f"machine: {machine()}; load average at start: {os.getloadavg()[0]:.1f}")
    print("| Database | Health snapshot, median (p90) | /metrics scrape, median (p90) | Scrape size |")
    print("| --- | --: | --: | --: |")
    for backend in ("sqlite", "postgresql"):
        r = measure(backend, args.repeat)
        print(f"| {backend} | {r['snapshot']:.1f} ms ({r['snapshot_p90']:.1f}) | {r['scrape']:.1f} ms "
              f"({r['scrape_p90']:.1f}) | {r['bytes'] / 1024:.1f} KiB |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
