"""Each writer on synthetic tables (no database): the file opens in its own reader and holds the
rows; and the chunked path: a generator of many rows goes through every writer one chunk at a
time (each chunk is written before the next is asked for) with memory bounded by a chunk."""
from __future__ import annotations

import csv
import io
import json
import math
import weakref
import zipfile
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from dashapp.exports import writers
from dashapp.exports.tables import Chart, Column, ExportData, Table
from dashapp.exports.writers import excel, pdf
from tests.unit.exports import xlsx
from dashapp.presentation.columns import spec


def label(field: str) -> str:
    """The header an Excel sheet gives a field: the catalogue's, with its unit."""
    return spec(field).label

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)
COLUMNS = [Column("id", "int"), Column("created_at", "datetime"), Column("symbol"), Column("quantity", "float"),
           Column("price", "price"), Column("fill_rate", "pct")]
META = {"dataset": "orders", "dataset_label": "Orders", "format": "test", "generated_at": "2026-03-02 15:00:00",
        "generated_by": "trader1", "job_id": "job-1", "since": "2026-03-01T00:00:00+00:00", "until": None,
        "filters": {"strategy": "MOM", "status": "filled"}, "extra": {}}


def row(i: int) -> tuple:
    return (i, T0 + timedelta(seconds=i), f"SYM{i % 7}", 100.0 + i, 190.1234 + i / 1000, (i % 10) / 10)


def chunked(n: int, size: int, log: list | None = None):
    """A fresh generator each call: rows made as they are asked for, never a list of all of them."""
    def chunks():
        for start in range(0, n, size):
            if log is not None:
                log.append(("chunk", start))
            yield [row(i) for i in range(start, min(start + size, n))]
    return chunks


def export(n: int = 25, size: int = 10, tables: int = 1, log: list | None = None) -> ExportData:
    made = [Table("Orders", COLUMNS, chunked(n, size, log), n)]
    if tables > 1:
        made.append(Table("Limits", [Column("kind"), Column("utilisation", "pct"), Column("note")],
                          lambda: iter([[("gross", 0.5, "=HYPERLINK(\"x\")"), ("var_99", float("nan"), None)]]), 2))
    return ExportData("orders", "Orders", made, meta=dict(META),
                      charts=lambda: [Chart("Orders by status", ["filled", "new"], [20, 5]),
                                      Chart("Orders by venue", [], [])])


def write(fmt: str, tmp_path, data: ExportData, progress=None):
    path = tmp_path / f"out.{writers.extension_for(fmt, data)}"
    seen = []
    result = writers.write(fmt, path, data, progress or seen.append)
    return path, result, seen


# --- each writer --------------------------------------------------------------------------


def test_csv_reads_back_with_header_iso_times_and_all_rows(tmp_path):
    path, result, seen = write("csv", tmp_path, export(25, 10))
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "created_at", "symbol", "quantity", "price", "fill_rate"]
    assert len(rows) == 26 and result.rows == {"Orders": 25}
    assert rows[1] == ["0", "2026-03-02T14:30:00+00:00", "SYM0", "100.0", "190.1234", "0.0"]
    assert datetime.fromisoformat(rows[25][1]) == T0 + timedelta(seconds=24)
    assert seen == [10, 20, 25]  # progress after every chunk, counting rows


def test_csv_of_several_tables_is_a_zip_with_one_csv_each_and_a_summary(tmp_path):
    path, result, _ = write("csv", tmp_path, export(5, 5, tables=2))
    assert path.suffix == ".zip" and result.rows == {"Orders": 5, "Limits": 2}
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["limits.csv", "orders.csv", "summary.json"]
        limits = list(csv.reader(io.TextIOWrapper(z.open("limits.csv"), encoding="utf-8")))
        summary = json.loads(z.read("summary.json"))
    assert limits[0] == ["kind", "utilisation", "note"]
    assert limits[1] == ["gross", "0.5", "'=HYPERLINK(\"x\")"]  # a formula is defused, not run by Excel
    assert summary["rows"] == {"Orders": 5, "Limits": 2} and summary["generated_by"] == "trader1"


