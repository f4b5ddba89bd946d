"""Blotter query time for the first page of rows with 1,000,000 orders stored (SQLite and
PostgreSQL): unfiltered, filtered by status / instrument / strategy, quick search, and a sort on a
column without an index. Medians of 5 runs, after one warm-up run.

    .venv/bin/python benchmarks/bench_blotter.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import machine, median_time, scratch_app, write_section  # noqa: E402

STATUSES = np.array(["new", "acknowledged", "partially_filled", "filled", "canceled", "rejected", "expired"])


def seed(n: int) -> None:
    """Bulk rows straight into the store (the ingest path is measured by bench_ingest.py)."""
    from dashapp.extensions import db
    from dashapp.services.ingest import bulk, ingest_batch
    from models import Order

    ingest_batch("accounts", "bench", [{"code": "A1"}])
    ingest_batch("venues", "bench", [{"code": f"V{i}"} for i in range(4)])
    ingest_batch("strategies", "bench", [{"code": f"S{i}", "account": "A1"} for i in range(4)])
    ingest_batch("instruments", "bench", [{"symbol": f"SYM{i}", "asset_class": "equity"} for i in range(200)])
    rng = np.random.default_rng(1)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    chunk = 100_000
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        status = STATUSES[rng.integers(0, 7, size)]
        qty = rng.integers(1, 1000, size).astype(float)
        rows = []
        for i in range(size):
            ts = t0 + timedelta(seconds=(start + i) * 0.5)
            rows.append({"engine_id": "bench", "client_order_id": f"o{start + i}", "strategy_id": int(i % 4) + 1,
                         "account_id": 1, "instrument_id": int(rng.integers(1, 201)), "venue_id": int(i % 4) + 1,
                         "side": "buy" if i % 2 else "sell", "order_type": "market", "quantity": qty[i],
                         "filled_quantity": qty[i] if status[i] == "filled" else 0.0,
                         "avg_fill_price": 100.1 if status[i] == "filled" else None, "status": str(status[i]),
                         "arrival_mid": 100.0, "created_at": ts, "acknowledged_at": ts + timedelta(milliseconds=3),
                         "updated_at": ts})
        bulk.insert_new(Order, rows, ["engine_id", "client_order_id"])
        db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE orders"))
    else:
        db.session.execute(db.text("ANALYZE"))
    db.session.commit()


CASES = {
    "first page, newest first": dict(),
    "status = filled": dict(filter_model={"status": {"filterType": "text", "type": "equals", "filter": "filled"}}),
    "instrument = SYM42": dict(filter_model={"instrument": {"filterType": "text", "type": "equals", "filter": "SYM42"}}),
    "strategy = S2, status = rejected": dict(filter_model={
        "strategy": {"filterType": "text", "type": "equals", "filter": "S2"},
        "status": {"filterType": "text", "type": "equals", "filter": "rejected"}}),
    "quick search 'SYM7'": dict(search="SYM7"),
    "sorted by quantity (no index)": dict(sort_model=[{"colId": "quantity", "sort": "desc"}]),
    "page 500 (rows 50,000-50,100)": dict(start=50_000, end=50_100),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from dashapp.services import blotter

    results = {}
    for backend in ("sqlite", "postgresql"):
        with scratch_app(backend) as _server:
            started = time.perf_counter()
            seed(args.rows)
            print(f"{backend}: seeded {args.rows:,} orders in {time.perf_counter() - started:.0f} s", flush=True)
            for name, kwargs in CASES.items():
                params = {"start": 0, "end": 100, **kwargs}
                blotter.query_orders(**params)  # warm-up
                seconds = median_time(lambda: blotter.query_orders(**params), repeat=5)
                rows = len(blotter.query_orders(**params).rows)
                results[(backend, name)] = (seconds * 1000, rows)
                print(f"{backend:10s} {name:34s} {seconds * 1000:8.1f} ms  ({rows} rows)", flush=True)
    lines = "\n".join(f"| {name} | {results[('sqlite', name)][0]:.1f} | {results[('postgresql', name)][0]:.1f} |"
                      for name in CASES)
    body = f"""Measured by `benchmarks/bench_blotter.py` on {machine()} with {args.rows:,} orders stored
(200 instruments, 4 strategies, 4 venues, 7 statuses). Each figure is the median of 5 runs of
`services.blotter.query_orders` for 100 rows (what the Trading page's infinite grid asks for), with
the joins to instruments, strategies and venues and the computed slippage and latency columns.

| query (100 rows) | SQLite ms | PostgreSQL ms |
|---|---:|---:|
{lines}

Indexes used: `created_at`, `(status, created_at)`, `(strategy_id, created_at)`,
`(instrument_id, created_at)`, `(venue_id, created_at)`. Sorting on a column without an index
(quantity) has to look at every matching row; that is the slowest case and the reason the
blotter's default order is newest first."""
    write_section("Blotter with a million orders", body)
    print("written to docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
