"""The export job through the registry, on SQLite and PostgreSQL: the file under
<instance>/exports/<job_id>.<ext>, its SHA-256 in the result and in the audit record (committed with
the job's success), progress by rows, keyset chunks that honour the period and filters, refusal of
unknown names, and a cancel that leaves no file behind."""
from __future__ import annotations

import csv
import hashlib
import json
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from dashapp.exports import datasets, service
from dashapp.exports.params import ExportParams
from dashapp.extensions import db
from dashapp.services import jobs
from dashapp.services.errors import PermissionDenied, ValidationError
from models import AuditRecord, Instrument, Order, Strategy, Venue
from tests.support.trading import T0, order
from tests.unit.exports import xlsx
from tests.unit.exports.conftest import N_ORDERS
from tests.unit.test_jobs_service import FakePort
from dashapp.presentation.columns import spec


def label(field: str) -> str:
    """The header an Excel sheet gives a field: the catalogue's, with its unit."""
    return spec(field).label


def _run(params: dict, actor: str = "trader1", role: str = "trader"):
    job = jobs.launch(actor, role, "export", params, port=FakePort())
    claimed = jobs.mark_running(job.id, "test")
    state = jobs.run(claimed)
    db.session.expire_all()
    return jobs.get_job(job.id), state


def _audits(action: str) -> list[dict]:
    rows = db.session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)
                              .order_by(AuditRecord.id)).scalars()
    return [{"actor": r.actor, "target": r.target, **json.loads(r.details)} for r in rows]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _count(*where) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Order).where(*where)).scalar_one()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "parquet", "pdf"])
def test_export_job_writes_the_file_and_audits_its_sha256(desk, fmt):
    job, state = _run({"dataset": "orders", "format": fmt, "filters": {"status": "filled"}})
    assert state == "succeeded", job.error
    path = service.exports_dir() / job.result["file"]
    assert path.name == f"{job.id}.{fmt}" and path.parent == desk.config["COCKPIT_SETTINGS"].instance_dir / "exports"
    assert path.is_file() and not list(path.parent.glob(".*.part"))
    filled = _count(Order.status == "filled")
    assert job.result["rows"] == filled == N_ORDERS // 4
    assert job.result["size"] == path.stat().st_size and job.result["sha256"] == _sha(path)
    assert job.result["download_name"].startswith("orders-") and job.result["download_name"].endswith(f".{fmt}")
    [record] = _audits("export.create")
    assert record["actor"] == "trader1" and record["target"] == f"job:{job.id}"
    assert record["sha256"] == _sha(path) and record["rows"] == filled and record["filters"] == {"status": "filled"}
    assert record["dataset"] == "orders" and record["format"] == fmt and record["file"] == path.name
    assert job.progress == 100 and f"{filled:,} rows" in job.log


