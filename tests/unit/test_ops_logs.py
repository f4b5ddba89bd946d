"""Log files and log search (dashapp/log_files.py, dashapp/services/ops/logs.py): no database."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from dashapp import log_files
from dashapp.services.errors import ValidationError
from dashapp.services.ops import logs

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)


def _line(seconds_ago: float, message: str, level="INFO", process="web", **context) -> str:
    when = (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    rec = {"time": when, "level": level, "process": process, "logger": "cockpit.test", "message": message,
           "request_id": None, "user": None, "job_id": None, "order_id": None, **context}
    return json.dumps(rec)


def _write(directory, name, lines):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def instance(tmp_path):
    d = tmp_path / "logs"
    # web: current file newest, .1 older; worker interleaves in time
    _write(d, "web.jsonl.1", [_line(300, "old web"), _line(200, "req a", request_id="r-a", user="alice")])
    _write(d, "web.jsonl", [_line(100, "req b", request_id="r-b", user="bob"),
                            _line(10, "boom", level="ERROR", request_id="r-c")])
    _write(d, "worker.jsonl", [_line(250, "job started", process="worker", job_id="j-1"),
                               _line(50, "job ended", process="worker", job_id="j-1", level="WARNING"),
                               "not json at all",
                               _line(5, "order X1 reported filled", process="worker", order_id="X1")])
    (d / ".__web.jsonl.lock").write_text("")  # the rotating handler's lock file is not a log
    (d / "web.log").write_text("supervisord's capture, not ours\n")
    return tmp_path


def _search(instance, **query):
    return logs.search(instance, logs.parse_query(query), now=NOW)


def test_search_merges_processes_and_rotated_files_newest_first(instance):
    result = _search(instance)
    assert [r["message"] for r in result.rows] == ["order X1 reported filled", "boom", "job ended", "req b",
                                                   "req a", "job started", "old web"]
    assert result.files == ["web", "worker"] and result.truncated == ""


@pytest.mark.parametrize("query, expected", [
    ({"request_id": "r-a"}, ["req a"]),
    ({"job_id": "j-1"}, ["job ended", "job started"]),
    ({"order_id": "X1"}, ["order X1 reported filled"]),
    ({"user": "bob"}, ["req b"]),
    ({"level": "warning"}, ["boom", "job ended"]),
    ({"process": "worker", "text": "JOB"}, ["job ended", "job started"]),
    ({"process": "nobody"}, []),
    ({"since": NOW - timedelta(seconds=120), "until": NOW - timedelta(seconds=20)}, ["job ended", "req b"]),
])
def test_filters(instance, query, expected):
    assert [r["message"] for r in _search(instance, **query).rows] == expected


def test_limit_and_scan_budget_say_why_they_stopped(instance):
    limited = _search(instance, limit=2)
    assert len(limited.rows) == 2 and "newest 2" in limited.truncated
    starved = logs.search(instance, logs.parse_query({}), now=NOW, max_scan_bytes=100)
    assert starved.scanned_bytes <= 100 + logs.BLOCK and "stopped after scanning" in starved.truncated


@pytest.mark.parametrize("query, field", [
    ({"level": "LOUD"}, "level"), ({"request_id": "x" * 65}, "request_id"), ({"job_id": "a b"}, "job_id"),
    ({"text": "bell\x07"}, "text"), ({"limit": 5000}, "limit"), ({"process": "../etc"}, "process"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_queries_name_the_field(query, field):
    with pytest.raises(ValidationError) as err:
        logs.parse_query(query)
    assert err.value.field == field


def test_window_is_bounded():
    with pytest.raises(ValidationError, match="at most 7 days"):
        logs.parse_query({"since": NOW - timedelta(days=8), "until": NOW}).window(NOW)
    with pytest.raises(ValidationError, match="before its end"):
        logs.parse_query({"since": NOW, "until": NOW - timedelta(hours=1)}).window(NOW)


def test_tail_follows_new_lines_through_a_rotation(instance):
    d = instance / "logs"
    query = logs.parse_query({"level": "INFO", "text": "tick"})
    rows, cursor = logs.tail(instance, query, None)
    assert rows == [] and set(cursor) == {"web", "worker"}  # the first poll starts at the end
    with open(d / "web.jsonl", "a") as f:
        f.write(_line(1, "tick 1") + "\n" + _line(1, "ignored") + "\n" + _line(1, "tick 2", level="DEBUG") + "\n")
        f.write('{"time": "half a line')  # not finished yet: waits for the next poll
    rows, cursor = logs.tail(instance, query, cursor)
    assert [r["message"] for r in rows] == ["tick 1"]
    with open(d / "web.jsonl", "a") as f:
        f.write('"}\n' + _line(0.5, "tick 3") + "\n")
    (d / "web.jsonl").rename(d / "web.jsonl.1")  # rotated before the next poll
    _write(d, "web.jsonl", [_line(0.2, "tick 4")])
    _write(d, "beat.jsonl", [_line(0.1, "tick 5", process="beat")])  # a new process file: read from its start
    rows, cursor = logs.tail(instance, query, cursor)
    assert [r["message"] for r in rows] == ["tick 5", "tick 4", "tick 3"]
    rows, _ = logs.tail(instance, query, {"web": ["x", -1], "../../x": [1, 2]})  # a forged cursor is ignored
    assert all(r["message"].startswith("tick") for r in rows)


def test_process_files_log_every_field_with_context_and_no_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_PROCESS_NAME", "unit")
    handler = log_files.file_handler(tmp_path)
    logger = logging.getLogger("cockpit.unit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with log_files.log_context(job_id="job-7", user="carol"):
            logger.info("working on %s", "it", extra={"order_id": "ORD-1", "token": "tdc_abcdefghijklmnop"})
        logger.warning("login with password=hunter2 and Authorization: Bearer abcdef123456 tdc_zzzzzzzzzzzzzz")
        log_files.flush()
    finally:
        logger.removeHandler(handler)
        log_files.stop()
    lines = [json.loads(x) for x in (tmp_path / "logs" / "unit.jsonl").read_text().splitlines()]
    first, second = lines
    assert list(first)[:9] == ["time", "level", "process", "logger", "message", "request_id", "user", "job_id",
                               "order_id"]
    assert (first["process"], first["message"], first["job_id"], first["user"], first["order_id"]) == \
        ("unit", "working on it", "job-7", "carol", "ORD-1")
    assert first["token"] == "[redacted]" and second["job_id"] is None
    text = json.dumps(second)
    assert "hunter2" not in text and "abcdef123456" not in text and "zzzzzzzz" not in text
    assert logs.search(tmp_path, logs.parse_query({"job_id": "job-7"})).rows[0]["message"] == "working on it"


def test_cli_search_reads_the_files_without_a_database(tmp_path):
    from click.testing import CliRunner

    from dashapp.cli import main

    now = datetime.now(timezone.utc)
    line = json.dumps({"time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "level": "ERROR", "process": "web",
                       "logger": "cockpit.access", "message": "POST /api/v1/ingest/orders 500", "request_id": "r-cli",
                       "user": "paper-engine", "job_id": None, "order_id": None})
    _write(tmp_path / "logs", "web.jsonl", [line])
    env = {"COCKPIT_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "k", "DATABASE_URL": "sqlite:///nowhere.sqlite"}
    out = CliRunner().invoke(main, ["logs", "search", "--request-id", "r-cli"], env=env)
    assert out.exit_code == 0 and "POST /api/v1/ingest/orders 500  [request_id=r-cli user=paper-engine]" in out.output
    bad = CliRunner().invoke(main, ["logs", "search", "--job-id", "not a job"], env=env)
    assert bad.exit_code == 1 and "job_id" in bad.output


@pytest.mark.parametrize("argv, name", [
    (["/v/celery/__main__.py", "-A", "workers.main:celery", "beat", "-s", "x"], "beat"),
    (["/v/bin/celery", "-A", "workers.main:celery", "worker", "-Q", "jobs"], "worker"),
    (["/v/gunicorn/__main__.py", "wsgi:app"], "web"),
    (["/v/dashapp/cli.py", "engine", "supervise"], "engine-supervisor"),
    (["/v/dashapp/cli.py", "engine", "run"], "engine"),
    (["pytest", "-q"], "app"),
])
def test_process_name_from_the_command_line(monkeypatch, argv, name):
    monkeypatch.delenv("COCKPIT_PROCESS_NAME", raising=False)
    monkeypatch.delenv("SUPERVISOR_PROCESS_NAME", raising=False)
    monkeypatch.setattr("sys.argv", argv)
    assert log_files.process_name() == name
    monkeypatch.setenv("SUPERVISOR_PROCESS_NAME", "worker-2")  # `dashapp up` names its programs
    assert log_files.process_name() == "worker-2"
