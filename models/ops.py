"""Operations: what every process says about itself (heartbeats), the durable history of Celery tasks,
and the per-minute request outcomes the SLOs are computed from.

A heartbeat row is one (service, instance): web "host:port", a Celery worker's node name, beat, the
engine supervisor, the alerter. Its age is the truth about whether the process is alive (services/ops/
health.py); `detail` carries what only that process knows (queues, push connections, endpoint latency,
its database pool). Task runs are written from Celery signals in the worker and survive any restart.
"""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

TASK_RUN_STATES = ("started", "succeeded", "failed", "retry", "revoked")


class ServiceHeartbeat(db.Model):
    __tablename__ = "service_heartbeats"

    id = sa.Column(sa.Integer, primary_key=True)
    service = sa.Column(sa.String(32), nullable=False)  # web | worker | beat | engine-supervisor | alerter
    instance = sa.Column(sa.String(160), nullable=False)
    host = sa.Column(sa.String(128), nullable=False, default="")
    pid = sa.Column(sa.Integer, nullable=False, default=0)
    version = sa.Column(sa.String(40), nullable=False, default="")
    started_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    beat_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    stopped_at = sa.Column(UTCDateTime, nullable=True)  # set by a clean shutdown; a crash leaves it NULL
    detail = sa.Column(sa.JSON, nullable=False, default=dict)

    __table_args__ = (sa.UniqueConstraint("service", "instance", name="uq_service_heartbeats_service_instance"),)


class TaskRun(db.Model):
    """One Celery task id: a redelivered or retried task updates its row (retries counts them)."""

    __tablename__ = "task_runs"

    id = sa.Column(sa.Integer, primary_key=True)
    task_id = sa.Column(sa.String(64), nullable=False, unique=True)
    name = sa.Column(sa.String(128), nullable=False, index=True)
    queue = sa.Column(sa.String(32), nullable=False, default="")
    worker = sa.Column(sa.String(160), nullable=False, default="")
    args = sa.Column(sa.String(300), nullable=False, default="")  # a bounded summary, never the full payload
    state = sa.Column(sa.String(12), nullable=False, default="started")
    retries = sa.Column(sa.Integer, nullable=False, default=0)
    started_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    finished_at = sa.Column(UTCDateTime, nullable=True)
    runtime_s = sa.Column(sa.Float, nullable=True)
    exception = sa.Column(sa.String(1000), nullable=True)
    job_id = sa.Column(sa.String(36), nullable=True, index=True)  # the Job row a run_job task worked on

    __table_args__ = (
        sa.CheckConstraint("state in ('started', 'succeeded', 'failed', 'retry', 'revoked')", name="state"),
        sa.CheckConstraint("retries >= 0", name="retries"),
    )


class SloSample(db.Model):
    """Request outcomes of one SLO in one UTC minute, added up by the web processes in batches."""

    __tablename__ = "slo_samples"

    id = sa.Column(sa.Integer, primary_key=True)
    slo = sa.Column(sa.String(40), nullable=False)
    minute = sa.Column(UTCDateTime, nullable=False)
    good = sa.Column(sa.Integer, nullable=False, default=0)
    total = sa.Column(sa.Integer, nullable=False, default=0)

    __table_args__ = (
        sa.UniqueConstraint("slo", "minute", name="uq_slo_samples_slo_minute"),
        sa.CheckConstraint("good >= 0 and total >= good", name="counts"),
        sa.Index("ix_slo_samples_minute", "minute"),
    )
