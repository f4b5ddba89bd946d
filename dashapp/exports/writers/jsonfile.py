"""JSON: one document, streamed. The export's facts first, then each table's rows as objects, one
per line, written chunk by chunk; the row counts close the document (known only by then).

    {"export": {...}, "tables": [{"name": "Orders", "columns": [...], "rows": [
    {...},
    {...}
    ], "row_count": 2}]}

Times are ISO 8601 UTC; NaN and infinities become null (JSON has neither)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from dashapp.exports.tables import ExportData, Progress, WriteResult

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _encoder(table):
    names = table.column_names()
    times = [i for i, c in enumerate(table.columns) if c.kind == "datetime"]
    floats = [i for i, c in enumerate(table.columns) if c.kind in ("float", "price", "pct")]

    def encode(row) -> str:
        row = list(row)
        for i in times:
            if row[i] is not None:
                row[i] = row[i].isoformat()
        for i in floats:
            value = row[i]
            if value is not None and not math.isfinite(value):
                row[i] = None
        return _dumps(dict(zip(names, row)))

    return encode


def write(path: Path, data: ExportData, progress: Progress) -> WriteResult:
    rows: dict[str, int] = {}
    total = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"export":' + _dumps(data.meta) + ',"tables":[')
        for t, table in enumerate(data.tables):
            columns = [{"name": c.name, "kind": c.kind} for c in table.columns]
            out.write(("," if t else "") + '\n{"name":' + _dumps(table.name) + ',"columns":' + _dumps(columns)
                      + ',"rows":[')
            encode = _encoder(table)
            written = 0
            for chunk in table.chunks():
                out.write(("," if written else "") + "\n" + ",\n".join(encode(row) for row in chunk))
                written += len(chunk)
                progress(total + written)
            out.write('\n],"row_count":' + str(written) + "}")
            rows[table.name] = written
            total += written
        out.write("\n]}\n")
    return WriteResult(rows)
