"""Parquet archive of records before retention deletes them:
<instance>/archive/<kind>/<YYYY-MM-DD>/part-N.parquet, one part per batch.

A part is written to a temporary name, fsynced, renamed into place and its folder fsynced, all
BEFORE the batch's DELETE commits: a crash at any point leaves every record either still in the
store or in a complete part (or both, when the crash came between the two: the next run archives
those records again in a new part, so nothing is lost and nothing half-written is ever read).
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy.types as sa_types
from flask import current_app


def archive_root() -> Path:
    return Path(current_app.config["COCKPIT_SETTINGS"].instance_dir) / "archive"


def _cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def _schema(table, rows: list[dict]) -> pa.Schema:
    """Column types from the table, so an all-NULL column in one batch keeps its type across parts."""
    fields = []
    for column in table.columns:
        python = getattr(column.type, "impl", column.type)
        if isinstance(python, sa_types.DateTime):
            kind = pa.timestamp("us", tz="UTC")
        elif isinstance(python, (sa_types.Integer,)):
            kind = pa.int64()
        elif isinstance(python, sa_types.Float):
            kind = pa.float64()
        elif isinstance(python, sa_types.Boolean):
            kind = pa.bool_()
        else:
            kind = pa.string()
        fields.append(pa.field(column.name, kind))
    return pa.schema(fields)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_part(kind: str, day: date, table, rows: list[dict]) -> str:
    """Write one batch as the next free part of the day's folder; returns its path under archive/."""
    folder = archive_root() / kind / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    number = 1 + max((int(p.stem.split("-")[1]) for p in folder.glob("part-*.parquet")
                      if p.stem.split("-")[1].isdigit()), default=0)
    path = folder / f"part-{number}.parquet"
    schema = _schema(table, rows)
    data = pa.Table.from_pylist([{k: _cell(v) for k, v in row.items()} for row in rows], schema=schema)
    temp = folder / f".part-{number}.parquet.tmp"
    with open(temp, "wb") as handle:
        pq.write_table(data, handle, compression="zstd")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(folder)
    return str(path.relative_to(archive_root()))


def read_part(relative: str) -> list[dict]:
    return pq.read_table(archive_root() / relative).to_pylist()

