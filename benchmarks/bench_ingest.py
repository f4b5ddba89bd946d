"""Ingest throughput (events/s, batched) on SQLite and PostgreSQL, and the propagation latency
from an ingest call to an open browser push stream (p50/p95).

    .venv/bin/python benchmarks/bench_ingest.py                  # rewrites the "Ingest" section of docs/BENCHMARKS.md
    .venv/bin/python benchmarks/bench_ingest.py --rounds 1 --no-write   # quick look, print only

Throughput is measured through the service the REST endpoint calls (validation + reference
resolution + the atomic write) and through the HTTP endpoint itself (JSON, token auth included)
with Flask's in-process client, so no socket noise. Batches are 5,000 items by default: what the
engine client (`CockpitClient.batch_size`) sends per request when it has that much to report; the
endpoint takes at most 20,000. Rounds are interleaved (service, http, next kind, ...) so noise on a
shared machine hits every cell alike; each cell reports the median and the best round. Targets
(issue 3): 50,000 events/s into PostgreSQL; p95 propagation under 250 ms."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import machine, scratch_app, write_section  # noqa: E402

BATCH = 5000
BATCHES = 12
SWEEP = (100, 1000, 5000, 20_000)  # batch sizes for the PostgreSQL quotes sweep
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SYMBOLS = [f"SYM{i}" for i in range(50)]


def reference(send):
    send("accounts", [{"code": "A1"}])
    send("venues", [{"code": "V1"}])
    send("strategies", [{"code": "S1", "account": "A1"}])
    send("instruments", [{"symbol": s, "asset_class": "equity"} for s in SYMBOLS])


# Each batch number gives distinct keys (one second of timestamps each, items a microsecond apart), so
# every timed item is new; main() gives every cell its own range of batch numbers. Seconds, not hours:
# stamps must stay inside the accepted window (not after the server's clock; DECISIONS D23).
def quotes(batch_no: int, size: int = BATCH) -> list[dict]:
    base = T0 + timedelta(seconds=batch_no)
    return [{"instrument": SYMBOLS[i % 50], "ts": (base + timedelta(microseconds=i)).isoformat(),
             "bid": 100.0 + (i % 7) * 0.01, "ask": 100.02 + (i % 7) * 0.01} for i in range(size)]


def signals(batch_no: int, size: int = BATCH) -> list[dict]:
    base = T0 + timedelta(seconds=batch_no)
    return [{"signal_id": f"s{batch_no}-{i}", "strategy": "S1", "instrument": SYMBOLS[i % 50],
             "ts": (base + timedelta(microseconds=i)).isoformat(), "direction": (i % 3) - 1, "confidence": 0.5}
            for i in range(size)]


def orders(batch_no: int, size: int = BATCH) -> list[dict]:
    base = T0 + timedelta(seconds=batch_no)
    return [{"client_order_id": f"o{batch_no}-{i}", "strategy": "S1", "instrument": SYMBOLS[i % 50], "venue": "V1",
             "side": "buy" if i % 2 else "sell", "quantity": 100, "status": "new",
             "created_at": (base + timedelta(microseconds=i)).isoformat(), "arrival_mid": 100.0}
            for i in range(size)]


KINDS = (("quotes", quotes), ("signals", signals), ("orders", orders))


def service_rate(kind: str, make, first: int, size: int = BATCH, batches: int = BATCHES,
                 cpu: dict | None = None) -> float:
    """Events/s through `ingest_batch`. With `cpu`, also appends the CPU time per event of this
    process and of the PostgreSQL backend serving it (noise from other work barely moves those)."""
    from dashapp.services.ingest import ingest_batch

    payloads = [make(first + b, size) for b in range(batches)]
    backend = _backend_pid(fresh=cpu is not None)
    server_before, python_before = _cpu_seconds(backend), time.process_time()
    start = time.perf_counter()
    stored = sum(ingest_batch(kind, "bench", p).stored for p in payloads)
    elapsed = time.perf_counter() - start
    assert stored == size * batches, f"{kind}: stored {stored}"
    if cpu is not None:
        cpu.setdefault("python", []).append((time.process_time() - python_before) / stored * 1e6)
        server_after = _cpu_seconds(backend)
        if server_before is not None and server_after is not None and _backend_pid() == backend:
            cpu.setdefault("server", []).append((server_after - server_before) / stored * 1e6)
    return stored / elapsed


def _backend_pid(fresh: bool = False) -> int | None:
    """The PostgreSQL backend serving this session. `fresh` first empties the connection pool, so
    the timed batches all run on the one connection opened here."""
    from dashapp.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return None
    if fresh:
        db.session.remove()
        db.engine.dispose()
    pid = db.session.execute(db.text("SELECT pg_backend_pid()")).scalar()
    db.session.commit()
    return pid


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of a local process (the database server runs on this machine here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bench_token(name: str) -> str:
    from dashapp.services import tokens, users

    user = users.find_by_username("bench") or users.create_user("bench", "bench", "Strong-Pass-987!", "trader")
    return tokens.create_token("bench", user.id, name, ["bench"])[1]


def http_rate(server, kind: str, make, first: int, secret: str) -> float:
    client = server.test_client()
    bodies = [json.dumps({"engine_id": "bench", "items": make(first + b)}) for b in range(BATCHES)]
    start = time.perf_counter()
    for body in bodies:
        response = client.post(f"/api/v1/ingest/{kind}", data=body, content_type="application/json",
                               headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.json["stored"] == BATCH
    return BATCH * BATCHES / (time.perf_counter() - start)


def concurrent_rate(server, first: int, streams: int = 2) -> float:
    """Several engines sending quotes at once (one thread and database connection each, as Gunicorn's
    threads serve them): the total stored per second."""
    from dashapp.extensions import db
    from dashapp.services.ingest import ingest_batch

    payloads = [[quotes(first + 100 * s + b) for b in range(BATCHES)] for s in range(streams)]
    barrier = threading.Barrier(streams + 1)

    def engine(batches):
        with server.app_context():
            barrier.wait()
            for p in batches:
                ingest_batch("quotes", "bench", p)
            db.session.remove()

    threads = [threading.Thread(target=engine, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return streams * BATCH * BATCHES / (time.perf_counter() - start)


def propagation_latency(server, samples: int = 60) -> tuple[float, float]:
    """Wall time from the start of an ingest POST to the event read off an open /events/stream."""
    from dashapp.services import tokens, users

    viewer = users.create_user("bench", "watcher", "Strong-Pass-987!", "viewer")
    engine = users.find_by_username("bench")
    _, secret = tokens.create_token("bench", engine.id, "latency", ["bench"])
    watcher = server.test_client()
    from tests.support.web import login  # the same login helper the tests use

    login(watcher, viewer.username, "Strong-Pass-987!")
    stream = watcher.get("/events/stream", buffered=False)
    arrivals: list[float] = []

    def reader():
        buffer = ""
        for chunk in stream.response:
            buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                if "event: cockpit" in block:
                    arrivals.append(time.perf_counter())
            if len(arrivals) >= samples:
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(0.5)
    sender = server.test_client()
    latencies = []
    for n in range(samples):
        item = [{"instrument": "SYM1", "ts": (T0 + timedelta(days=300, seconds=n)).isoformat(), "bid": 1.0, "ask": 1.1}]
        before = len(arrivals)
        start = time.perf_counter()
        sender.post("/api/v1/ingest/quotes", json={"engine_id": "bench", "items": item},
                    headers={"Authorization": f"Bearer {secret}"})
        deadline = time.perf_counter() + 5
        while len(arrivals) == before and time.perf_counter() < deadline:
            time.sleep(0.0005)
        if len(arrivals) > before:
            latencies.append((arrivals[-1] - start) * 1000)
        time.sleep(0.02)
    stream.close()
    return float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95))


def _cells(rates: list[float]) -> str:
    """Median and best of the rounds, as two table cells."""
    return f"{statistics.median(rates):,.0f} | {max(rates):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds per cell")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: dict[tuple[str, str, str], list[float]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}  # PostgreSQL kind -> python/server CPU us per event
    sweep: dict[int, list[float]] = {}
    together: list[float] = []
    latency = None
    for backend in args.backends.split(","):
        with scratch_app(backend) as server:
            from dashapp.services.ingest import ingest_batch

            reference(lambda kind, items: ingest_batch(kind, "bench", items))
            secret = _bench_token(backend)
            service_rate("quotes", quotes, first=90_000)  # warm-up: caches, first pages of the tables
            for r in range(args.rounds):
                for kind, make in KINDS:
                    svc = service_rate(kind, make, first=100 * r,
                                       cpu=cpu.setdefault(kind, {}) if backend == "postgresql" else None)
                    http = http_rate(server, kind, make, first=10_000 + 100 * r, secret=secret)
                    results.setdefault((backend, kind, "service"), []).append(svc)
                    results.setdefault((backend, kind, "http"), []).append(http)
                    used = cpu.get(kind, {}) if backend == "postgresql" else {}
                    note = "  cpu/event: " + ", ".join(f"{k} {v[-1]:.1f} us" for k, v in used.items()) if used else ""
                    print(f"round {r + 1} {backend:10s} {kind:8s} service {svc:10,.0f}/s  http {http:10,.0f}/s{note}",
                          flush=True)
                if backend == "postgresql":
                    for n, size in enumerate(SWEEP):
                        # the same number of events per cell, so per-batch costs show in the rate
                        rate = service_rate("quotes", quotes, first=100_000 + 10_000 * r + 1000 * n, size=size,
                                            batches=max(1, BATCH * BATCHES // size))
                        sweep.setdefault(size, []).append(rate)
                        print(f"round {r + 1} postgresql quotes batch {size:>6,}: {rate:10,.0f}/s", flush=True)
                    together.append(concurrent_rate(server, first=50_000 + 1000 * r))
                    print(f"round {r + 1} postgresql quotes, 2 engines at once: {together[-1]:10,.0f}/s", flush=True)
            if backend == "sqlite":
                latency = propagation_latency(server)
                print(f"propagation p50 {latency[0]:.1f} ms p95 {latency[1]:.1f} ms")
    if args.no_write or latency is None or not sweep:
        return
    load_after = os.getloadavg()
    table = "\n".join(f"| {b} | {k} | {_cells(results[(b, k, 'service')])} | {_cells(results[(b, k, 'http')])} |"
                      for b in args.backends.split(",") for k, _ in KINDS)
    sweep_table = "\n".join(f"| {size:,} | {_cells(rates)} |" for size, rates in sweep.items())
    cpu_table = "\n".join(f"| {kind} | {statistics.median(c['python']):.1f} | "
                          f"{statistics.median(c['server']):.1f} |" if c.get("server") else
                          f"| {kind} | {statistics.median(c['python']):.1f} | n/a |" for kind, c in cpu.items())
    pg = results[("postgresql", "quotes", "service")]
    pg_http = results[("postgresql", "quotes", "http")]
    verdict = "met" if statistics.median(pg) >= 50_000 else "NOT met"
    body = f"""Measured by `benchmarks/bench_ingest.py` on {machine()}.
