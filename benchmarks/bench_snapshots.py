"""Shared views: N concurrent sessions refreshing the Command Center's book, the Trading side panels
and the Risk War Room, computed per session (the callback bodies before snapshots: "direct") versus
read from the shared snapshot (one build per tick for everyone: "snapshot").

Each of N caller threads (a session) makes `--calls` refreshes back to back on the demo book
(the same data bench_risk_refresh.py seeds); we report per-refresh latency p50/p95/max and how many
builds ran. The snapshot store is this process's memory, or Redis with `--redis URL`.

    .venv/bin/python benchmarks/bench_snapshots.py                       # 1, 10, 50 callers; writes its section
    .venv/bin/python benchmarks/bench_snapshots.py --callers 4 --calls 2 --no-write   # quick look
    .venv/bin/python benchmarks/bench_snapshots.py --backend postgresql --redis redis://127.0.0.1:6379/0
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import machine, scratch_app, write_section  # noqa: E402
from benchmarks.bench_risk_refresh import seed_demo_book  # noqa: E402


def _views():
    from callbacks import command_center, risk, trading

    return {"command_center.book": (command_center.build_book, command_center.BOOK_PERIOD),
            "trading.panels": (trading.build_panels, trading.PANELS_PERIOD),
            "risk": (risk.build_risk, risk.RISK_PERIOD)}


def _run(server, callers: int, calls: int, fn) -> list[float]:
    """`callers` threads, each with its own app context (as Gunicorn threads have), `calls` refreshes each."""
    from dashapp.extensions import db

    latencies, lock, start = [], threading.Lock(), threading.Barrier(callers)

    def session():
        mine = []
        with server.app_context():
            start.wait()
            for _ in range(calls):
                began = time.perf_counter()
                fn()
                mine.append(time.perf_counter() - began)
            db.session.remove()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=session) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def _summary(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--calls", type=int, default=5, help="refreshes per caller")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--redis", default=None, help="snapshot store in this Redis (default: process memory)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    from dashapp.services import snapshots

    rows = []
    with scratch_app(args.backend) as server:
        positions = seed_demo_book()
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        if args.redis:  # settings are frozen: give this server a Redis-backed snapshot store directly
            from dashapp.services.snapshots.backends import RedisBackend

            server.extensions["cockpit_snapshots_backend"] = RedisBackend(snapshots._redis(args.redis), prefix)
        with server.test_request_context():  # warm numba, imports and caches once, outside the timings
            for build, _ in _views().values():
                build()
        for view, (build, period) in _views().items():
            for n in args.callers:
                direct = _summary(_run(server, n, args.calls, build))
                snapshots.reset_stats()
                shared = _summary(_run(server, n, args.calls, lambda: snapshots.shared(view, build, period)))
                builds = snapshots.stats().get("builds", 0)
                rows.append((view, n, direct, shared, builds))
                print(f"{view:22s} callers={n:3d} direct p50/p95/max {direct[0]:8.1f} {direct[1]:8.1f} "
                      f"{direct[2]:8.1f} ms | snapshot {shared[0]:8.1f} {shared[1]:8.1f} {shared[2]:8.1f} ms, "
                      f"{builds} builds for {n * args.calls} refreshes", flush=True)
        if args.redis:
            client = snapshots._redis(args.redis)
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
    load = os.getloadavg()
    body = "\n".join([
        f"Concurrent refreshes of the shared views, {args.calls} per caller back to back, demo book "
        f"({positions} fills), {args.backend}, snapshot store: {'Redis' if args.redis else 'process memory'}. "
        f"Command: `.venv/bin/python benchmarks/bench_snapshots.py` (options: `--backend postgresql`, "
        f"`--redis URL`). Machine: {machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}.",
        "",
        "| view | callers | direct p50 / p95 / max (ms) | snapshot p50 / p95 / max (ms) | builds / refreshes |",
        "|---|---:|---|---|---|",
        *[f"| {v} | {n} | {d[0]:.1f} / {d[1]:.1f} / {d[2]:.1f} | {s[0]:.1f} / {s[1]:.1f} / {s[2]:.1f} | "
          f"{b} / {n * args.calls} |" for v, n, d, s, b in rows],
        "",
        "Direct = every session runs the whole computation (the callbacks before D35); snapshot = one "
        "build per tick per view for everyone, the rest read it. A snapshot caller that arrives during "
        "the build waits for it (no older version yet), so the first tick's p95 is about one build.",
    ])
    if args.no_write:
        print(body)
    else:
        write_section("Shared views (snapshots)", body)


if __name__ == "__main__":
    main()
