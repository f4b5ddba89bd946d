"""E-mail delivery of archived reports over SMTP, with retries.

A run starts 'pending' and due at once. Each attempt first claims the run with a conditional UPDATE
(attempt counter + a lease on `next_attempt_at`), so the report job and the periodic retry never
send the same run twice at the same moment; the outcome is written only if the claim still holds.

    pending | retrying --send ok--> delivered
                       --error----> retrying (next attempt after a doubling backoff)
                                    failed    (after the last attempt, or a permanent 5xx refusal)
    no SMTP_HOST, or no recipients -> not_sent (nothing to retry until someone resends it)
"""
from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from flask import current_app

from dashapp.config import Settings
from dashapp.extensions import db
from dashapp.reports import FORMATS, label
from dashapp.reports.archive import archive_root, get_run, run_files, schedule_name
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import audit
from dashapp.services.errors import Conflict, PermissionDenied
from dashapp.services.unit_of_work import unit_of_work
from models import ReportRun, utcnow

OPEN = ("pending", "retrying")
LEASE = timedelta(minutes=5)  # longer than an attempt can take (connect + send timeouts)
MAX_BACKOFF = timedelta(hours=1)
RESENDABLE = ("failed", "not_sent", "delivered")


def _knob(settings: Settings, name: str, default: str) -> float:
    """A delivery tuning knob: settings.extra[name], else env COCKPIT_<NAME>, else the default
    (the same convention as the workers' knobs)."""
    return float(settings.extra.get(name) or os.environ.get(f"COCKPIT_{name.upper()}") or default)


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    base_backoff: float  # seconds before the 2nd attempt; doubles each time, capped at MAX_BACKOFF
    timeout: float  # per SMTP connection

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        return cls(int(_knob(settings, "report_delivery_max_attempts", "5")),
                   _knob(settings, "report_retry_base_seconds", "60"), _knob(settings, "smtp_timeout_seconds", "20"))

    def backoff(self, attempts: int) -> timedelta:
        return min(timedelta(seconds=self.base_backoff * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _settings() -> Settings:
    return current_app.config["COCKPIT_SETTINGS"]


def configuration_problem(settings: Settings | None = None) -> str | None:
    """None when e-mail can be sent; otherwise why not, for the page and the run's last error."""
    settings = settings or _settings()
    if not settings.smtp_host:
        return "e-mail delivery is not configured: set SMTP_HOST (and SMTP_PORT, SMTP_FROM, SMTP_USER/SMTP_PASSWORD)"
    return None


def describe_configuration(settings: Settings | None = None) -> str:
    settings = settings or _settings()
    if configuration_problem(settings):
        return configuration_problem(settings)
    security = "implicit TLS" if settings.smtp_port == 465 else ("STARTTLS" if settings.smtp_starttls else "no TLS")
    auth = f", as {settings.smtp_user}" if settings.smtp_user else ""
    return f"e-mail from {settings.smtp_from} via {settings.smtp_host}:{settings.smtp_port} ({security}{auth})"


# --- the message -------------------------------------------------------------------------------


class ArchiveDamaged(Exception):
    """An archived file no longer matches the SHA-256 recorded when it was produced."""


def build_message(run: ReportRun, settings: Settings) -> EmailMessage:
    root = archive_root()
    files = run_files(run)
    title = f"{label(run.report_type)} report · {schedule_name(run)}"
    message = EmailMessage()
    message["Subject"] = f"[Cockpit] {title} · {run.created_at:%Y-%m-%d %H:%M} UTC"
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(r for r in run.recipients.split(",") if r)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or "cockpit.local")
    lines = [f"{title}, produced {run.created_at:%Y-%m-%d %H:%M:%S} UTC (archive id {run.id}).", "",
             "Attached:"]
    lines += [f"  {item['name'].rsplit('/', 1)[-1]}  {item['size']:,} bytes  sha256 {item['sha256']}" for item in files]
    lines += ["", "The same files stay in the cockpit's report archive (Reports page)."]
    message.set_content("\n".join(lines))
    for item in files:
        data = (root / item["name"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            raise ArchiveDamaged(f"{item['name']} does not match its recorded SHA-256; not sending it")
        maintype, subtype = FORMATS[item["format"]][1].split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=item["name"].rsplit("/", 1)[-1])
    return message


def send(message: EmailMessage, settings: Settings, timeout: float) -> dict:
    """Send one message; returns the recipients the server refused (when it accepted some)."""
    if settings.smtp_port == 465:
        client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with client as smtp:
        if settings.smtp_port != 465 and settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        return smtp.send_message(message)


def _permanent(exc: Exception) -> bool:
    """A 5xx answer (or every recipient refused) will not change by waiting."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


# --- attempts ----------------------------------------------------------------------------------


def _write(run_id: int, where, **values) -> bool:
    with unit_of_work() as session:
        moved = session.execute(sa.update(ReportRun).where(ReportRun.id == run_id, *where).values(**values)
                                .execution_options(synchronize_session=False)).rowcount == 1
    return moved


def deliver(run_id: int, now: datetime | None = None) -> str:
    """One delivery attempt if the run is due; returns the run's state afterwards."""
    settings = _settings()
    policy = Policy.from_settings(settings)
    now = now or utcnow()
    run = get_run(run_id)
    if run.delivery_state not in OPEN or (run.next_attempt_at and run.next_attempt_at > now):
        return run.delivery_state
    problem = configuration_problem(settings) or (None if run.recipients.strip(",") else "the report has no recipients")
    if problem:
        _write(run_id, (ReportRun.delivery_state.in_(OPEN),), delivery_state="not_sent", last_error=problem,
               next_attempt_at=None)
        return _state(run_id)
    attempt = run.delivery_attempts + 1
    due = sa.or_(ReportRun.next_attempt_at.is_(None), ReportRun.next_attempt_at <= now)
    if not _write(run_id, (ReportRun.delivery_state.in_(OPEN), ReportRun.delivery_attempts == attempt - 1, due),
                  delivery_attempts=attempt, next_attempt_at=now + LEASE):
        return _state(run_id)  # someone else is sending it
    mine = (ReportRun.delivery_state.in_(OPEN), ReportRun.delivery_attempts == attempt)
    try:
        refused = send(build_message(get_run(run_id), settings), settings, policy.timeout)
    except Exception as exc:  # every failure is recorded on the run; nothing propagates to the job
        error = f"attempt {attempt}/{policy.max_attempts}: {type(exc).__name__}: {exc}"[:1000]
        final = isinstance(exc, ArchiveDamaged) or _permanent(exc) or attempt >= policy.max_attempts
        current_app.logger.warning("report run %s delivery %s", run_id, error)
        _write(run_id, mine, delivery_state="failed" if final else "retrying", last_error=error,
               next_attempt_at=None if final else now + policy.backoff(attempt))
        return _state(run_id)
    note = f"refused by the server: {', '.join(sorted(refused))}" if refused else None
    _write(run_id, mine, delivery_state="delivered", delivered_at=utcnow(), last_error=note, next_attempt_at=None)
    return _state(run_id)


def _state(run_id: int) -> str:
    db.session.expire_all()
    return get_run(run_id).delivery_state


def retry_due(now: datetime | None = None, limit: int = 20) -> dict[int, str]:
    """Attempt every open run whose next attempt is due (beat calls this); run id -> state after."""
    now = now or utcnow()
    due = list(db.session.execute(
        sa.select(ReportRun.id).where(ReportRun.delivery_state.in_(OPEN),
                                      sa.or_(ReportRun.next_attempt_at.is_(None), ReportRun.next_attempt_at <= now))
        .order_by(ReportRun.next_attempt_at).limit(limit)).scalars())
    return {run_id: deliver(run_id, now) for run_id in due}


def resend(actor: str, role: str | None, run_id: int) -> ReportRun:
    """Queue a finished run for delivery again (after SMTP was configured or fixed); audited."""
    if not has_permission(role, Perm.REPORTS_MANAGE):
        audit.record(actor, "report_run.resend", f"report_run:{run_id}", {"role": role}, outcome="denied")
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.REPORTS_MANAGE.value}")
    run = get_run(run_id)
    if run.delivery_state not in RESENDABLE:
        raise Conflict(f"report {run_id} is {run.delivery_state}: its delivery is still under way", field="run_id")
    with unit_of_work():
        if not _write(run_id, (ReportRun.delivery_state == run.delivery_state,), delivery_state="pending",
                      delivery_attempts=0, next_attempt_at=utcnow(), last_error=None):
            raise Conflict(f"report {run_id} changed state meanwhile; try again", field="run_id")
        audit.record(actor, "report_run.resend", f"report_run:{run_id}",
                     {"was": run.delivery_state, "recipients": run.recipients})
    return _refresh(run_id)


def _refresh(run_id: int) -> ReportRun:
    db.session.expire_all()
    return get_run(run_id)
