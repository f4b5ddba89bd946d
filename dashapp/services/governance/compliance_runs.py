"""Compliance report runs: each is a job (type `compliance_report`) whose files are written under
<instance>/compliance/<job_id>/ with their SHA-256 in the job's result; the Compliance page lists the
jobs and serves the files (checked against that hash) to COMPLIANCE_VIEW."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from dashapp.extensions import db
from dashapp.services.errors import Conflict, NotFound
from models import Job

JOB_TYPE = "compliance_report"
REPORTS = {"rts28": "Execution venues (RTS 28-style)", "rule606": "Order routing (Rule 606-style)",
           "transactions": "Transaction records (RTS 22 fields)"}
MIME = {"pdf": "application/pdf", "xml": "application/xml", "csv": "text/csv", "txt": "text/plain",
        "parquet": "application/vnd.apache.parquet",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def folder(job_id: str) -> Path:
    return Path(current_app.config["COCKPIT_SETTINGS"].instance_dir) / "compliance" / job_id


def _write(target: Path, data: bytes) -> dict:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)
    return {"name": target.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def produce(job_id: str, report: str, *, start: date | None = None, end: date | None = None,
            quarter: str | None = None, fmt: str = "csv", progress=lambda pct, message: None) -> dict:
    """Build one compliance report's files; returns what the job stores as its result."""
    from dashapp.reports import render
    from dashapp.reports import compliance as files
    from dashapp.services.governance import compliance as figures

    out = folder(job_id)
    written = []
    progress(10, f"collecting figures for {REPORTS[report].lower()}")
    if report == "rts28":
        p = figures.period(start, end)
        document = files.rts28_document(p)
        stem = f"rts28-{p.start:%Y%m%d}-{p.end:%Y%m%d}"
        for ext in ("pdf", "xlsx"):
            written.append(_write(out / f"{stem}.{ext}", render(document, ext)))
        label = str(p)
    elif report == "rule606":
        data = figures.rule606(quarter)
        stem = f"rule606-{quarter}"
        written.append(_write(out / f"{stem}.xml", files.rule606_xml(data)))
        written.append(_write(out / f"{stem}.pdf", render(files.rule606_document(data), "pdf")))
        label = quarter
    else:
        p = figures.period(start, end)
        stem = f"transactions-{p.start:%Y%m%d}-{p.end:%Y%m%d}"
        written.append(_write(out / f"{stem}.{fmt}", files.transactions_file(p, fmt)))
        written.append(_write(out / f"{stem}-fields.txt", files.fields_note().encode()))
        label = str(p)
    progress(95, "files written")
    return {"report": report, "label": REPORTS[report], "period": label, "files": written}


def list_runs(limit: int = 50) -> list[Job]:
    return list(db.session.execute(sa.select(Job).where(Job.job_type == JOB_TYPE).order_by(Job.created_at.desc())
                                   .limit(min(max(limit, 1), 500))).scalars())


@dataclass
class ComplianceFile:
    path: Path
    name: str
    mime: str
    sha256: str


def file_for(job_id: str, name: str) -> ComplianceFile:
    job = db.session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 36 else None
    if job is None or job.job_type != JOB_TYPE:
        raise NotFound(f"no compliance report {job_id!r}", field="job_id")
    item = next((f for f in (job.result or {}).get("files", []) if f.get("name") == name), None)
    if item is None:
        raise NotFound(f"compliance report {job_id} has no file {name!r}", field="name")
    path = folder(job_id) / item["name"]
    if path.parent != folder(job_id) or not path.is_file():
        raise NotFound(f"the file {name} of compliance report {job_id} is no longer on the server", field="name")
    if hashlib.sha256(path.read_bytes()).hexdigest() != item["sha256"]:
        raise Conflict(f"the file {name} changed after it was written; refusing to serve it", field="name")
    return ComplianceFile(path, item["name"], MIME.get(path.suffix.lstrip("."), "application/octet-stream"),
                          item["sha256"])
