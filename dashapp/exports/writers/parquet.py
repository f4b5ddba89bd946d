"""Parquet through pyarrow's ParquetWriter: typed columns (timestamps in UTC), zstd, one row group
per ROW_GROUP_ROWS rows, so memory holds at most one row group however long the table."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dashapp.exports.tables import Progress, Table

ROW_GROUP_ROWS = 100_000
COMPRESSION = "zstd"
ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "price": pa.float64(), "pct": pa.float64(),
               "str": pa.string(), "datetime": pa.timestamp("us", tz="UTC")}


def schema_for(table: Table, meta: dict | None = None) -> pa.Schema:
    metadata = {b"cockpit.export": json.dumps(meta or {}, default=str).encode()} if meta is not None else None
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in table.columns], metadata=metadata)


def write_table(path: Path, table: Table, progress: Progress, offset: int = 0, meta: dict | None = None,
                row_group_rows: int | None = None) -> int:
    row_group_rows = row_group_rows or ROW_GROUP_ROWS
    schema = schema_for(table, meta)
    written = 0
    pending: list[pa.Table] = []
    pending_rows = 0

    def flush(writer):
        nonlocal pending, pending_rows
        if pending:
            group = pa.concat_tables(pending)
            writer.write_table(group, row_group_size=len(group))
            pending, pending_rows = [], 0

    with pq.ParquetWriter(str(path), schema, compression=COMPRESSION) as writer:
        for chunk in table.chunks():
            columns = list(zip(*chunk))
            arrays = [pa.array(values, type=field.type, from_pandas=True)  # NaN -> null, as elsewhere
                      for values, field in zip(columns, schema)]
            pending.append(pa.Table.from_arrays(arrays, schema=schema))
            pending_rows += len(chunk)
            written += len(chunk)
            if pending_rows >= row_group_rows:
                flush(writer)
            progress(offset + written)
        flush(writer)
    return written
