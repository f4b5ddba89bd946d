"""Any report Document as an Excel workbook (xlsxwriter): a Summary sheet (title, headline figures),
one sheet per table with numbers kept as numbers, and each chart as a native Excel chart beside
its data on its own sheet."""
from __future__ import annotations

import io
import re

import xlsxwriter

from dashapp.reports.document import NUMBER_FORMATS, Chart, Document, Figures, Table, is_number

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def render_xlsx(document: Document) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    book.set_properties({"title": document.title, "subject": document.subtitle, "author": "Trading Desk Cockpit"})
    fmt = _formats(book)
    names: set[str] = set()
    summary = book.add_worksheet(_sheet_name("Summary", names))
    summary.set_column(0, 0, 42)
    summary.set_column(1, 1, 24)
    summary.write(0, 0, document.title, fmt["title"])
    summary.write(1, 0, document.subtitle)
    summary.write(2, 0, f"Generated {document.generated_local}", fmt["note"])
    row = 4
    for section in document.sections:
        if isinstance(section, Figures):
            summary.write(row, 0, section.title, fmt["bold"])
            row += 1
            for label, value, kind in section.items:
                summary.write(row, 0, label)
                _cell(summary, row, 1, value, kind, fmt)
                row += 1
            row += 1
        elif isinstance(section, Table):
            _table_sheet(book, section, _sheet_name(section.title, names), fmt)
        elif isinstance(section, Chart):
            _chart_sheet(book, section, _sheet_name(section.title, names), fmt)
    book.close()
    return buffer.getvalue()


def _formats(book) -> dict:
    out = {kind: book.add_format({"num_format": excel}) for kind, (_, excel) in NUMBER_FORMATS.items()}
    out.update(title=book.add_format({"bold": True, "font_size": 14}), bold=book.add_format({"bold": True}),
               header=book.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1, "text_wrap": True}),
               note=book.add_format({"italic": True, "font_color": "#6C757D"}))
    return out


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _cell(sheet, row: int, col: int, value, kind: str, fmt: dict) -> None:
    if is_number(value):
        sheet.write_number(row, col, float(value), fmt.get(kind, fmt["text"]))
    elif value is None or isinstance(value, float):  # missing, NaN, inf
        sheet.write_blank(row, col, None)
    else:
        sheet.write_string(row, col, str(value))


def _table_sheet(book, section: Table, name: str, fmt: dict) -> None:
    sheet = book.add_worksheet(name)
    sheet.write(0, 0, section.title, fmt["title"])
    if not section.rows:
        sheet.write(2, 0, section.empty_text, fmt["note"])
        return
    for col, column in enumerate(section.columns):
        sheet.write(2, col, column.title, fmt["header"])
        sheet.set_column(col, col, max(12, min(len(column.title) + 4, 32)))
    for r, values in enumerate(section.rows):
        for col, value in enumerate(values):
            _cell(sheet, r + 3, col, value, section.kind(r, col), fmt)
    sheet.freeze_panes(3, 1)
    sheet.autofilter(2, 0, 2 + len(section.rows), len(section.columns) - 1)
    if section.note:
        sheet.write(4 + len(section.rows), 0, section.note, fmt["note"])


def _chart_sheet(book, section: Chart, name: str, fmt: dict) -> None:
    sheet = book.add_worksheet(name)
    sheet.write(0, 0, section.title, fmt["title"])
    if section.empty:
        sheet.write(2, 0, section.empty_text, fmt["note"])
        return
    series = list(section.series)
    sheet.write(2, 0, "", fmt["header"])
    for col, label in enumerate(series, start=1):
        sheet.write(2, col, label, fmt["header"])
    for r, category in enumerate(section.categories, start=3):
        sheet.write_string(r, 0, str(category))
        for col, label in enumerate(series, start=1):
            _cell(sheet, r, col, section.series[label][r - 3], section.value_kind, fmt)
    sheet.set_column(0, len(series), 18)
    last = 2 + len(section.categories)
    chart = book.add_chart({"type": "column" if section.kind == "bar" else "line"})
    for col, label in enumerate(series, start=1):
        chart.add_series({"name": [name, 2, col], "categories": [name, 3, 0, last, 0],
                          "values": [name, 3, col, last, col]})
    chart.set_title({"name": section.title})
    chart.set_y_axis({"name": section.y_title})
    chart.set_size({"width": 720, "height": 360})
    sheet.insert_chart(2, len(series) + 2, chart)
