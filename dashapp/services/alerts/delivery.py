"""Delivery of queued notifications: in-app (bus topic `alerts`), e-mail (SMTP), webhook, Slack and
PagerDuty (HTTP POST of the stored JSON body), with retries.

Each attempt first CLAIMS its row: `attempts + 1` and a lease on `next_attempt_at`, by a conditional
UPDATE (and `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL), so two dispatchers never send the same
row at once; the outcome is written only if the claim still holds. A process that dies mid-send
leaves the row claimed until the lease ends, then any dispatcher tries it again (restart-safe):

    queued | retrying --ok--------------------------> sent
                      --error, attempts < max-------> retrying (after backoff: base * 2^(n-1), capped,
                                                                 with jitter: half fixed, half random)
                      --error at the last attempt,
                        or a permanent refusal (HTTP 4xx except 408/429, SMTP 5xx)--> failed
Sends run on a small thread pool (COCKPIT_ALERTS_DELIVERY_THREADS, default 4) with per-attempt timeouts,
so a slow receiver never holds the evaluation loop."""
from __future__ import annotations

import json
import os
import random
import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor, wait as wait_for
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import requests
import sqlalchemy as sa
from flask import current_app

from dashapp.extensions import db
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import ContactPoint, Notification

OPEN = ("queued", "retrying")
CLAIM_BATCH = 100
MAX_RESPONSE = 4096  # bytes of a receiver's answer kept for the error message


def knob(name: str, default: float) -> float:
    settings = current_app.config.get("COCKPIT_SETTINGS")
    extra = getattr(settings, "extra", {}) or {}
    return float(extra.get(name) or os.environ.get(f"COCKPIT_{name.upper()}") or default)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 5.0
    cap_seconds: float = 600.0
    timeout_seconds: float = 10.0

    @classmethod
    def current(cls) -> "RetryPolicy":
        return cls(int(knob("alerts_max_attempts", 6)), knob("alerts_retry_base_seconds", 5.0),
                   knob("alerts_retry_cap_seconds", 600.0), knob("alerts_send_timeout_seconds", 10.0))

    def backoff(self, attempts: int, rand=random.random) -> float:
        """Seconds before the attempt after attempt number `attempts` (1-based): exponential, capped,
        with "equal jitter" (half fixed, half random) so receivers coming back are not stampeded."""
        raw = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return raw / 2 + rand() * raw / 2

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=4 * self.timeout_seconds + 30)


class Permanent(Exception):
    """A refusal that retrying will not fix."""


@dataclass
class Outcome:
    submitted: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_flight: set = set()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(1, int(knob("alerts_delivery_threads", 4))),
                                   thread_name_prefix="alert-delivery")
    return _pool


