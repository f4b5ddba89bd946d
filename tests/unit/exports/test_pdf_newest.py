"""The orders PDF shows the NEWEST rows when a table holds more than a report has room for, says
how many older rows it left out, and uses the column catalogue's headers and formats."""
from datetime import datetime, timezone

from dashapp.exports.tables import Column, ExportData, Table
from dashapp.exports.writers import pdf

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)
COLUMNS = [Column("id", "int"), Column("created_at", "datetime"), Column("avg_fill_price", "price")]


def _table(n: int, newest=True) -> Table:
    rows = [(i, T0, 100.0 + i / 3) for i in range(1, n + 1)]

    def chunks():
        for start in range(0, n, 10):
            yield rows[start:start + 10]

    return Table("Orders", COLUMNS, chunks, n, newest=(lambda k: rows[::-1][:k]) if newest else None)


def _capture(monkeypatch) -> list:
    shown = []
    original = pdf._table_flowable

    def spy(table, rows, width):
        shown.append(rows)
        return original(table, rows, width)

    monkeypatch.setattr(pdf, "_table_flowable", spy)
    return shown


def test_a_long_table_shows_its_newest_rows_and_counts_the_rest(tmp_path, monkeypatch):
    shown = _capture(monkeypatch)
    result = pdf.write(tmp_path / "o.pdf", ExportData("orders", "Orders", [_table(50)]), lambda n: None, max_rows=10)
    assert [row[0] for row in shown[0]] == list(range(50, 40, -1))  # newest first, not ids 1..10
    assert result.rows == {"Orders": 10}
    assert "newest 10 of 50" in result.notes[0] and "40 older rows left out" in result.notes[0]


def test_a_table_that_fits_is_shown_whole_in_id_order(tmp_path, monkeypatch):
    shown = _capture(monkeypatch)
    result = pdf.write(tmp_path / "o.pdf", ExportData("orders", "Orders", [_table(8)]), lambda n: None, max_rows=10)
    assert [row[0] for row in shown[0]] == list(range(1, 9)) and result.notes == []


def test_a_table_without_a_newest_reader_keeps_the_first_rows_and_says_so(tmp_path, monkeypatch):
    shown = _capture(monkeypatch)
    result = pdf.write(tmp_path / "o.pdf", ExportData("orders", "Orders", [_table(30, newest=False)]),
                       lambda n: None, max_rows=10)
    assert [row[0] for row in shown[0]][:2] == [1, 2] and "first 10 of 30" in result.notes[0]
    assert "20 rows left out" in result.notes[0]


def test_pdf_headers_and_cells_come_from_the_column_catalogue():
    table = _table(1)
    flowable = pdf._table_flowable(table, [(1, T0, 1234.56789)], 500)
    header, cells = flowable._cellvalues[0], flowable._cellvalues[1]
    assert header == ["#", "Created (UTC)", "Avg fill px"]
    assert cells == ["1", "2026-03-02 14:30:00", "1,234.5679"]
