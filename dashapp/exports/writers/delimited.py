"""CSV: UTF-8, a header row, ISO 8601 UTC times, empty cells for missing values.

Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a
leading apostrophe (OWASP's advice against CSV injection): the values come from engines, and a
desk user opens these files in Excel."""
from __future__ import annotations

import csv
from pathlib import Path

from dashapp.exports.tables import Progress, Table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _prepared(chunk, times: list[int], texts: list[int]):
    """The chunk's rows as csv wants them, one at a time (no second copy of the chunk)."""
    if not times and not texts:
        yield from chunk
        return
    for row in chunk:
        row = list(row)
        for i in times:
            if row[i] is not None:
                row[i] = row[i].isoformat()
        for i in texts:
            value = row[i]
            if value and value.startswith(_FORMULA_START):
                row[i] = "'" + value
        yield row


def write_table(path: Path, table: Table, progress: Progress, offset: int = 0) -> int:
    times = [i for i, c in enumerate(table.columns) if c.kind == "datetime"]
    texts = [i for i, c in enumerate(table.columns) if c.kind == "str"]
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.column_names())
        for chunk in table.chunks():
            writer.writerows(_prepared(chunk, times, texts))
            written += len(chunk)
            progress(offset + written)
    return written
