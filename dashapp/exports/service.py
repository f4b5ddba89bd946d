"""Exports: launch one (validated, permission-checked), write it chunk by chunk under
<instance>/exports/<job_id>.<ext> with its SHA-256, and hand a finished one out for download
(audited). The `export` job type (dashapp.services.jobtypes.export) calls `run_export_job`.

The audit record of an export and the job's move to `succeeded` commit in one transaction: an
export is never 'done' without its record, nor recorded without being done."""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pydantic
import sqlalchemy as sa
from flask import current_app

from dashapp.exports import datasets, writers
from dashapp.exports.params import DATASETS, FORMATS, ExportParams
from dashapp.exports.tables import ExportData
from dashapp.exports.writers.pdf import PDF_MAX_ROWS
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit, jobs
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import Job, JobState, utcnow

EXPORT_JOB = "export"
PROGRESS_EVERY_S = 0.5
DOWNLOAD_PATH = "/api/v1/exports/{job_id}/download"


def exports_dir() -> Path:
    folder = Path(current_app.config["COCKPIT_SETTINGS"].instance_dir) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def validate_params(params: dict | None) -> ExportParams:
    """Pydantic's verdict as a ValidationError naming the first bad field (422 at the edges)."""
    try:
        return ExportParams.model_validate(params or {})
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        field = ".".join(str(part) for part in errors[0]["loc"]) or "params"
        raise ValidationError(f"export parameter {field!r}: {errors[0]['msg']}", field=f"params.{field}",
                              details=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in errors]
                              ) from None


def launch_export(actor: str, role: str | None, params: dict | None, idempotency_key: str | None = None, *,
                  port: jobs.JobPort) -> Job:
    """Check the role, the parameters and that every filter names something that exists, then
    queue the job (the job service validates and audits the launch again)."""
    if not has_permission(role, Perm.EXPORTS_DOWNLOAD):
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.EXPORTS_DOWNLOAD.value} "
                               f"needed to export")
    datasets.resolve_filters(validate_params(params))
    return jobs.launch(actor, role, EXPORT_JOB, params, idempotency_key, port=port)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _meta(params: ExportParams, data: ExportData, actor: str, job_id: str, generated_at) -> dict:
    extra = dict(data.meta)
    since, until = extra.pop("since", params.since), extra.pop("until", params.until)
    return {"dataset": params.dataset, "dataset_label": DATASETS[params.dataset]["label"],
            "format": FORMATS[params.format], "generated_at": generated_at.strftime("%Y-%m-%d %H:%M:%S"),
            "generated_by": actor, "job_id": job_id, "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None, "filters": params.filters.given(),
            "description": params.describe(), "extra": extra}


def expected_rows(params: ExportParams, data: ExportData) -> int:
    cap = PDF_MAX_ROWS if params.format == "pdf" else None
    return sum(min(t.count or 0, cap) if cap else (t.count or 0) for t in data.tables)


def write_export(params: ExportParams, folder: Path, name: str, actor: str,
                 on_progress: Callable[[int, int], None] = lambda done, expected: None,
                 chunk_rows: int | None = None) -> dict:
    """Write the export to folder/<name>.<ext> (through a .part file, renamed when complete) and
    describe it: file, size, SHA-256, rows."""
    generated_at = utcnow()
    data = datasets.build(params, chunk_rows or datasets.CHUNK_ROWS)
    data.meta = _meta(params, data, actor, name, generated_at)
    extension = writers.extension_for(params.format, data)
    final = folder / f"{name}.{extension}"
    part = folder / f".{name}.{extension}.part"
    expected = expected_rows(params, data)
    try:
        written = writers.write(params.format, part, data, lambda done: on_progress(done, expected))
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return {"file": final.name, "download_name": f"{params.dataset}-{generated_at:%Y%m%d-%H%M%S}.{extension}",
            "mime": writers.MIME_BY_EXTENSION[extension], "size": final.stat().st_size,
            "sha256": sha256_file(final), "rows": written.total, "rows_by_table": written.rows,
            "dataset": params.dataset, "format": params.format, "notes": written.notes,
            "generated_at": data.meta["generated_at"]}


