"""Retention throughput: archive-to-Parquet-then-delete of old quotes in 5,000-row batches, against the
same batched DELETE without an archive (what the archive costs), on SQLite and PostgreSQL, with a legal
hold covering 1% of the rows (its EXISTS runs in every batch).

    .venv/bin/python benchmarks/retention.py [--rows 200000] [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill_quotes(rows: int, start) -> None:
    import sqlalchemy as sa

    from dashapp.extensions import db
    from models import Quote

    chunk = 20_000
    for offset in range(0, rows, chunk):
        db.session.execute(sa.insert(Quote), [
            {"instrument_id": 1, "ts": start + timedelta(seconds=i), "bid": 99.0, "ask": 101.0, "bid_size": 1.0,
             "ask_size": 1.0} for i in range(offset, min(offset + chunk, rows))])
        db.session.commit()


def plain_delete(cutoff, batch: int) -> int:
    """The baseline: the same batches and hold condition, no archive."""
    import sqlalchemy as sa

    from dashapp.extensions import db
    from dashapp.services.governance.record_kinds import held, older_than
    from models import Quote

    total = 0
    while True:
        ids = db.session.execute(sa.select(Quote.id).where(*older_than("quotes", cutoff), ~held("quotes"))
                                 .order_by(Quote.id).limit(batch)).scalars().all()
        if not ids:
            return total
        total += db.session.execute(sa.delete(Quote).where(Quote.id.in_(ids), ~held("quotes"))
                                    .execution_options(synchronize_session=False)).rowcount
        db.session.commit()


def measure(backend: str, rows: int) -> dict:
    from dashapp import create_server
    from dashapp.extensions import db
    from dashapp.services.governance import archive, holds, retention
    from models import Instrument, utcnow
    from tests.conftest import make_settings
    from tests.support.db import scratch_database

    with tempfile.TemporaryDirectory() as scratch, scratch_database(backend, Path(scratch)) as url:
        server = create_server(make_settings(Path(scratch), url))
        with server.app_context():
            db.session.add(Instrument(id=1, symbol="AAPL", asset_class="equity"))
            db.session.commit()
            start = utcnow() - timedelta(days=400)
            fill_quotes(rows, start)
            holds.create_hold("bench", "Bench hold", "1% of the rows", [{"kind": "quotes", "time_from": start,
                                                                         "time_to": start + timedelta(seconds=rows // 100 - 1)}])
            began = time.perf_counter()
            run = retention.run("quotes", "bench", batch_size=5000)
            archived_s = time.perf_counter() - began
            size = sum((archive.archive_root() / part).stat().st_size for part in run.files)
            run = {"deleted": run.deleted, "held": run.held, "batches": run.batches}
            db.session.execute(db.text("DELETE FROM quotes"))
            db.session.commit()
            fill_quotes(rows, start)
            began = time.perf_counter()
            deleted = plain_delete(utcnow() - timedelta(days=30), 5000)
            plain_s = time.perf_counter() - began
            db.session.remove()
            db.engine.dispose()
    return {"backend": backend, "rows": rows, **run,
            "archive_mb": size / 1e6, "archive_s": archived_s, "plain_deleted": deleted, "plain_s": plain_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    from tests.support.db import drop_templates

    try:
        for backend in args.backends.split(","):
            r = measure(backend, args.rows)
            print(f"{r['backend']:<10} {r['rows']:,} quotes: archived+deleted {r['deleted']:,} "
                  f"({r['held']:,} held) in {r['batches']} batches, {r['archive_s']:.1f} s "
                  f"({r['deleted'] / r['archive_s']:,.0f} rows/s), archive {r['archive_mb']:.1f} MB; plain batched "
                  f"DELETE {r['plain_deleted']:,} in {r['plain_s']:.1f} s ({r['plain_deleted'] / r['plain_s']:,.0f} "
                  f"rows/s); archive+delete / delete = {r['archive_s'] / r['plain_s']:.2f}x", flush=True)
    finally:
        drop_templates()


if __name__ == "__main__":
    main()