def test_excel_has_summary_first_formatted_sheets_and_every_row(tmp_path):
    path, result, _ = write("xlsx", tmp_path, export(25, 10, tables=2))
    sheets, formats = xlsx.read(path)
    assert [s.name for s in sheets] == ["Summary", "Orders", "Limits"]
    orders = sheets[1]
    # People read workbooks: the catalogue's headers with units, not field names (D47).
    assert orders.rows[0] == [label(n) for n in ("id", "created_at", "symbol", "quantity", "price", "fill_rate")]
    assert orders.rows[0][1] == "Created (UTC)" and "created_at" not in orders.rows[0]
    assert len(orders.rows) == 26 and result.rows == {"Orders": 25, "Limits": 2}
    assert orders.rows[1][0] == 0 and orders.rows[1][2] == "SYM0" and orders.rows[1][3] == 100.0
    # Times are Excel serial days (UTC); 2026-03-02 14:30 is 46083.604166...
    excel_day = (T0.replace(tzinfo=None) - datetime(1899, 12, 30)).total_seconds() / 86400
    assert orders.rows[1][1] == pytest.approx(excel_day)
    assert orders.frozen_rows == 1 and orders.autofilter == "A1:F26"
    assert orders.widths[1] >= 20 and all(width > 0 for width in orders.widths.values())
    assert formats[orders.styles[(1, 3)]] == "#,##0.00" and formats[orders.styles[(1, 4)]] == "#,##0.0000"
    assert formats[orders.styles[(1, 5)]] == "0.00%" and "yyyy-mm-dd" in formats[orders.styles[(1, 1)]]
    header_style = orders.styles[(0, 0)]
    assert header_style not in (orders.styles[(1, 0)], 0)
    summary = {r[0]: r[1] for r in sheets[0].rows if len(r) >= 2}
    assert summary["Generated by"] == "trader1" and summary["Dataset"] == "Orders"
    assert summary["Filters"] == "strategy = MOM, status = filled" and summary["Generated at (UTC)"]
    assert summary["Orders"] == 25 and summary["Limits"] == 2
    assert sheets[2].rows[1][2] == "=HYPERLINK(\"x\")"  # stored as text, never as a formula


def test_excel_splits_a_table_longer_than_a_sheet(tmp_path):
    path = tmp_path / "split.xlsx"
    result = excel.write(path, export(25, 10), lambda n: None, max_rows_per_sheet=10)
    sheets, _ = xlsx.read(path)
    assert [s.name for s in sheets] == ["Summary", "Orders", "Orders (2)", "Orders (3)"]
    assert [len(s.rows) - 1 for s in sheets[1:]] == [10, 10, 5] and result.rows == {"Orders": 25}
    assert all(s.rows[0][0] == label("id") and s.frozen_rows == 1 for s in sheets[1:])
    assert [s.rows[1][0] for s in sheets[1:]] == [0, 10, 20]  # continues where the last sheet stopped
    summary = {r[0]: r[1] for r in sheets[0].rows if len(r) >= 2}
    assert (summary["Orders"], summary["Orders (2)"], summary["Orders (3)"]) == (10, 10, 5)


def test_excel_default_limit_is_excels_own():
    assert excel.EXCEL_MAX_ROWS == 1_048_576


def test_json_is_one_valid_document_with_meta_rows_and_counts(tmp_path):
    path, result, _ = write("json", tmp_path, export(25, 10, tables=2))
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["export"]["generated_by"] == "trader1"
    orders, limits = document["tables"]
    assert orders["name"] == "Orders" and orders["row_count"] == 25 and len(orders["rows"]) == 25
    assert orders["rows"][0] == {"id": 0, "created_at": "2026-03-02T14:30:00+00:00", "symbol": "SYM0",
                                 "quantity": 100.0, "price": 190.1234, "fill_rate": 0.0}
    assert limits["rows"][1] == {"kind": "var_99", "utilisation": None, "note": None}  # NaN -> null
    assert [c["kind"] for c in orders["columns"]] == ["int", "datetime", "str", "float", "price", "pct"]


def test_json_of_an_empty_table_is_still_valid(tmp_path):
    path, result, _ = write("json", tmp_path, export(0, 10))
    assert json.loads(path.read_text())["tables"][0]["rows"] == [] and result.total == 0


def test_parquet_reads_back_typed_with_utc_timestamps_and_meta(tmp_path):
    path, result, _ = write("parquet", tmp_path, export(25, 10))
    table = pq.read_table(path)
    assert table.num_rows == 25 and table.column_names == [c.name for c in COLUMNS]
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert table.column("created_at")[3].as_py() == T0 + timedelta(seconds=3)
    assert table.column("symbol").to_pylist()[:2] == ["SYM0", "SYM1"]
    meta = json.loads(table.schema.metadata[b"cockpit.export"])
    assert meta["filters"] == {"strategy": "MOM", "status": "filled"}


