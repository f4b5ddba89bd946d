"""One writer per format. CSV and Parquet hold one table per file: an export of several tables
(risk: VaR and limits) in those formats is a ZIP with one file per table plus summary.json."""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dashapp.exports.tables import ExportData, Progress, WriteResult
from dashapp.exports.writers import delimited, excel, jsonfile, parquet, pdf


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    mime: str
    write: Callable[[Path, ExportData, Progress], WriteResult] | None = None  # whole export in one file
    write_table: Callable | None = None  # one table per file (bundled in a ZIP when there are several)


FORMATS: dict[str, Format] = {
    "csv": Format("csv", "csv", "text/csv", write_table=delimited.write_table),
    "xlsx": Format("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", excel.write),
    "pdf": Format("pdf", "pdf", "application/pdf", pdf.write),
    "json": Format("json", "json", "application/json", jsonfile.write),
    "parquet": Format("parquet", "parquet", "application/vnd.apache.parquet", write_table=parquet.write_table),
}
ZIP_MIME = "application/zip"
MIME_BY_EXTENSION = {f.extension: f.mime for f in FORMATS.values()} | {"zip": ZIP_MIME}


def extension_for(fmt: str, data: ExportData) -> str:
    spec = FORMATS[fmt]
    return "zip" if spec.write_table is not None and len(data.tables) > 1 else spec.extension


def write(fmt: str, path: Path, data: ExportData, progress: Progress) -> WriteResult:
    """Write `data` to `path` (whose extension `extension_for` chose) in format `fmt`."""
    spec = FORMATS[fmt]
    if spec.write is not None:
        return spec.write(path, data, progress)
    extra = {"meta": data.meta} if fmt == "parquet" else {}
    if len(data.tables) == 1:
        table = data.tables[0]
        return WriteResult({table.name: spec.write_table(path, table, progress, 0, **extra)})
    return _bundle(spec, path, data, progress, extra)


def _bundle(spec: Format, path: Path, data: ExportData, progress: Progress, extra: dict) -> WriteResult:
    rows: dict[str, int] = {}
    folder = Path(tempfile.mkdtemp(prefix=".bundle-", dir=path.parent))
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as bundle:
            total = 0
            for table in data.tables:
                part = folder / f"{table.slug}.{spec.extension}"
                rows[table.name] = spec.write_table(part, table, progress, total, **extra)
                total += rows[table.name]
                bundle.write(part, part.name, compress_type=zipfile.ZIP_STORED if spec.name == "parquet" else None)
                part.unlink()
            bundle.writestr("summary.json", json.dumps({**data.meta, "rows": rows}, indent=2, default=str))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return WriteResult(rows)
