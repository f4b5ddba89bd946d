"""The engine's report outbox without any server: order of delivery, what is kept, retried or
dead-lettered, the backoff schedule (from an injected clock and random source), durability across
a reopen (what a kill -9 leaves on disk), and the client's classification of answers."""
from __future__ import annotations

import random

import pytest

from dashapp.client import CockpitUnavailable, IngestRefused, retry_after_seconds
from dashapp.engine.outbox import Backoff, ReportOutbox


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Cockpit:
    """post(kind, items): answers from a script (exceptions or None = stored), records deliveries."""

    def __init__(self, script=()):
        self.script = list(script)
        self.delivered: list[tuple[str, list]] = []
        self.calls = 0

    def __call__(self, kind, items):
        self.calls += 1
        if self.script:
            answer = self.script.pop(0)
            if answer is not None:
                raise answer
        self.delivered.append((kind, items))
        return {"stored": len(items)}


def batch(n: int) -> list[tuple[str, list]]:
    return [("signals", [{"signal_id": f"S-{n}"}]), ("orders", [{"client_order_id": f"P-{n}"}]),
            ("fills", [{"exec_id": f"X-{n}"}])]


def test_reports_are_delivered_in_the_order_appended_and_removed_once_stored(tmp_path):
    box = ReportOutbox(tmp_path / "outbox.sqlite", clock=Clock())
    cockpit = Cockpit()
    for n in range(3):
        box.append(batch(n), last_seq=n)
    result = box.flush(cockpit)
    assert (result.sent, result.pending, result.dead) == (9, 0, 0)
    assert [items[0].get("signal_id") or items[0].get("client_order_id") or items[0]["exec_id"]
            for _, items in cockpit.delivered] == ["S-0", "P-0", "X-0", "S-1", "P-1", "X-1", "S-2", "P-2", "X-2"]
    assert box.flush(cockpit).sent == 0 and cockpit.calls == 9  # nothing sent twice


def test_an_outage_keeps_everything_in_order_and_delivery_resumes_after_the_backoff(tmp_path):
    clock = Clock()
    box = ReportOutbox(tmp_path / "outbox.sqlite", backoff=Backoff(base=1.0, cap=8.0), clock=clock,
                       rng=random.Random(1))
    down = CockpitUnavailable("HTTP 503", 503)
    cockpit = Cockpit([None, down])  # the first row goes through, then the cockpit answers 503
    box.append(batch(0))
    first = box.flush(cockpit)
    assert (first.sent, first.pending) == (1, 2) and first.waiting > 0
    box.append(batch(1))  # the engine keeps reporting while the cockpit is down
    assert box.flush(cockpit).sent == 0 and cockpit.calls == 2  # within the backoff: not even tried
    clock.now += first.waiting
    result = box.flush(cockpit)
    assert (result.sent, result.pending) == (5, 0)
    assert [kind for kind, _ in cockpit.delivered] == ["signals", "orders", "fills", "signals", "orders", "fills"]


def test_backoff_schedule_doubles_with_jitter_up_to_the_cap_and_honours_retry_after(tmp_path):
    clock = Clock()
    box = ReportOutbox(tmp_path / "o.sqlite", backoff=Backoff(base=0.5, cap=4.0), clock=clock, rng=random.Random(7))
    box.append(batch(0))
    waits = []
    for _ in range(6):
        result = box.flush(Cockpit([CockpitUnavailable("refused")]))
        waits.append(result.waiting)
        clock.now += result.waiting
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for wait, ceiling in zip(waits, ceilings):
        assert ceiling / 2 <= wait <= ceiling  # equal jitter: never below half, never above the ceiling
    assert len(set(waits)) == len(waits)  # jittered, not a fixed schedule
    # the same random source gives the same schedule (what makes the rule testable at all)
    again = [Backoff(0.5, 4.0).delay(n, None, rng) for rng in [random.Random(7)] for n in range(1, 7)]
    assert again == pytest.approx(waits)
    result = box.flush(Cockpit([CockpitUnavailable("busy", 429, retry_after=42.0)]))
    assert result.waiting == 42.0  # the server's Retry-After wins over a shorter backoff
    clock.now += 42.0
    assert box.flush(Cockpit()).pending == 0  # recovered: the failure count starts over
    assert box.failures == 0