def claim_due(now: datetime, policy: RetryPolicy, limit: int = CLAIM_BATCH) -> list[tuple[int, int]]:
    """Claim up to `limit` due rows; returns [(notification id, attempt number)]."""
    claimed = []
    with unit_of_work() as session:
        stmt = (sa.select(Notification.id, Notification.attempts)
                .where(Notification.status.in_(OPEN), Notification.next_attempt_at <= now)
                .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for nid, attempts in session.execute(stmt).all():
            done = session.execute(sa.update(Notification).where(
                Notification.id == nid, Notification.attempts == attempts, Notification.status.in_(OPEN))
                .values(attempts=attempts + 1, next_attempt_at=now + policy.lease)
                .execution_options(synchronize_session=False))
            if done.rowcount == 1:
                claimed.append((nid, attempts + 1))
    return claimed


def process_due(now: datetime, *, wait: bool = False) -> Outcome:
    """Send every due row: inline when `wait`, else on the thread pool (returns at once)."""
    policy, outcome = RetryPolicy.current(), Outcome()
    claimed = claim_due(now, policy)
    outcome.submitted = len(claimed)
    if wait:
        for nid, attempt in claimed:
            _count(outcome, attempt_one(nid, attempt, now, policy))
        return outcome
    app = current_app._get_current_object()
    with _pool_lock:
        _in_flight.difference_update([f for f in _in_flight if f.done()])
        _in_flight.update(_executor().submit(_in_context, app, nid, attempt, now, policy) for nid, attempt in claimed)
    return outcome


def drain(timeout: float = 30.0) -> None:
    """Wait for the sends handed to the pool (tests, benchmarks, a clean shutdown)."""
    with _pool_lock:
        pending = list(_in_flight)
    wait_for(pending, timeout=timeout)


def _count(outcome: Outcome, status: str | None) -> None:
    if status in ("sent", "failed", "retrying"):
        setattr(outcome, status, getattr(outcome, status) + 1)


def _in_context(app, nid: int, attempt: int, now: datetime, policy: RetryPolicy) -> str | None:
    with app.app_context():
        try:
            return attempt_one(nid, attempt, now, policy)
        except Exception:
            app.logger.exception("alert delivery %s crashed", nid)
            return None
        finally:
            db.session.remove()


def attempt_one(nid: int, attempt: int, now: datetime, policy: RetryPolicy) -> str | None:
    """One attempt at a claimed row; returns the row's new status (None if the claim was lost)."""
    row = db.session.get(Notification, nid)
    cp = db.session.get(ContactPoint, row.contact_point_id) if row and row.contact_point_id else None
    payload = row.payload if row is not None else None
    db.session.rollback()  # no transaction held open while we talk to the network
    error, permanent = "", False
    try:
        if cp is None or not cp.enabled:
            raise Permanent("the contact point was deleted or disabled")
        send(cp.kind, cp.settings or {}, payload or {}, nid, policy.timeout_seconds)
        status = "sent"
    except Permanent as exc:
        status, error, permanent = "failed", str(exc), True
    except Exception as exc:  # a timeout, a refused connection, a 5xx: try again later
        status, error = ("failed" if attempt >= policy.max_attempts else "retrying"), f"{type(exc).__name__}: {exc}"
    values = {"status": status, "last_error": error[:300]}
    if status == "sent":
        values.update(sent_at=utcnow(), next_attempt_at=None)
    elif status == "retrying":
        values["next_attempt_at"] = now + timedelta(seconds=policy.backoff(attempt))
    else:
        values["next_attempt_at"] = None
    with unit_of_work() as session:
        done = session.execute(sa.update(Notification).where(
            Notification.id == nid, Notification.attempts == attempt, Notification.status.in_(OPEN))
            .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return None
    if permanent or status == "failed":
        current_app.logger.warning("alert notification %s failed after %s attempt(s): %s", nid, attempt, error[:200])
    return status


def send(kind: str, settings: dict, payload: dict, nid: int, timeout: float) -> None:
    if kind == "in_app":
        from dashapp.realtime import bus

        bus.publish("alerts", {"kind": "notification", "id": nid, "title": payload.get("title", ""),
                               "severity": payload.get("severity", ""), "status": payload.get("status", "")})
        return
    if kind == "email":
        return _smtp(settings, payload, timeout)
    url = settings["events_url"] if kind == "pagerduty" else settings["url"]
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    with requests.post(url, data=body, timeout=(timeout, timeout), allow_redirects=False, stream=True,
                       headers={"Content-Type": "application/json", "User-Agent": "trading-desk-cockpit"}) as resp:
        if 200 <= resp.status_code < 300:
            return
        answer = resp.raw.read(MAX_RESPONSE, decode_content=True).decode(errors="replace")
        message = f"HTTP {resp.status_code}: {' '.join(answer.split())[:200]}"
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
            raise Permanent(message)
        raise RuntimeError(message)


def _smtp(settings: dict, payload: dict, timeout: float) -> None:
    server = current_app.config.get("COCKPIT_SETTINGS")
    host = settings.get("smtp_host") or getattr(server, "smtp_host", None)
    if not host:
        raise Permanent("no SMTP host: set SMTP_HOST or the contact point's smtp_host")
    port = int(settings.get("smtp_port") or getattr(server, "smtp_port", 587))
    starttls = settings.get("starttls", getattr(server, "smtp_starttls", False) if not settings.get("smtp_host")
                            else False)
    message = EmailMessage()
    message["Subject"] = payload.get("subject", "Cockpit alert")
    message["From"] = payload.get("from") or getattr(server, "smtp_from", "cockpit@localhost")
    message["To"] = ", ".join(payload.get("to", []))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="cockpit")
    message.set_content(payload.get("text", ""))
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls()
            user = getattr(server, "smtp_user", None)
            if user and not settings.get("smtp_host"):
                smtp.login(user, server.smtp_password or "")
            smtp.send_message(message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise Permanent(f"SMTP refused: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise Permanent(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:200]) from None
        raise
