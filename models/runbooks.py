"""A runbook run: one allowlisted operations action (dashapp/services/ops/runbook_actions.py) from its
request, through its approval (dashapp/services/approvals.py) and execution, to its captured output.

    requested -> approved -> running -> succeeded | failed       (requested -> rejected | expired)
"""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

RUN_STATES = ("requested", "approved", "running", "succeeded", "failed", "rejected", "expired")


class RunbookRun(db.Model):
    __tablename__ = "runbook_runs"

    id = sa.Column(sa.Integer, primary_key=True)
    action = sa.Column(sa.String(40), nullable=False, index=True)
    params = sa.Column(sa.JSON, nullable=False, default=dict)
    reason = sa.Column(sa.String(300), nullable=False, default="")
    dry_run = sa.Column(sa.String(4000), nullable=False, default="")  # what it said it would do
    state = sa.Column(sa.String(12), nullable=False, default="requested", index=True)
    requested_by = sa.Column(sa.String(64), nullable=False)
    requested_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    approval_id = sa.Column(sa.Integer, nullable=True)  # approval_requests.id (that table comes later in the chain)
    approved_by = sa.Column(sa.String(64), nullable=True)
    job_id = sa.Column(sa.String(36), nullable=True)  # when it runs as a job
    incident_id = sa.Column(sa.Integer, sa.ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True,
                            index=True)
    started_at = sa.Column(UTCDateTime, nullable=True)
    finished_at = sa.Column(UTCDateTime, nullable=True)
    output = sa.Column(sa.String(8000), nullable=False, default="")  # bounded: the tail is kept

    __table_args__ = (
        sa.CheckConstraint("state in ('requested', 'approved', 'running', 'succeeded', 'failed', 'rejected', "
                           "'expired')", name="state"),
    )