def _throttled(ctx: jobs.JobContext) -> Callable[[int, int], None]:
    last = [0.0]

    def report(done: int, expected: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        pct = 5 + 90 * min(done / expected, 1.0) if expected else 50
        ctx.progress(pct, f"{done:,} of {expected:,} rows written")

    return report


def run_export_job(ctx: jobs.JobContext, params: ExportParams) -> dict:
    actor = jobs.get_job(ctx.job_id).created_by
    ctx.progress(1, f"reading {DATASETS[params.dataset]['label'].lower()}")
    result = write_export(params, exports_dir(), ctx.job_id, actor, _throttled(ctx))
    ctx.log(f"wrote {result['file']}: {result['rows']:,} rows, {result['size']:,} bytes, sha256 {result['sha256']}")
    path = exports_dir() / result["file"]
    try:
        with unit_of_work():
            audit.record(actor, "export.create", f"job:{ctx.job_id}", {
                "dataset": params.dataset, "format": params.format, "filters": params.filters.given(),
                "since": params.since.isoformat() if params.since else None,
                "until": params.until.isoformat() if params.until else None, "rows": result["rows"],
                "file": result["file"], "size": result["size"], "sha256": result["sha256"]})
            if not jobs.succeed(ctx.job_id, result, attempt=ctx.attempt):
                raise jobs.JobAborted(f"job {ctx.job_id} is no longer running")
    except BaseException:
        path.unlink(missing_ok=True)  # canceled or failed at the last moment: no orphan file
        raise
    return result


def clean_orphan_files() -> list[str]:
    """Delete what killed export jobs left in the exports folder: a `.part` file whose job no
    attempt is running any more, and a finished file whose job did not succeed (killed between the
    rename and the commit). Run by beat's reaper; returns the names removed."""
    from dashapp.extensions import db

    folder = exports_dir()
    by_job: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        job_id = path.name.lstrip(".").split(".", 1)[0]
        if path.is_file() and len(job_id) == 36:  # files are named after their job's uuid
            by_job.setdefault(job_id, []).append(path)
    if not by_job:
        return []
    states = dict(db.session.execute(sa.select(Job.id, Job.state).where(Job.id.in_(list(by_job)))).all())
    removed = []
    for job_id, paths in by_job.items():
        state = states.get(job_id)
        for path in paths:
            partial = path.name.endswith(".part")
            if (partial and state != JobState.RUNNING.value) or (
                    not partial and state not in (JobState.SUCCEEDED.value, *jobs.ACTIVE)):
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


# --- reading and downloading -----------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    path: Path
    mime: str
    download_name: str
    sha256: str
    size: int


def export_job(job_id: str) -> Job:
    from dashapp.extensions import db

    job = db.session.get(Job, str(job_id)[:64])
    if job is None or job.job_type != EXPORT_JOB:
        raise NotFound(f"no export job with id {job_id}", field="job_id")
    return job


def downloadable(job_id: str) -> Download:
    """The file of a succeeded export job, or the reason it cannot be downloaded."""
    job = export_job(job_id)
    if job.state != JobState.SUCCEEDED.value:
        if job.job_state.is_terminal:
            raise Conflict(f"export job {job_id} {job.state}" + (f": {job.error}" if job.error else "")
                           + "; there is no file to download", field="job_id")
        raise Conflict(f"export job {job_id} is still {job.state} ({job.progress or 0:.0f}%): "
                       f"download it when it has succeeded", field="job_id")
    result = job.result or {}
    name = str(result.get("file", ""))
    folder = exports_dir()
    path = folder / name
    if not name or path.parent != folder or not path.is_file():
        raise NotFound(f"the file of export job {job_id} is no longer on the server", field="job_id")
    if path.stat().st_size != result.get("size"):
        raise Conflict(f"the file of export job {job_id} changed after it was written (size differs); "
                       f"refusing to serve it", field="job_id")
    return Download(path, result.get("mime") or "application/octet-stream", result.get("download_name") or name,
                    result.get("sha256", ""), int(result["size"]))


def record_download(actor: str, job_id: str, download: Download, via: str) -> None:
    with unit_of_work():
        audit.record(actor, "export.download", f"job:{job_id}", {
            "file": download.path.name, "size": download.size, "sha256": download.sha256, "via": via})


def _size_text(size: int | None) -> str:
    if not size:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


def summary(job: Job) -> dict:
    """One row of the Exports page's list."""
    params = job.params or {}
    result = job.result or {}
    try:
        what = ExportParams.model_validate(params).describe()
    except pydantic.ValidationError:
        what = str(params)
    succeeded = job.state == JobState.SUCCEEDED.value
    return {"id": job.id, "created_at": job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else "",
            "created_by": job.created_by, "what": what, "dataset": params.get("dataset"),
            "format": params.get("format"), "state": job.state, "progress": round(job.progress or 0.0, 1),
            "message": job.error or job.message or "", "rows": result.get("rows") if succeeded else None,
            "size": _size_text(result.get("size")) if succeeded else "",
            "download_name": result.get("download_name") if succeeded else None,
            "url": DOWNLOAD_PATH.format(job_id=job.id) if succeeded else None}


def list_exports(created_by: str | None = None, limit: int = 50) -> list[dict]:
    return [summary(job) for job in jobs.list_jobs(job_type_name=EXPORT_JOB, created_by=created_by, limit=limit)]