def test_a_refused_item_goes_to_the_dead_letter_file_and_delivery_goes_on(tmp_path):
    box = ReportOutbox(tmp_path / "engine" / "outbox.sqlite", clock=Clock())
    refused = IngestRefused(422, {"message": "1 item is invalid", "details": [{"index": 0, "field": "quantity"}]})
    cockpit = Cockpit([None, refused])
    box.append(batch(0))
    result = box.flush(cockpit)
    assert (result.sent, result.dead, result.pending) == (2, 1, 0)
    assert [kind for kind, _ in cockpit.delivered] == ["signals", "fills"]
    letters = box.dead_letters()
    assert len(letters) == 1 and letters[0]["kind"] == "orders" and letters[0]["status"] == 422
    assert letters[0]["items"] == [{"client_order_id": "P-0"}] and letters[0]["answer"]["details"][0]["field"] == "quantity"
    assert (tmp_path / "engine" / "dead-letters.jsonl").read_text().count("\n") == 1


def test_a_refused_token_keeps_the_reports_and_waits_the_longest_backoff(tmp_path):
    clock = Clock()
    box = ReportOutbox(tmp_path / "o.sqlite", backoff=Backoff(base=0.5, cap=30.0), clock=clock, rng=random.Random(2))
    box.append(batch(0))
    result = box.flush(Cockpit([IngestRefused(401, {"message": "token revoked"})]))
    assert (result.sent, result.dead, result.pending) == (0, 0, 3)
    assert 15.0 <= result.waiting <= 30.0 and box.dead_letters() == []


def test_what_was_appended_survives_a_reopen_with_the_sequence_high_water_mark(tmp_path):
    path = tmp_path / "outbox.sqlite"
    box = ReportOutbox(path, clock=Clock())
    box.append(batch(0), last_seq=41)
    box.append(batch(1), last_seq=40)  # the mark only goes up
    box.flush(Cockpit([None, CockpitUnavailable("down")]))
    box.db.close()  # what a kill -9 leaves: the file, no goodbye
    reopened = ReportOutbox(path, clock=Clock())
    assert reopened.pending() == 5 and reopened.last_seq() == 41
    cockpit = Cockpit()
    reopened.flush(cockpit)
    assert [items[0] for _, items in cockpit.delivered][0] == {"client_order_id": "P-0"}


def test_large_reports_are_split_into_requests_in_order(tmp_path):
    box = ReportOutbox(tmp_path / "o.sqlite", clock=Clock())
    box.append([("quotes", [{"n": n} for n in range(12_000)])])
    cockpit = Cockpit()
    box.flush(cockpit)
    assert [len(items) for _, items in cockpit.delivered] == [5000, 5000, 2000]
    assert [i["n"] for _, items in cockpit.delivered for i in items] == list(range(12_000))


@pytest.mark.parametrize("value, seconds", [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("999999", 3600.0), ("", None),
                                            ("soon", None), ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0)])
def test_retry_after_reads_seconds_and_http_dates(value, seconds):
    from datetime import datetime, timezone

    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)
    assert retry_after_seconds(value, now) == seconds


def test_client_classifies_answers_without_raising_other_http_errors():
    import requests

    from dashapp.client import CockpitClient

    class Answer:
        def __init__(self, status, body=None, headers=None):
            self.status_code, self._body, self.headers, self.text = status, body, headers or {}, "x"

        def json(self):
            if self._body is None:
                raise ValueError("not JSON")
            return self._body

    client = CockpitClient("http://cockpit.invalid", "t", "paper-1", retries=0)
    answers = iter([Answer(503, headers={"Retry-After": "3"}), Answer(429), Answer(422, {"message": "bad"}),
                    Answer(200, {"stored": 1}), requests.ConnectionError("refused"), Answer(502)])

    def fake(*_args, **_kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client.session.request = fake
    with pytest.raises(CockpitUnavailable) as down:
        client.post_batch("orders", [{}])
    assert down.value.status == 503 and down.value.retry_after == 3.0
    with pytest.raises(CockpitUnavailable):
        client.post_batch("orders", [{}])
    with pytest.raises(IngestRefused) as refused:
        client.post_batch("orders", [{}])
    assert refused.value.status == 422
    assert client.post_batch("orders", [{}]) == {"stored": 1}
    with pytest.raises(CockpitUnavailable):
        client.control()
    with pytest.raises(requests.RequestException):  # still a RequestException for older callers
        client.control()
