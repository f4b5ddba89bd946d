"""Idempotency under retries and concurrency, on SQLite and PostgreSQL.

A retried request gets the first request's answer whatever the clock says, and requests racing with
the same idempotency key (real threads, each in its own app context and so its own session and
connection) all get one answer (200 with the same outcome, or 409), never a 500: one row, one
audit record, one job submitted."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import controls, jobs, schedules, tokens, users
from dashapp.services.errors import Conflict, ServiceError
from models import AuditRecord, ControlAction, Job, KillSwitch, utcnow
from tests.support.web import PASSWORD

RACERS = 6  # bounded: enough to collide on two cores, few enough for SQLite's single writer

SCHEDULE = {"name": "Morning risk", "report_type": "risk_daily", "cadence": "daily", "time_of_day": "07:00",
            "timezone": "Europe/London", "recipients": "risk@example.com", "formats": ["pdf"]}


class FakePort:
    """The job queue port, recording submissions (thread-safe: racing launches share it)."""

    def __init__(self):
        self.submitted = []
        self._lock = threading.Lock()

    def submit(self, job_id, queue, soft_time_limit, time_limit):
        with self._lock:
            self.submitted.append(job_id)

    def revoke(self, job_id):
        pass

    def active_job_ids(self):
        return None

    def known_job_ids(self):
        return None


def hold_after_first_check(monkeypatch, module, name: str, n: int = RACERS) -> None:
    """Make the race real: every racer finishes its "was this key used?" read before any of them
    goes on to write (without this, connection start-up alone can serialise the threads). Only a
    thread's first call waits; a racer that never arrives breaks the barrier after a timeout and
    the others go on, so a bug shows as a failed assertion, not a hang."""
    original, gate, seen = getattr(module, name), threading.Barrier(n), threading.local()

    def checked_then_held(*args, **kwargs):
        result = original(*args, **kwargs)
        if not getattr(seen, "once", False):
            seen.once = True
            try:
                gate.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
        return result

    monkeypatch.setattr(module, name, checked_then_held)


def race(server, call, n: int = RACERS) -> list:
    """Run `call()` in n threads released together, each inside its own app context (so its own
    scoped session and connection); returns each result, or the exception it raised."""
    gate = threading.Barrier(n)

    def one(_):
        with server.app_context():
            gate.wait(timeout=30)
            try:
                return call()
            except Exception as exc:  # collected: the test asserts on every kind
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()


def audited(action: str) -> int:
    return count(AuditRecord, AuditRecord.action == action)


# --- retries after the clock moved ---------------------------------------------------------------


def test_run_now_retried_after_the_clock_moved_returns_the_first_job(server, monkeypatch):
    schedule = schedules.create("rita", "risk", SCHEDULE)
    port = FakePort()
    first_click = utcnow().replace(microsecond=0)
    monkeypatch.setattr(schedules, "utcnow", lambda: first_click)
    first = schedules.run_now("rita", "risk", schedule.id, "page-1-1", port=port)
    for later in (timedelta(seconds=1), timedelta(minutes=5)):  # the retry lands a second, then minutes, later
        monkeypatch.setattr(schedules, "utcnow", lambda later=later: first_click + later)
        assert schedules.run_now("rita", "risk", schedule.id, "page-1-1", port=port).id == first.id
    assert port.submitted == [first.id] and count(Job) == 1
    assert schedules.run_now("rita", "risk", schedule.id, "page-1-2", port=port).id != first.id  # a new click


def test_report_job_params_of_a_calendar_slot_do_not_depend_on_when_the_tick_runs(server, monkeypatch):
    schedule = schedules.create("rita", "risk", SCHEDULE)
    slot_at = schedule.next_run_at
    slot = schedules.slot_key(schedule.id, slot_at)
    on_time = schedules.job_params(schedule, slot_at, slot)
    monkeypatch.setattr(schedules, "utcnow", lambda: slot_at + timedelta(hours=3))  # a late or retried tick
    assert schedules.job_params(schedule, slot_at, slot) == on_time
    assert schedules.job_params(schedule, None, "x")["scheduled_for"] is None


def test_rerun_of_a_job_keeps_its_params_whatever_the_clock(server, monkeypatch):
    port = FakePort()
    original = jobs.launch("tina", "trader", "health_check", {}, "first", port=port)
    monkeypatch.setattr(jobs, "utcnow", lambda: utcnow() + timedelta(minutes=10))
    again = jobs.rerun("tina", "trader", original.id, "rerun-1", port=port)
    assert jobs.rerun("tina", "trader", original.id, "rerun-1", port=port).id == again.id
    assert again.params == original.params and len(port.submitted) == 2


# --- control actions racing with one key ---------------------------------------------------------


def test_concurrent_kill_switch_activations_with_one_key_act_once(server, monkeypatch):
    hold_after_first_check(monkeypatch, controls, "_replayed")
    results = race(server, lambda: controls.activate_kill_switch("tina", "trader", "runaway algo", "ks-1"))
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors
    assert len(set(results)) == 1 and "kill switch ON" in results[0]
    assert count(ControlAction, ControlAction.idempotency_key == "ks-1") == 1
    assert audited("kill_switch.activate") == 1
    assert db.session.get(KillSwitch, controls.GLOBAL).active


def test_concurrent_engine_stops_with_one_key_act_once(server, monkeypatch):
    hold_after_first_check(monkeypatch, controls, "_replayed")
    results = race(server, lambda: controls.control_engine("tina", "trader", "paper-1", "stop", "end of day", "st-1"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(results) == {"paper-1: stop requested"}
    assert audited("engine.stop") == 1 and count(ControlAction) == 1


def test_concurrent_refused_action_answers_409_to_everyone_and_stores_nothing(server):
    # A reset with nothing to reset is refused; racing copies of it must all be refused the same way.
    results = race(server, lambda: controls.request_kill_switch_reset("rita", "risk", "all clear now", "rr-1"))
    assert all(isinstance(r, Conflict) and r.http_status == 409 for r in results), results
    assert count(ControlAction) == 0 and audited("kill_switch.request_reset") == 0


def test_a_key_reused_for_another_action_is_a_conflict_not_a_replay(server):
    controls.control_engine("tina", "trader", "paper-1", "stop", "end of day", "k-1")
    with pytest.raises(Conflict) as caught:
        controls.activate_kill_switch("tina", "trader", "runaway algo", "k-1")
    assert caught.value.field == "idempotency_key"
    with pytest.raises(Conflict):  # someone else's key is not theirs to replay
        controls.control_engine("otto", "trader", "paper-1", "stop", "end of day", "k-1")
    assert not controls.kill_switch().active and count(ControlAction) == 1


def test_concurrent_control_requests_over_rest_get_one_answer(server, monkeypatch):
    hold_after_first_check(monkeypatch, controls, "_replayed")
    trader = users.create_user("test", "tom", PASSWORD, "trader")
    _, secret = tokens.create_token("test", trader.id, "t")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "api-ks-1"}

    def post():
        response = server.test_client().post("/api/v1/kill-switch/activate", json={"reason": "fat finger"},
                                             headers=headers)
        return response.status_code, response.get_json()

    results = race(server, post)
    assert {status for status, _ in results} == {200}, results
    assert len({body["outcome"] for _, body in results}) == 1
    assert audited("kill_switch.activate") == 1
    other = server.test_client().post("/api/v1/engines/paper-1/stop", json={"reason": "maintenance"}, headers=headers)
    assert other.status_code == 409 and other.get_json()["field"] == "idempotency_key"


# --- job launches racing with one key ------------------------------------------------------------


def test_concurrent_launches_with_one_key_make_one_job(server, monkeypatch):
    hold_after_first_check(monkeypatch, jobs, "_existing")
    port = FakePort()
    results = race(server, lambda: jobs.launch("tina", "trader", "health_check", {}, "click-7", port=port).id)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1 and port.submitted == [results[0]]
    assert count(Job) == 1 and audited("job.launch") == 1


def test_concurrent_launches_with_one_key_and_other_params_conflict_never_500(server, monkeypatch):
    hold_after_first_check(monkeypatch, jobs, "_existing")
    port = FakePort()
    sleeps = iter(range(RACERS))
    lock = threading.Lock()

    def launch():
        with lock:
            params = {"sleep_seconds": next(sleeps)}
        return jobs.launch("tina", "trader", "health_check", params, "click-8", port=port).id

    results = race(server, launch)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(set(winners)) == 1, results
    assert all(isinstance(r, Conflict) and r.field == "idempotency_key" for r in losers), losers
    assert count(Job) == 1 and port.submitted == winners


def test_concurrent_export_requests_over_rest_get_the_same_job(server, monkeypatch):
    hold_after_first_check(monkeypatch, jobs, "_existing")
    trader = users.create_user("test", "tom", PASSWORD, "trader")
    _, secret = tokens.create_token("test", trader.id, "t")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "nightly-9"}
    body = {"dataset": "orders", "format": "csv"}

    def post():
        response = server.test_client().post("/api/v1/exports", json=body, headers=headers)
        return response.status_code, (response.get_json() or {}).get("id")

    results = race(server, post)
    assert {status for status, _ in results} == {202}, results
    assert len({job_id for _, job_id in results}) == 1
    assert count(Job) == 1 and audited("job.launch") == 1
    assert not [r for r in results if isinstance(r, ServiceError)]


def test_stress_run_click_retried_through_dash_launches_once(dash_app, client_as, monkeypatch):
    import callbacks.risk_stress
    from layouts import risk_stress as ids
    from tests.support.web import call_callback

    port = FakePort()
    monkeypatch.setattr(callbacks.risk_stress, "current_job_port", lambda: port)
    client = client_as("trader")

    def click(n: int):
        response = call_callback(client, f"..{ids.MESSAGE}.children...{ids.LAUNCHED}.data..", [{"id": ids.RUN, "property": "n_clicks", "value": n}],
                                 [{"id": ids.TOKEN, "property": "data", "value": "page-a"}])
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert "queued" in response.get_data(as_text=True)

    click(1)
    click(1)  # the same request again (a network retry): the same job
    assert len(port.submitted) == 1
    click(2)  # a second click on the page is a second run
    assert len(port.submitted) == 2
    with dash_app.server.app_context():
        assert count(Job, Job.job_type == "stress_test") == 2
