"""Scheduled reports on both databases: schedule changes (role-checked, validated, audited), the
due-slot launcher, the report job handler (files archived with their SHA-256) and delivery to a real
local SMTP server (aiosmtpd) with its attachments, retries, 'not_sent', resend, and the download
route. The handler runs in-process here; tests/integration/test_reports_worker.py runs it for real."""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import email
import email.policy
import hashlib
import io
import re
import socket
import time
import zipfile
import zlib
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.reports.archive import archive_root
from dashapp.services import audit, delivery, jobs, schedules, tokens, users
from dashapp.services.errors import Conflict, PermissionDenied, ValidationError
from models import AuditRecord, ReportRun, ReportSchedule, utcnow
from tests.support.web import PASSWORD

SCHEDULE = {"name": "Morning risk", "report_type": "risk_daily", "cadence": "daily", "time_of_day": "07:00",
            "timezone": "Europe/London", "recipients": "risk@example.com, cro@example.com", "formats": ["pdf", "xlsx"]}


# --- a real SMTP server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.messages) >= count, f"{len(self.messages)} messages arrived, wanted {count}"
        return self.messages


@contextlib.contextmanager
def smtp_server(port: int | None = None):
    """A local SMTP server on 127.0.0.1 (a free port unless given), stopped afterwards."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port or free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def use_smtp(server, port: int, **extra) -> None:
    """Point this app at an SMTP server on 127.0.0.1:port (no TLS: a local test server)."""
    settings = server.config["COCKPIT_SETTINGS"]
    server.config["COCKPIT_SETTINGS"] = dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="cockpit@desk.example.com",
        extra={**settings.extra, **extra})


@pytest.fixture
def mailbox(server):
    with smtp_server() as box:
        use_smtp(server, box.port)
        yield box


# --- a desk with a book and executions -----------------------------------------------------------


@pytest.fixture
def desk(api):
    """300 days of AAPL/XOM history, a long AAPL and short XOM book, and orders filled in the last
    hour on two venues (XNAS and LP1), so both reports have every section filled."""
    rng = np.random.default_rng(7)
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    bars = []
    for symbol in ("AAPL", "XOM"):
        price = 100.0
        for d in range(300):
            new = price * (1 + rng.normal(0.0003, 0.015))
            bars.append({"instrument": symbol, "interval": "1d", "ts": (start + timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
    assert api("bars", bars).status_code == 200
    now = utcnow()
    at = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    assert api("quotes", [{"instrument": "AAPL", "ts": at(0), "bid": 99.9, "ask": 100.1},
                          {"instrument": "XOM", "ts": at(0), "bid": 49.9, "ask": 50.1}]).status_code == 200
    orders, fills = [], []
    for i, (venue, symbol, side, qty, price) in enumerate([("XNAS", "AAPL", "buy", 6000, 100.02),
                                                           ("LP1", "AAPL", "buy", 4000, 100.06),
                                                           ("XNAS", "XOM", "sell", 4000, 49.98)]):
        orders.append({"client_order_id": f"o{i}", "strategy": "MOM", "instrument": symbol, "venue": venue,
                       "side": side, "quantity": qty, "filled_quantity": qty, "avg_fill_price": price,
                       "status": "filled", "arrival_mid": 100.0 if symbol == "AAPL" else 50.0,
                       "created_at": at(30 - i), "acknowledged_at": at(29.99 - i), "filled_at": at(29.9 - i)})
        fills.append({"exec_id": f"f{i}", "client_order_id": f"o{i}", "venue": venue, "quantity": qty, "price": price,
                      "mid_at_arrival": 100.0 if symbol == "AAPL" else 50.0, "mid_at_fill": price,
                      "filled_at": at(29.9 - i)})
    assert api("orders", orders).status_code == 200, api("orders", orders).json
    assert api("fills", fills).status_code == 200
    return api


# --- helpers -------------------------------------------------------------------------------------


class FakePort:
    """The job service's queue port, recording what it was asked to submit."""

    def __init__(self):
        self.submitted = []

    def submit(self, job_id, queue, soft_time_limit, time_limit):
        self.submitted.append((job_id, queue))

    def revoke(self, job_id):
        pass

    def active_job_ids(self):
        return None


def audit_rows(action: str) -> list[AuditRecord]:
    return list(db.session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)
                                   .order_by(AuditRecord.id)).scalars())


def run_job_here(job) -> str:
    """What run_job does in a worker, in this process."""
    claimed = jobs.mark_running(job.id, "test")
    assert claimed is not None
    return jobs.run(claimed)


