"""The report archive: produced files under <instance_dir>/reports/YYYY/MM/, each with a ReportRun
row holding its SHA-256 and size (and its delivery state, see dashapp.services.delivery).

A run is produced once per (schedule, slot): a second attempt of the same job, or a second job for
the same slot, finds the existing row and returns it instead of building another report.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from dashapp.extensions import db
from dashapp.reports import FORMATS, ReportRequest, build, label, render
from dashapp.services.errors import NotFound
from dashapp.services.unit_of_work import unit_of_work
from models import Job, ReportRun, ReportSchedule, utcnow


def archive_root() -> Path:
    root = Path(current_app.config["COCKPIT_SETTINGS"].instance_dir) / "reports"
    root.mkdir(parents=True, exist_ok=True)
    return root


def existing_run(schedule_id: int | None, slot: str | None) -> ReportRun | None:
    if schedule_id is None or slot is None:
        return None
    return db.session.execute(sa.select(ReportRun).where(ReportRun.schedule_id == schedule_id,
                                                         ReportRun.slot == slot)).scalar()


def _write(root: Path, relative: str, data: bytes) -> dict:
    """Write atomically (a reader never sees half a file) and describe the file."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return {"name": relative, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def produce(report_type: str, formats: list[str], request: ReportRequest, *, recipients: list[str],
            schedule_id: int | None = None, slot: str | None = None, job_id: str | None = None,
            progress=lambda pct, message: None) -> ReportRun:
    """Build the report, archive one file per format, and record the run (delivery 'pending', due now)."""
    if (done := existing_run(schedule_id, slot)) is not None:
        return done
    progress(10, f"collecting the {label(report_type).lower()} figures")
    document = build(report_type, request)
    root = archive_root()
    stamp = f"{request.as_of:%Y%m%dT%H%M%SZ}"
    files = []
    for index, fmt in enumerate(formats):
        progress(40 + 40 * index / len(formats), f"rendering {FORMATS[fmt][0]}")
        relative = f"{request.as_of:%Y/%m}/{report_type}-{stamp}-{uuid.uuid4().hex[:8]}.{fmt}"
        files.append({"format": fmt, **_write(root, relative, render(document, fmt))})
    now = utcnow()
    run = ReportRun(schedule_id=schedule_id, report_type=report_type, job_id=job_id, slot=slot, created_at=now,
                    file_name=files[0]["name"], file_sha256=files[0]["sha256"], file_size=files[0]["size"],
                    files=files, delivery_state="pending", delivery_attempts=0, next_attempt_at=now,
                    recipients=",".join(recipients))
    try:
        with unit_of_work() as session:
            session.add(run)
    except IntegrityError:  # another attempt archived this slot first: keep its files, drop ours
        for item in files:
            (root / item["name"]).unlink(missing_ok=True)
        if (done := existing_run(schedule_id, slot)) is not None:
            return done
        raise
    return run


def get_run(run_id: int) -> ReportRun:
    run = db.session.get(ReportRun, run_id)
    if run is None:
        raise NotFound(f"no archived report with id {run_id}", field="run_id")
    return run


def run_files(run: ReportRun) -> list[dict]:
    if run.files:
        return list(run.files)
    if run.file_name:
        return [{"format": Path(run.file_name).suffix.lstrip("."), "name": run.file_name,
                 "sha256": run.file_sha256, "size": run.file_size}]
    return []


def file_path(run: ReportRun, fmt: str) -> tuple[Path, dict]:
    """The archived file of one format of a run, checked to lie inside the archive."""
    for item in run_files(run):
        if item["format"] == fmt:
            root = archive_root().resolve()
            path = (root / item["name"]).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                raise NotFound(f"the {fmt} file of report {run.id} is missing from the archive", field="format")
            return path, item
    raise NotFound(f"report {run.id} has no {fmt} file", field="format")


def list_runs(limit: int = 200, since=None) -> list[tuple[ReportRun, str]]:
    """Newest first, each with the name of the schedule that produced it (kept after a delete);
    `since` (a datetime) is the page's time range."""
    stmt = (sa.select(ReportRun, ReportSchedule.name, Job.params).outerjoin(ReportSchedule,
                                                                           ReportRun.schedule_id == ReportSchedule.id)
            .outerjoin(Job, ReportRun.job_id == Job.id).order_by(ReportRun.created_at.desc(), ReportRun.id.desc())
            .limit(min(max(limit, 1), 1000)))
    if since is not None:
        stmt = stmt.where(ReportRun.created_at >= since)
    return [(run, name or (params or {}).get("schedule_name") or "ad hoc")
            for run, name, params in db.session.execute(stmt).all()]


def schedule_name(run: ReportRun) -> str:
    if run.schedule_id is not None and (schedule := db.session.get(ReportSchedule, run.schedule_id)) is not None:
        return schedule.name
    job = db.session.get(Job, run.job_id) if run.job_id else None
    return ((job.params or {}).get("schedule_name") if job else None) or "ad hoc"


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def run_summary(run: ReportRun, schedule_name: str) -> dict:
    """One archive grid row; `files` is markdown with one download link per format."""
    files = run_files(run)
    links = " · ".join(f"[{item['format'].upper()}](/api/v1/reports/runs/{run.id}/download?format={item['format']})"
                       for item in files)
    return {"id": run.id, "created_at": _when(run.created_at), "report": label(run.report_type),
            "schedule": schedule_name, "files": links, "size_kb": round(sum(i["size"] or 0 for i in files) / 1024, 1),
            "sha256": ", ".join(i["sha256"][:12] for i in files), "delivery_state": run.delivery_state,
            "attempts": run.delivery_attempts, "last_error": run.last_error or "",
            "delivered_at": _when(run.delivered_at), "recipients": run.recipients.replace(",", ", ")}
