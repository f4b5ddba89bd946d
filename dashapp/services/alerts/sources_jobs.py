"""Job failures for alert rules: every Job row that reached FAILED or TIMED_OUT, as events labelled
with its type and queue."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts.metrics import Event, EventSource, register_events
from models import Job
from models.job import JobState

MAX_EVENTS = 5000


def _failed(start: datetime, end: datetime) -> list[Event]:
    rows = db.session.execute(
        sa.select(Job.finished_at, Job.id, Job.job_type, Job.queue, Job.state, Job.message)
        .where(Job.state.in_((JobState.FAILED.value, JobState.TIMED_OUT.value)), Job.finished_at > start,
               Job.finished_at <= end)
        .order_by(Job.finished_at.desc()).limit(MAX_EVENTS)).all()
    return [Event(at, {"job_type": job_type, "queue": queue, "outcome": state}, f"job {job_id}: {message}"[:200])
            for at, job_id, job_type, queue, state, message in reversed(rows)]


register_events(EventSource("jobs.failed", "Job failed or timed out", ("job_type", "queue", "outcome"), _failed))
