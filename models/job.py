"""A unit of background work and its life: queued -> running -> a terminal state."""
import enum

import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED, JobState.TIMED_OUT})


class Job(db.Model):
    __tablename__ = "jobs"

    id = sa.Column(sa.String(36), primary_key=True)  # uuid4, also the Celery task id
    job_type = sa.Column(sa.String(32), nullable=False, index=True)
    params = sa.Column(sa.JSON, nullable=False, default=dict)
    state = sa.Column(sa.String(16), nullable=False, default=JobState.QUEUED.value, index=True)
    progress = sa.Column(sa.Float, nullable=False, default=0.0)
    message = sa.Column(sa.String(500), nullable=False, default="")
    log = sa.Column(sa.Text, nullable=False, default="")
    result = sa.Column(sa.JSON, nullable=True)
    error = sa.Column(sa.Text, nullable=True)
    queue = sa.Column(sa.String(32), nullable=False, default="default")
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    idempotency_key = sa.Column(sa.String(128), nullable=True, unique=True)
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    started_at = sa.Column(UTCDateTime, nullable=True)
    finished_at = sa.Column(UTCDateTime, nullable=True)
    heartbeat_at = sa.Column(UTCDateTime, nullable=True)
    # The Celery node (e.g. worker-1@host) running the current attempt: the reaper asks that node
    # whether it still runs the job, and waits longer when that node does not answer.
    worker = sa.Column(sa.String(200), nullable=True)

    __table_args__ = (
        sa.CheckConstraint(
            "state in ('queued', 'running', 'succeeded', 'failed', 'canceled', 'timed_out')", name="state"
        ),
        sa.CheckConstraint("progress >= 0 and progress <= 100", name="progress"),
    )

    @property
    def job_state(self) -> JobState:
        return JobState(self.state)
