"""Excel through xlsxwriter in constant_memory mode: each row goes to disk as soon as the next one
starts, so a million rows cost the same memory as a hundred. A bold, filled, frozen header with an
autofilter; number formats by column kind; widths from the first chunk; and a Summary sheet first
(what, when, who, period, filters, rows per sheet), written last because only then are the counts
known (constant_memory keeps one stream per sheet, so writing it last is allowed).

A sheet holds at most 1,048,576 rows (one is the header): longer tables continue on "Orders (2)"..."""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import xlsxwriter

from dashapp.exports.tables import ExportData, Progress, Table, WriteResult, summary_facts
from dashapp.presentation.columns import spec

EXCEL_MAX_ROWS = 1_048_576
NUMBER_FORMATS = {"int": "0", "float": "#,##0.00", "price": "#,##0.0000", "pct": "0.00%",
                  "datetime": "yyyy-mm-dd hh:mm:ss.000"}
WIDTHS = {"int": 10, "float": 15, "price": 13, "pct": 10, "datetime": 23}
HEADER = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F3864", "border": 1, "align": "center",
          "valign": "vcenter"}


def _sheet_name(base: str, part: int, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", base)[:24]
    name = base if part == 1 else f"{base} ({part})"
    while name in taken:
        part += 1
        name = f"{base} ({part})"
    taken.add(name)
    return name


def human_headers(table: Table) -> list[str]:
    """The catalogue's header with its unit ("Avg cost (USD)"): a workbook is read by people (D47);
    CSV and JSON keep the field names that programs parse."""
    return [spec(name).label for name in table.column_names()]


def _widths(table: Table, first_chunk) -> list[int]:
    widths = []
    for i, column in enumerate(table.columns):
        if column.kind in WIDTHS:
            width = WIDTHS[column.kind]
        else:
            longest = max((len(str(row[i])) for row in first_chunk[:500] if row[i] is not None), default=0)
            width = min(max(longest + 2, 10), 48)
        widths.append(max(width, len(spec(column.name).label) + 3))
    return widths


class _Sheets:
    """The sheets of one table: a new one (same header) every `max_rows` data rows."""

    def __init__(self, book, table: Table, formats: dict, header, taken: set[str], max_rows: int):
        self.book, self.table, self.formats, self.header = book, table, formats, header
        self.taken, self.max_rows = taken, max_rows
        self.done: list[tuple[str, int]] = []  # (sheet name, data rows)
        self.sheet = None
        self.row = 0
        self.widths: list[int] = [len(spec(c.name).label) + 3 for c in table.columns]

    def open(self) -> None:
        self.close()
        name = _sheet_name(self.table.name, len(self.done) + 1, self.taken)
        self.sheet = self.book.add_worksheet(name)
        for col, (column, width) in enumerate(zip(self.table.columns, self.widths)):
            self.sheet.set_column(col, col, width, self.formats.get(column.kind))
        self.sheet.write_row(0, 0, human_headers(self.table), self.header)
        self.sheet.freeze_panes(1, 0)
        self.row = 1
        self.done.append((name, 0))

    def close(self) -> None:
        if self.sheet is not None and self.done:
            name, _ = self.done[-1]
            self.done[-1] = (name, self.row - 1)
            self.sheet.autofilter(0, 0, max(self.row - 1, 1), len(self.table.columns) - 1)

    def cell_writers(self):
        sheet = self.sheet
        by_kind = {"str": sheet.write_string, "datetime": sheet.write_datetime}
        return [(by_kind.get(c.kind, sheet.write_number), self.formats.get(c.kind)) for c in self.table.columns]


def write(path: Path, data: ExportData, progress: Progress,
          max_rows_per_sheet: int = EXCEL_MAX_ROWS - 1) -> WriteResult:
    # constant_memory streams each sheet to a temporary file; keep them in a folder of our own so an
    # export that stops half way (canceled, failed) leaves none behind.
    scratch = Path(tempfile.mkdtemp(prefix=".xlsx-", dir=path.parent))
    try:
        return _write(path, data, progress, max_rows_per_sheet, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write(path: Path, data: ExportData, progress: Progress, max_rows_per_sheet: int, scratch: Path) -> WriteResult:
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "remove_timezone": True, "nan_inf_to_errors": True, "tmpdir": str(scratch),
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": data.title, "author": str(data.meta.get("generated_by", "")),
                         "comments": "Trading Desk Cockpit export"})
    formats = {kind: book.add_format({"num_format": fmt}) for kind, fmt in NUMBER_FORMATS.items()}
    header = book.add_format(HEADER)
    summary = book.add_worksheet("Summary")
    taken = {"Summary"}
    rows: dict[str, int] = {}
    sheets_by_table: list[tuple[Table, list[tuple[str, int]]]] = []
    total = 0
    for table in data.tables:
        sheets = _Sheets(book, table, formats, header, taken, max_rows_per_sheet)
        written = 0
        for chunk in table.chunks():
            if sheets.sheet is None:
                sheets.widths = _widths(table, chunk)
                sheets.open()
            writers = sheets.cell_writers()
            for values in chunk:
                if sheets.row > max_rows_per_sheet:
                    sheets.open()
                    writers = sheets.cell_writers()
                row = sheets.row
                for col, value in enumerate(values):
                    if value is not None and value == value:  # None and NaN stay blank
                        write_cell, fmt = writers[col]
                        write_cell(row, col, value, fmt)
                sheets.row += 1
            written += len(chunk)
            progress(total + written)
        if sheets.sheet is None:  # an empty table still gets its sheet, header and all
            sheets.open()
        sheets.close()
        rows[table.name] = written
        total += written
        sheets_by_table.append((table, sheets.done))
    _summary(book, summary, data, sheets_by_table, header)
    book.close()
    return WriteResult(rows)


def _summary(book, sheet, data: ExportData, sheets_by_table, header) -> None:
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    count = book.add_format({"num_format": "#,##0"})
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 60)
    sheet.write_string(0, 0, f"{data.title} export", title)
    row = 2
    for label, value in summary_facts(data.meta):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, value)
        row += 1
    row += 1
    sheet.write_row(row, 0, ["Sheet", "Rows"], header)
    for _table, sheets in sheets_by_table:
        for name, n in sheets:
            row += 1
            sheet.write_string(row, 0, name)
            sheet.write_number(row, 1, n, count)
    sheet.activate()