def test_parquet_of_several_tables_is_a_zip_of_parquet_files(tmp_path):
    path, result, _ = write("parquet", tmp_path, export(5, 5, tables=2))
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["limits.parquet", "orders.parquet", "summary.json"]
        z.extract("limits.parquet", tmp_path / "x")
    limits = pq.read_table(tmp_path / "x" / "limits.parquet").to_pylist()
    assert limits[0]["kind"] == "gross" and limits[1]["utilisation"] is None


def _pdf_pages(path) -> int:
    return path.read_bytes().count(b"/Type /Page\n") + path.read_bytes().count(b"/Type /Page ")


def test_pdf_is_a_report_with_pages_and_charts(tmp_path):
    path, result, _ = write("pdf", tmp_path, export(25, 10, tables=2))
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert _pdf_pages(path) >= 2  # the title page (facts and charts) and the tables
    assert result.rows == {"Orders": 25, "Limits": 2} and result.notes == []


def test_pdf_caps_rows_stops_reading_and_says_so(tmp_path):
    log = []
    path = tmp_path / "big.pdf"
    result = pdf.write(path, export(100_000, 1_000, log=log), lambda n: None, max_rows=2_500)
    assert result.rows == {"Orders": 2_500}
    assert len([e for e in log if e[0] == "chunk"]) == 3  # read 3 chunks of 1,000, not 100
    assert result.notes and "first 2,500 of 100,000" in result.notes[0]
    assert path.read_bytes().startswith(b"%PDF") and _pdf_pages(path) > 3


def test_pdf_cell_text_formats_by_kind():
    assert pdf.cell_text(1234.5, "float") == "1,234.50" and pdf.cell_text(0.125, "pct") == "12.50%"
    assert pdf.cell_text(T0, "datetime") == "2026-03-02 14:30:00" and pdf.cell_text(None, "str") == ""
    assert pdf.cell_text("x" * 80, "str").endswith("…") and len(pdf.cell_text("x" * 80, "str")) == pdf.TEXT_MAX


# --- the chunked path ---------------------------------------------------------------------


class TrackedChunk(list):
    """A chunk that can be watched with a weak reference (plain lists cannot)."""


BIG = {"csv": 100_000, "json": 100_000, "parquet": 100_000, "xlsx": 20_000}


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
def test_many_rows_stream_through_each_writer_one_chunk_at_a_time(tmp_path, fmt, monkeypatch):
    from dashapp.exports.writers import parquet

    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 40_000)
    n, size = BIG[fmt], 2_500
    log, made = [], []

    def chunks():
        for start in range(0, n, size):
            # Chunk k-2 must be gone by the time chunk k is asked for: the writer keeps none.
            alive = sum(ref() is not None for ref in made[:-1])
            log.append(("chunk", start, alive))
            chunk = TrackedChunk(row(i) for i in range(start, min(start + size, n)))
            made.append(weakref.ref(chunk))
            yield chunk

    data = ExportData("orders", "Orders", [Table("Orders", COLUMNS, chunks, n)], meta=dict(META))
    path, result, _ = write(fmt, tmp_path, data, progress=lambda done: log.append(("written", done)))
    assert result.rows == {"Orders": n}
    # Interleaved: chunk k is asked for only after chunk k-1 was written (and reported).
    assert [event[0] for event in log] == ["chunk", "written"] * math.ceil(n / size)
    assert [event[2] for event in log if event[0] == "chunk"] == [0] * math.ceil(n / size)
    if fmt == "csv":
        with open(path, newline="") as handle:
            assert sum(1 for _ in handle) == n + 1
    elif fmt == "parquet":
        meta = pq.ParquetFile(path).metadata
        assert meta.num_rows == n and meta.num_row_groups == 3  # 40,000-row groups, the last one shorter
    elif fmt == "json":
        assert len(json.loads(path.read_text())["tables"][0]["rows"]) == n
    else:
        sheets, _ = xlsx.read(path)
        assert len(sheets[1].rows) == n + 1 and sheets[1].rows[-1][0] == n - 1