Load average {load_before[0]:.1f} before and {load_after[0]:.1f} after: other work shared the
machine, so look at the best round as well as the median. Batches of {BATCH:,} items (what the
engine client sends per request), {BATCHES} batches per cell, {args.rounds} interleaved rounds,
every item new (a repeated batch is cheaper: it stores nothing). "service" is the function the
REST endpoint calls (validation, reference lookup, one atomic transaction); "http" adds token
authentication and the JSON body through the real endpoint (Flask's in-process client, no
sockets). Events/s:

| database | kind | service median | service best | http median | http best |
|---|---|---:|---:|---:|---:|
{table}

Target: 50,000 events/s into PostgreSQL. Quotes through the service: median
{statistics.median(pg):,.0f}/s, best {max(pg):,.0f}/s; through HTTP: median {statistics.median(pg_http):,.0f}/s,
best {max(pg_http):,.0f}/s — {verdict} (judged on the service median). On PostgreSQL most of the
time left is the server's own per-row work. Quotes carry no foreign key (DECISIONS D21: ingest
holds the instruments FOR KEY SHARE instead; the per-row check was the largest cost); signals keep
theirs (instrument and strategy), and orders carry eight indexes and four foreign keys and are
last-writer-wins upserts on the engine's timestamp, so they stay slower by design.

CPU time per event behind the PostgreSQL service figures (median of the rounds; the two run on
different cores and overlap only partly, so one stream on an idle machine manages roughly
1 / (their sum) events per second, and less when other work takes the cores):

| kind | this process, µs/event | PostgreSQL backend, µs/event |
|---|---:|---:|
{cpu_table}

Batch size (PostgreSQL, quotes, service, {BATCH * BATCHES:,} events per cell), events/s:

| items per batch | median | best |
|---:|---:|---:|
{sweep_table}

Two engines sending quotes at once (one thread and connection each, as the web server's threads
would serve them), PostgreSQL, total: median {statistics.median(together):,.0f}/s, best {max(together):,.0f}/s.

Propagation, ingest call -> event read from an open `/events/stream` (in-process bus, {60} samples):
p50 {latency[0]:.1f} ms, p95 {latency[1]:.1f} ms (target p95 < 250 ms: {"met" if latency[1] < 250 else "NOT met"}).
A browser adds its EventSource dispatch and one Dash callback on top (measured ~9 ms per round trip on
loopback in NOTES-DASH)."""
    write_section("Ingest and live push", body)
    print("written to docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