def due_now(schedule: ReportSchedule, minutes_ago: float = 1) -> datetime:
    slot_at = (utcnow() - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    schedule.next_run_at = slot_at
    db.session.commit()
    return slot_at


def produce_via_schedule(data: dict | None = None) -> tuple[ReportRun, object]:
    schedule = schedules.create("rita", "risk", {**SCHEDULE, **(data or {})})
    due_now(schedule)
    port = FakePort()
    [job_id] = schedules.run_due(port=port)
    assert port.submitted == [(job_id, "reports")]
    job = jobs.get_job(job_id)
    assert run_job_here(job) == "succeeded", jobs.get_job(job_id).error
    db.session.expire_all()
    job = jobs.get_job(job_id)
    return db.session.get(ReportRun, job.result["report_run_id"]), job


def pdf_text(data: bytes) -> str:
    """The text drawn in a reportlab PDF (its page streams are ASCII85 + zlib encoded)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        stream = stream.strip()
        with contextlib.suppress(ValueError, zlib.error):
            chunks.append(zlib.decompress(base64.a85decode(stream.removesuffix(b"~>"))).decode("latin-1"))
    return "\n".join(chunks)


# --- schedules ---------------------------------------------------------------------------------


def test_schedule_changes_are_role_checked_validated_and_audited(server):
    now = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    for role in ("viewer", "trader"):
        with pytest.raises(PermissionDenied):
            schedules.create("someone", role, SCHEDULE)
    assert db.session.execute(sa.select(sa.func.count(ReportSchedule.id))).scalar() == 0
    assert [r.outcome for r in audit_rows("report_schedule.create")] == ["denied", "denied"]

    schedule = schedules.create("rita", "risk", SCHEDULE, now=now)
    assert schedule.next_run_at == datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)  # 07:00 London = GMT
    assert schedule.recipients == "risk@example.com,cro@example.com" and schedule.formats == "pdf,xlsx"
    created = audit_rows("report_schedule.create")[-1]
    assert created.actor == "rita" and created.outcome == "ok" and created.target == f"report_schedule:{schedule.id}"
    assert '"next_run_at":"2026-11-23T07:00:00Z"' in created.details

    with pytest.raises(Conflict) as err:
        schedules.create("adam", "admin", {**SCHEDULE, "name": "morning RISK"})
    assert err.value.field == "name"

    # A change of time zone moves the next run (07:00 New York = 12:00 UTC in winter) and is audited as a diff.
    schedules.update("adam", "admin", schedule.id, {**SCHEDULE, "timezone": "America/New_York"}, now=now)
    assert schedules.get(schedule.id).next_run_at == datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    updated = audit_rows("report_schedule.update")[-1]
    assert updated.actor == "adam" and '"timezone":["Europe/London","America/New_York"]' in updated.details
    # A recipients-only change keeps the next run.
    schedules.update("rita", "risk", schedule.id, {**SCHEDULE, "timezone": "America/New_York",
                                                   "recipients": "desk@example.com"}, now=now)
    assert schedules.get(schedule.id).next_run_at == datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert schedules.get(schedule.id).recipients == "desk@example.com"

    schedules.set_active("rita", "risk", schedule.id, False, now=now)
    assert not schedules.get(schedule.id).active and schedules.get(schedule.id).next_run_at is None
    assert schedules.summary(schedules.get(schedule.id))["next_run"] == "paused"
    schedules.set_active("rita", "risk", schedule.id, True, now=now)
    assert schedules.get(schedule.id).next_run_at == datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert len(audit_rows("report_schedule.pause")) == 1 and len(audit_rows("report_schedule.resume")) == 1

    with pytest.raises(PermissionDenied):
        schedules.delete("vic", "viewer", schedule.id)
    assert schedules.delete("rita", "risk", schedule.id) == "Morning risk"
    assert db.session.get(ReportSchedule, schedule.id) is None
    assert [r.outcome for r in audit_rows("report_schedule.delete")] == ["denied", "ok"]
    assert audit.verify_chain().ok


def test_bad_input_writes_nothing_and_names_the_field(server):
    cases = {"cron": {"cadence": "cron", "cron": "every morning"}, "timezone": {"timezone": "Europe/Atlantis"},
             "recipients": {"recipients": "risk@example.com, risk-at-example.com"},
             "report_type": {"report_type": "pnl"}}
    for field, change in cases.items():
        with pytest.raises(ValidationError) as err:
            schedules.create("rita", "risk", {**SCHEDULE, **change})
        assert err.value.field == field and err.value.message.startswith(field)
    with pytest.raises(ValidationError) as err:
        schedules.create("rita", "risk", {**SCHEDULE, "recipients": ""})
    assert err.value.field == "recipients" and "at least one" in err.value.message
    assert db.session.execute(sa.select(sa.func.count(ReportSchedule.id))).scalar() == 0
    assert audit_rows("report_schedule.create") == []


def test_weekly_and_cron_schedules_store_the_utc_instant(server):
    now = datetime(2026, 3, 27, 12, 0, tzinfo=timezone.utc)  # Friday; Berlin changes to CEST on Sunday 29th
    weekly = schedules.create("rita", "risk", {**SCHEDULE, "name": "Monday", "cadence": "weekly", "weekday": 0,
                                               "timezone": "Europe/Berlin"}, now=now)
    assert weekly.next_run_at == datetime(2026, 3, 30, 5, 0, tzinfo=timezone.utc)  # 07:00 CEST
    cron = schedules.create("rita", "risk", {**SCHEDULE, "name": "Desk open", "cadence": "cron",
                                             "cron": "30 6 * * mon-fri", "timezone": "America/New_York"}, now=now)
    assert cron.next_run_at == datetime(2026, 3, 30, 10, 30, tzinfo=timezone.utc)  # 06:30 EDT
    db.session.expire_all()
    assert schedules.get(cron.id).next_run_at.tzinfo is not None  # read back aware, as UTC
    assert schedules.summary(schedules.get(cron.id))["next_run"] == "2026-03-30 06:30 EDT"


def test_a_due_slot_launches_one_job_and_the_schedule_moves_on(server):
    schedule = schedules.create("rita", "risk", SCHEDULE)
    paused = schedules.create("rita", "risk", {**SCHEDULE, "name": "Paused"})
    schedules.set_active("rita", "risk", paused.id, False)
    slot_at = due_now(schedule)
    port = FakePort()
    launched = schedules.run_due(port=port)
    assert len(launched) == 1 and len(port.submitted) == 1
    job = jobs.get_job(launched[0])
    assert job.job_type == "report" and job.created_by == jobs.SCHEDULER and job.queue == "reports"
    assert job.params["slot"] == schedules.slot_key(schedule.id, slot_at)
    assert job.params["recipients"] == ["risk@example.com", "cro@example.com"]
    db.session.expire_all()
    moved = schedules.get(schedule.id)
    assert moved.last_run_at == slot_at and moved.next_run_at > utcnow()
    assert schedules.run_due(port=port) == []  # nothing due any more

    # A second beat (or a tick retried after a crash) that still sees the old slot launches nothing new.
    schedules.get(schedule.id).next_run_at = slot_at
    db.session.commit()
    again = schedules.run_due(port=port)
    assert again == launched and len(port.submitted) == 1
    assert jobs.list_jobs(job_type_name="report") == [job]


def test_run_now_needs_reports_manage_and_a_retried_click_launches_once(server):
    schedule = schedules.create("rita", "risk", SCHEDULE)
    port = FakePort()
    with pytest.raises(PermissionDenied):
        schedules.run_now("tom", "trader", schedule.id, "click-1", port=port)
    first = schedules.run_now("rita", "risk", schedule.id, "click-1", port=port)
    again = schedules.run_now("rita", "risk", schedule.id, "click-1", port=port)
    assert first.id == again.id and port.submitted == [(first.id, "reports")]
    assert first.params["slot"].startswith(f"s{schedule.id}-now-") and first.created_by == "rita"
    assert schedules.run_now("rita", "risk", schedule.id, "click-2", port=port).id != first.id
    with pytest.raises(ValidationError) as err:  # the job type checks its parameters too
        jobs.launch("rita", "risk", "report", {"report_type": "risk_daily", "recipients": ["nobody"]}, port=port)
    assert err.value.field.startswith("params.recipients")


# --- the report job and delivery -------------------------------------------------------------------


def test_report_job_archives_the_files_and_emails_them(server, desk, mailbox):
    run, job = produce_via_schedule()
    assert job.result["delivery_state"] == "delivered"
    assert run.delivery_state == "delivered" and run.delivery_attempts == 1 and run.delivered_at is not None
    assert [f["format"] for f in run.files] == ["pdf", "xlsx"]
    root = archive_root()
    for item in run.files:
        data = (root / item["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"] and len(data) == item["size"]
        assert (root / item["name"]).resolve().is_relative_to(root.resolve())
    assert (run.file_name, run.file_sha256, run.file_size) == (run.files[0]["name"], run.files[0]["sha256"],
                                                                run.files[0]["size"])

    [message] = mailbox.wait_for(1)
    assert set(mailbox.envelopes[0].rcpt_tos) == {"risk@example.com", "cro@example.com"}
    assert message["From"] == "cockpit@desk.example.com" and "Daily risk report · Morning risk" in message["Subject"]
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert len(attachments) == 2
    for item in run.files:
        part = attachments[item["name"].rsplit("/", 1)[-1]]
        assert hashlib.sha256(part.get_content()).hexdigest() == item["sha256"]
    pdf = attachments[run.files[0]["name"].rsplit("/", 1)[-1]]
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")
    text = pdf_text(pdf.get_content())
    for words in ("Daily risk report", "Value at risk by method", "Historical VaR", "Limit utilisation",
                  "Exposure by instrument", "AAPL", "Total book VaR by method"):
        assert words in text, words
    with zipfile.ZipFile(io.BytesIO((root / run.files[1]["name"]).read_bytes())) as book:
        names = book.namelist()
        assert "xl/charts/chart1.xml" in names  # the VaR chart as a native Excel chart
        strings = book.read("xl/sharedStrings.xml").decode()
        assert "Monte Carlo VaR" in strings and "Limit utilisation" in strings

    # The same job again (a redelivered message) archives nothing new and sends nothing new.
    assert jobs.launch_scheduled("report", job.params, job.params["slot"], port=FakePort()).id == job.id
    from dashapp.reports import ReportRequest
    from dashapp.reports.archive import produce

    again = produce("risk_daily", ["pdf"], ReportRequest(), recipients=[], schedule_id=run.schedule_id, slot=run.slot)
    assert again.id == run.id
    assert db.session.execute(sa.select(sa.func.count(ReportRun.id))).scalar() == 1
    assert len(list(root.rglob("*.pdf"))) == 1
    assert delivery.retry_due() == {} and len(mailbox.messages) == 1


def test_best_execution_report_puts_the_venues_side_by_side(server, desk, mailbox):
    run, _ = produce_via_schedule({"name": "Best ex", "report_type": "best_execution"})
    assert run.delivery_state == "delivered"
    [message] = mailbox.wait_for(1)
    assert "Best execution report" in message["Subject"]
    parts = {p.get_content_type(): p.get_content() for p in message.iter_attachments()}
    text = pdf_text(parts["application/pdf"])
    for words in ("Best-execution report", "Venue scorecards", "XNAS", "LP1", "Arrival slippage",
                  "Scorecards by strategy", "MOM"):
        assert words in text, words
    xlsx = parts["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    with zipfile.ZipFile(io.BytesIO(xlsx)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
        assert "XNAS" in strings and "LP1" in strings and "Fill rate" in strings


def test_an_empty_desk_still_gets_both_reports_with_empty_states(server):
    from dashapp.reports import REPORT_KINDS, ReportRequest, build, render

    for name, kind in REPORT_KINDS.items():
        document = build(name, ReportRequest(timezone="Asia/Tokyo"))
        files = {fmt: render(document, fmt) for fmt in kind.formats}
        assert files["pdf"].startswith(b"%PDF") and files["xlsx"].startswith(b"PK")
        text = pdf_text(files["pdf"])
        assert ("No VaR yet" in text and "No open positions." in text) if name == "risk_daily" else \
            "No child orders in this period." in text
        assert "JST" in text  # times shown in the report's zone


def test_without_smtp_the_report_is_archived_and_not_sent(server, desk):
    run, job = produce_via_schedule({"formats": ["pdf"]})
    assert run.delivery_state == "not_sent" and run.delivery_attempts == 0
    assert "SMTP_HOST" in run.last_error and job.state == "succeeded"
    assert (archive_root() / run.file_name).is_file()
    assert delivery.retry_due() == {}  # nothing to retry until someone resends it

    with pytest.raises(PermissionDenied):
        delivery.resend("vic", "viewer", run.id)
    with smtp_server() as box:
        use_smtp(server, box.port)
        assert delivery.resend("rita", "risk", run.id).delivery_state == "pending"
        assert delivery.retry_due() == {run.id: "delivered"}
        box.wait_for(1)
    assert [r.outcome for r in audit_rows("report_run.resend")] == ["denied", "ok"]


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(server, desk):
    port = free_port()  # nothing listens here: the SMTP server is down
    use_smtp(server, port, report_delivery_max_attempts="3", report_retry_base_seconds="60")
    before = utcnow()
    run, _ = produce_via_schedule({"formats": ["pdf"]})
    after = utcnow()
    assert run.delivery_state == "retrying" and run.delivery_attempts == 1
    assert "attempt 1/3" in run.last_error and "ConnectionRefusedError" in run.last_error
    first_retry = run.next_attempt_at
    # One base delay after the failed attempt, which happened between `before` and `after`.
    base = timedelta(minutes=1)
    assert before + base <= first_retry <= after + base
    assert delivery.retry_due() == {}  # not due yet

    assert delivery.retry_due(first_retry + timedelta(seconds=1)) == {run.id: "retrying"}
    db.session.expire_all()
    run = db.session.get(ReportRun, run.id)
    assert run.delivery_attempts == 2 and "attempt 2/3" in run.last_error
    assert run.next_attempt_at == first_retry + timedelta(seconds=1) + 2 * base  # the delay doubled

    with smtp_server(port) as box:  # the server is back: the next attempt delivers
        assert delivery.retry_due(run.next_attempt_at + timedelta(seconds=1)) == {run.id: "delivered"}
        box.wait_for(1)
    db.session.expire_all()
    run = db.session.get(ReportRun, run.id)
    assert run.delivery_state == "delivered" and run.delivery_attempts == 3 and run.last_error is None

    # Down for good: the last attempt gives up with the error kept.
    second, _ = produce_via_schedule({"name": "Second", "formats": ["pdf"]})
    later = utcnow()
    for _ in range(2):
        later += timedelta(hours=2)
        delivery.retry_due(later)
    db.session.expire_all()
    second = db.session.get(ReportRun, second.id)
    assert second.delivery_state == "failed" and second.delivery_attempts == 3
    assert "attempt 3/3" in second.last_error and second.next_attempt_at is None
    assert delivery.retry_due(later + timedelta(days=1)) == {}


def test_a_claimed_delivery_is_not_sent_twice(server, desk):
    run, _ = produce_via_schedule({"formats": ["pdf"]})  # no SMTP yet: not_sent
    with smtp_server() as box:
        use_smtp(server, box.port)
        delivery.resend("rita", "risk", run.id)
        # Another process claimed it a moment ago (attempt 1 under way, its lease running).
        db.session.execute(sa.update(ReportRun).where(ReportRun.id == run.id).values(
            delivery_attempts=1, next_attempt_at=utcnow() + delivery.LEASE))
        db.session.commit()
        assert delivery.deliver(run.id) == "pending" and delivery.retry_due() == {}
        time.sleep(0.5)
        assert box.messages == []


# --- downloads -----------------------------------------------------------------------------------


def test_download_needs_a_login_or_token_and_checks_the_file(server, desk):
    run, _ = produce_via_schedule()
    viewer = users.create_user("test", "vic", PASSWORD, "viewer")
    _, secret = tokens.create_token("test", viewer.id, "reports")
    client = server.test_client()
    url = f"/api/v1/reports/runs/{run.id}/download"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {secret}"}
    response = client.get(url + "?format=xlsx", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert hashlib.sha256(response.data).hexdigest() == run.files[1]["sha256"]
    assert "attachment" in response.headers["Content-Disposition"] and response.mimetype.endswith("sheet")
    assert audit_rows("report_run.download")[-1].actor == "vic"
    bad = client.get(url + "?format=docx", headers=auth)
    assert bad.status_code == 422 and bad.json["field"] == "format"
    assert client.get("/api/v1/reports/runs/999/download", headers=auth).status_code == 404
    assert client.get("/api/v1/reports/runs/abc/download", headers=auth).status_code == 404
    # Session login works too (the Reports page's links).
    browser = server.test_client()
    from tests.support.web import login

    assert login(browser, "vic").status_code == 302
    assert browser.get(url).status_code == 200
    # An archive file changed on disk is refused, not served.
    (archive_root() / run.files[0]["name"]).write_bytes(b"%PDF-1.4 forged")
    tampered = client.get(url, headers=auth)
    assert tampered.status_code == 409 and "SHA-256" in tampered.json["message"]


def test_archive_rows_keep_the_schedule_name_after_delete(server, desk):
    from dashapp.reports.archive import list_runs, run_summary

    run, _ = produce_via_schedule({"formats": ["pdf"]})
    schedules.delete("rita", "risk", run.schedule_id)
    db.session.expire_all()
    [(kept, name)] = list_runs()
    assert kept.id == run.id and kept.schedule_id is None and name == "Morning risk"
    row = run_summary(kept, name)
    assert row["delivery_state"] == "not_sent" and f"/api/v1/reports/runs/{run.id}/download?format=pdf" in row["files"]