def test_the_exported_rows_are_the_stored_rows(desk):
    job, _ = _run({"dataset": "orders", "format": "csv"})
    with open(service.exports_dir() / job.result["file"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == N_ORDERS and [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    first = db.session.get(Order, int(rows[0]["id"]))
    assert rows[0]["client_order_id"] == first.client_order_id and rows[0]["created_at"] == first.created_at.isoformat()
    assert {r["strategy"] for r in rows} == {"MOM", "MR"} and {r["venue"] for r in rows} == {"XNAS", "LP1"}
    rejected = [r for r in rows if r["status"] == "rejected"]
    assert rejected and all(r["reject_reason"].startswith("'=") for r in rejected)  # defused for spreadsheets


def test_keyset_chunks_honour_period_and_filters_and_ignore_rows_that_arrive_later(desk):
    from dashapp.services.ingest import ingest_batch

    params = ExportParams.model_validate({
        "dataset": "orders", "format": "csv", "since": (T0 + timedelta(minutes=10)).isoformat(),
        "until": (T0 + timedelta(minutes=50)).isoformat(), "filters": {"strategy": "MOM", "venue": "XNAS"}})
    data = datasets.build(params, chunk_rows=7)
    table = data.tables[0]
    ingest_batch("orders", "paper-1", [order("late", minutes=20)])  # arrives after the export started
    chunks = list(table.chunks())
    ids = [row[0] for chunk in chunks for row in chunk]
    mom = db.session.execute(sa.select(Strategy.id).where(Strategy.code == "MOM")).scalar_one()
    xnas = db.session.execute(sa.select(Venue.id).where(Venue.code == "XNAS")).scalar_one()
    expected = list(db.session.execute(sa.select(Order.id).where(
        Order.created_at >= T0 + timedelta(minutes=10), Order.created_at < T0 + timedelta(minutes=50),
        Order.strategy_id == mom, Order.venue_id == xnas, Order.client_order_id != "late")
        .order_by(Order.id)).scalars())
    assert ids == expected and table.count == len(expected) and len(expected) > 7
    assert len(chunks) > 1 and all(len(chunk) <= 7 for chunk in chunks)
    names = table.column_names()
    strategy, venue = names.index("strategy"), names.index("venue")
    assert all(row[strategy] == "MOM" and row[venue] == "XNAS" for chunk in chunks for row in chunk)
    created = [row[names.index("created_at")] for c in chunks for row in c]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in created)


def test_progress_is_reported_by_rows_written(desk, monkeypatch):
    monkeypatch.setattr(datasets, "CHUNK_ROWS", 10)
    monkeypatch.setattr(service, "PROGRESS_EVERY_S", 0.0)
    seen = []
    original = jobs.JobContext.progress

    def progress(self, pct, message=""):
        seen.append((round(pct), message))
        return original(self, pct, message)

    monkeypatch.setattr(jobs.JobContext, "progress", progress)
    job, state = _run({"dataset": "orders", "format": "parquet"})
    assert state == "succeeded"
    messages = [m for _, m in seen if "rows written" in m]
    assert messages[0] == f"10 of {N_ORDERS} rows written" and messages[-1] == f"{N_ORDERS} of {N_ORDERS} rows written"
    pcts = [p for p, _ in seen]
    assert pcts == sorted(pcts) and pcts[-1] <= 95
    assert pq.read_table(service.exports_dir() / job.result["file"]).num_rows == N_ORDERS


def test_fills_and_positions_exports(desk):
    job, _ = _run({"dataset": "fills", "format": "json", "filters": {"venue": "XNAS"}})
    document = json.loads((service.exports_dir() / job.result["file"]).read_text())
    fills = document["tables"][0]["rows"]
    assert fills and all(f["venue"] == "XNAS" for f in fills)
    assert fills[0]["notional"] == pytest.approx(100 * 190.5) and fills[0]["slippage_bps"] is not None
    job, _ = _run({"dataset": "positions", "format": "xlsx", "filters": {"instrument": "AAPL"}})
    sheets, _ = xlsx.read(service.exports_dir() / job.result["file"])
    assert [s.name for s in sheets] == ["Summary", "Positions"]
    header, *rows = sheets[1].rows
    assert rows and all(r[header.index(label("instrument"))] == "AAPL" for r in rows)
    summary = {r[0]: r[1] for r in sheets[0].rows if len(r) >= 2}
    assert summary["Filters"] == "instrument = AAPL" and summary["Generated by"] == "trader1"


def test_unknown_names_wrong_roles_and_bad_params_are_refused_before_queueing(desk):
    port = FakePort()
    with pytest.raises(ValidationError) as err:
        service.launch_export("trader1", "trader", {"dataset": "orders", "format": "csv",
                                                    "filters": {"strategy": "NOPE"}}, port=port)
    assert err.value.field == "params.filters.strategy" and "NOPE" in err.value.message
    with pytest.raises(ValidationError) as err:
        service.launch_export("trader1", "trader", {"dataset": "orders", "format": "xls"}, port=port)
    assert err.value.field == "params.format"
    with pytest.raises(PermissionDenied):
        service.launch_export("viewer1", "viewer", {"dataset": "orders", "format": "csv"}, port=port)
    with pytest.raises(ValidationError) as err:  # the job service validates on its own too
        jobs.launch("trader1", "trader", "export", {"dataset": "orders", "format": "csv", "since": "soon"}, port=port)
    assert err.value.field == "params.since"
    assert port.submitted == []
    job = service.launch_export("risk1", "risk", {"dataset": "orders", "format": "csv"}, "k1", port=port)
    assert service.launch_export("risk1", "risk", {"dataset": "orders", "format": "csv"}, "k1", port=port).id == job.id
    assert len(port.submitted) == 1 and port.submitted[0][1] == "jobs"


def test_a_canceled_export_leaves_no_file_and_no_export_record(desk, monkeypatch):
    monkeypatch.setattr(datasets, "CHUNK_ROWS", 10)
    monkeypatch.setattr(service, "PROGRESS_EVERY_S", 0.0)
    job = jobs.launch("trader1", "trader", "export", {"dataset": "orders", "format": "xlsx"}, port=FakePort())
    claimed = jobs.mark_running(job.id, "test")
    original = jobs.JobContext.progress

    def progress(self, pct, message=""):
        if "20 of" in message:  # someone cancels while the third chunk is being read
            jobs.cancel("risk1", job.id, port=FakePort())
        return original(self, pct, message)

    monkeypatch.setattr(jobs.JobContext, "progress", progress)
    assert jobs.run(claimed) == "canceled"
    assert list(service.exports_dir().iterdir()) == []  # neither the file nor its .part
    assert _audits("export.create") == []


def test_instruments_filter_uses_the_symbol(desk):
    aapl = db.session.execute(sa.select(Instrument.id).where(Instrument.symbol == "AAPL")).scalar_one()
    job, _ = _run({"dataset": "orders", "format": "csv", "filters": {"instrument": "AAPL"}})
    assert job.result["rows"] == _count(Order.instrument_id == aapl) > 0
