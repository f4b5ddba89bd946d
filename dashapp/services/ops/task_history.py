"""The durable history of Celery tasks: one `task_runs` row per task id, written from Celery's
signals in the worker (workers/ops_signals.py) and kept in the store, so a restart of any process
loses none of it (Flower's in-memory history is lost with its process).

A run_job task's row names its job, and the job row names what it produced (`Job.result`: an export,
a report, a backtest, a model), so the Operations page links a task to its product.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import Job, TaskRun, utcnow

ARGS_MAX = 300
EXCEPTION_MAX = 1000
SEARCH_MAX = 80
RESULT_LIMIT = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
STATE_BY_CELERY = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retry", "REVOKED": "revoked"}


def summarize_args(args, kwargs) -> str:
    """A bounded, single-line summary of a task's arguments (never the whole payload)."""
    try:
        text = json.dumps({"args": list(args or ()), "kwargs": dict(kwargs or {})}, default=str, sort_keys=True)
    except (TypeError, ValueError):
        text = repr((args, kwargs))
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= ARGS_MAX else text[: ARGS_MAX - 1] + "…"


def _bounded(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = _CONTROL.sub(" ", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(session, task_id: str) -> TaskRun | None:
    return session.execute(sa.select(TaskRun).where(TaskRun.task_id == task_id)).scalar_one_or_none()


def record_start(task_id: str, name: str, queue: str, worker: str, args: str, retries: int,
                 job_id: str | None = None) -> None:
    """A task starts (or starts again: a retry or a redelivery keeps its id and bumps `retries`)."""
    with unit_of_work() as session:
        row = _row(session, task_id)
        if row is None:
            row = TaskRun(task_id=task_id[:64], name=name[:128], retries=0)
            session.add(row)
        else:
            row.retries = max(row.retries + (1 if row.state in ("retry", "started") else 0), int(retries or 0))
        row.queue, row.worker, row.args = (queue or "")[:32], (worker or "")[:160], args[:ARGS_MAX]
        row.state, row.started_at, row.finished_at, row.runtime_s = "started", utcnow(), None, None
        row.exception = None
        row.job_id = (job_id or None) and job_id[:36]


def record_end(task_id: str, celery_state: str, exception: str | None = None, name: str = "") -> None:
    """A task ended: SUCCESS / FAILURE / RETRY / REVOKED (Celery's names)."""
    state = STATE_BY_CELERY.get(celery_state, "failed")
    now = utcnow()
    with unit_of_work() as session:
        row = _row(session, task_id)
        if row is None:  # revoked before it started, or its start was not recorded
            row = TaskRun(task_id=task_id[:64], name=(name or "?")[:128], started_at=now, retries=0)
            session.add(row)
        if state == "failed" and row.state == "failed" and exception is None:
            return  # task_failure already wrote the exception; postrun only repeats the state
        row.state, row.finished_at = state, now
        row.runtime_s = max(0.0, (now - row.started_at).total_seconds()) if row.started_at else None
        if exception is not None:
            row.exception = _bounded(exception, EXCEPTION_MAX)


@dataclass(frozen=True)
class TaskQuery:
    text: str = ""  # matches the task name, task id, job id, worker or queue (case-insensitive)
    state: str = ""  # one of the TaskRun states, or "" for all
    hours: float = 24.0
    limit: int = RESULT_LIMIT


def validate_query(text, state, hours) -> TaskQuery:
    text = (text or "").strip()
    if len(text) > SEARCH_MAX:
        raise ValidationError(f"search: at most {SEARCH_MAX} characters", field="search")
    if _CONTROL.search(text) or "\n" in text or "\t" in text:
        raise ValidationError("search: control characters are not allowed", field="search")
    state = state or ""
    if state and state not in ("started", "succeeded", "failed", "retry", "revoked"):
        raise ValidationError("state: unknown task state", field="state")
    try:
        hours = float(hours if hours not in (None, "") else 24)
    except (TypeError, ValueError):
        raise ValidationError("hours: a number of hours", field="hours") from None
    if not 0 < hours <= 24 * 90:
        raise ValidationError("hours: between 0 and 2160 (90 days)", field="hours")
    return TaskQuery(text, state, hours)


def search(query: TaskQuery, now: datetime | None = None) -> list[dict]:
    """Newest first; each row with its job's type and what the job produced (when it is a job)."""
    now = now or utcnow()
    stmt = (sa.select(TaskRun, Job.job_type, Job.result)
            .outerjoin(Job, Job.id == TaskRun.job_id)
            .where(TaskRun.started_at >= now - timedelta(hours=query.hours))
            .order_by(TaskRun.started_at.desc(), TaskRun.id.desc()).limit(query.limit))
    if query.state:
        stmt = stmt.where(TaskRun.state == query.state)
    if query.text:
        escaped = query.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        stmt = stmt.where(sa.or_(*(sa.func.lower(col).like(like, escape="\\") for col in
                                   (TaskRun.name, TaskRun.task_id, TaskRun.job_id, TaskRun.worker, TaskRun.queue))))
    return [_as_dict(run, job_type, result) for run, job_type, result in db.session.execute(stmt).all()]


def _produced(job_type: str | None, result) -> str:
    if not job_type:
        return ""
    if isinstance(result, dict):
        for key in ("export_id", "report_run_id", "backtest_id", "model_id", "file", "name", "path"):
            if result.get(key) not in (None, ""):
                return f"{job_type}: {key.replace('_id', '')} {result[key]}"[:120]
    return job_type


def _as_dict(run: TaskRun, job_type: str | None, result) -> dict:
    return {"id": run.task_id, "name": run.name, "queue": run.queue, "worker": run.worker, "state": run.state,
            "retries": run.retries, "started_at": run.started_at.isoformat(timespec="seconds"),
            "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else "",
            "runtime_s": round(run.runtime_s, 3) if run.runtime_s is not None else None,
            "args": run.args, "exception": run.exception or "", "job_id": run.job_id or "",
            "produced": _produced(job_type, result)}


def rates(window_s: float = 300.0, now: datetime | None = None) -> list[dict]:
    """Per task name over the last `window_s`: runs, failures, runs per minute, mean runtime."""
    now = now or utcnow()
    since = now - timedelta(seconds=window_s)
    rows = db.session.execute(
        sa.select(TaskRun.name, TaskRun.state, sa.func.count(), sa.func.avg(TaskRun.runtime_s))
        .where(TaskRun.started_at >= since).group_by(TaskRun.name, TaskRun.state)).all()
    by_name: dict[str, dict] = {}
    for name, state, count, mean in rows:
        entry = by_name.setdefault(name, {"name": name, "runs": 0, "failed": 0, "running": 0, "_rt": [], })
        entry["runs"] += count
        entry["failed"] += count if state == "failed" else 0
        entry["running"] += count if state == "started" else 0
        if mean is not None:
            entry["_rt"].append((float(mean), count))
    out = []
    for entry in by_name.values():
        weighted = entry.pop("_rt")
        total = sum(c for _, c in weighted)
        entry["mean_runtime_s"] = round(sum(m * c for m, c in weighted) / total, 4) if total else None
        entry["per_minute"] = round(entry["runs"] * 60.0 / window_s, 2)
        out.append(entry)
    return sorted(out, key=lambda e: -e["runs"])


def totals_by_name_state() -> list[tuple[str, str, int]]:
    """Counts of every stored run per (name, state), for /metrics."""
    return [(n, s, int(c)) for n, s, c in db.session.execute(
        sa.select(TaskRun.name, TaskRun.state, sa.func.count()).group_by(TaskRun.name, TaskRun.state)).all()]


def prune(older_than_days: float = 30.0, now: datetime | None = None) -> int:
    """Delete runs that started before the retention window (the job rows keep their own history)."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    with unit_of_work() as session:
        return session.execute(sa.delete(TaskRun).where(TaskRun.started_at < cutoff)).rowcount or 0
