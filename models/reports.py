"""Scheduled reports and the archive of every report produced (and whether it was delivered)."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

REPORT_TYPES = ("risk_daily", "best_execution")
CADENCES = ("daily", "weekly", "monthly", "cron")
DELIVERY_STATES = ("pending", "delivered", "retrying", "failed", "not_sent")


class ReportSchedule(db.Model):
    __tablename__ = "report_schedules"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(120), nullable=False, unique=True)
    report_type = sa.Column(sa.String(32), nullable=False)
    cadence = sa.Column(sa.String(16), nullable=False, default="daily")
    # For cadence 'cron' the expression; otherwise derived from time_of_day / weekday / day_of_month.
    cron = sa.Column(sa.String(120), nullable=True)
    time_of_day = sa.Column(sa.String(5), nullable=False, default="07:00")  # HH:MM in `timezone`
    weekday = sa.Column(sa.Integer, nullable=True)  # 0 = Monday (weekly)
    day_of_month = sa.Column(sa.Integer, nullable=True)  # 1-28 (monthly)
    timezone = sa.Column(sa.String(64), nullable=False, default="UTC")
    recipients = sa.Column(sa.Text, nullable=False, default="")  # comma-separated e-mail addresses
    formats = sa.Column(sa.String(64), nullable=False, default="pdf")  # comma-separated: pdf,xlsx,csv
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    next_run_at = sa.Column(UTCDateTime, nullable=True, index=True)
    last_run_at = sa.Column(UTCDateTime, nullable=True)
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("report_type in ('risk_daily', 'best_execution')", name="report_type"),
        sa.CheckConstraint("cadence in ('daily', 'weekly', 'monthly', 'cron')", name="cadence"),
    )


class ReportRun(db.Model):
    """One produced report: its file (kept in the instance's report archive) and its delivery."""

    __tablename__ = "report_runs"

    id = sa.Column(sa.Integer, primary_key=True)
    schedule_id = sa.Column(sa.Integer, sa.ForeignKey("report_schedules.id", ondelete="SET NULL"), nullable=True,
                            index=True)
    report_type = sa.Column(sa.String(32), nullable=False)
    job_id = sa.Column(sa.String(36), sa.ForeignKey("jobs.id"), nullable=True, index=True)
    slot = sa.Column(sa.String(64), nullable=True)  # the schedule slot it was produced for (idempotency)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    file_name = sa.Column(sa.String(255), nullable=True)
    file_sha256 = sa.Column(sa.String(64), nullable=True)
    file_size = sa.Column(sa.BigInteger, nullable=True)
    delivery_state = sa.Column(sa.String(16), nullable=False, default="pending")
    delivery_attempts = sa.Column(sa.Integer, nullable=False, default=0)
    last_error = sa.Column(sa.Text, nullable=True)
    delivered_at = sa.Column(UTCDateTime, nullable=True)
    recipients = sa.Column(sa.Text, nullable=False, default="")
    # Every file of the run (one per format): [{"format", "name", "sha256", "size"}]; file_name,
    # file_sha256 and file_size describe the first. (0005)
    files = sa.Column(sa.JSON, nullable=True)
    # When the next delivery attempt is due (backoff), or how long the current attempt holds it. (0005)
    next_attempt_at = sa.Column(UTCDateTime, nullable=True, index=True)

    __table_args__ = (
        sa.UniqueConstraint("schedule_id", "slot", name="uq_report_runs_schedule_slot"),
        sa.CheckConstraint("delivery_state in ('pending', 'delivered', 'retrying', 'failed', 'not_sent')",
                           name="delivery_state"),
    )
