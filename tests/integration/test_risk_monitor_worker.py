"""The risk monitor runs on beat's schedule through a REAL worker: a breached limit blocks the
engine's new orders with nobody looking at the Risk page, and the block lifts when the limit is
raised. SQLite + the embedded broker, and PostgreSQL + Redis."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from dashapp.extensions import db
from dashapp.services import audit, controls
from dashapp.services.risk import limits
from tests.integration.test_risk import book  # noqa: F401  (the fixture: a long AAPL, short XOM book)
from tests.support.governance import relax_limit
from tests.support.worker import broker_settings, celery_beat, celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]


@pytest.fixture
def broker():
    return "filesystem"


@pytest.fixture
def settings(tmp_path, database_url, broker):
    """A one-second risk tick, on the broker under test."""
    with broker_settings(tmp_path, database_url, broker, {"risk_monitor_every_seconds": "1"}) as settings:
        yield settings


def _block_reason() -> str:
    db.session.rollback()
    db.session.expire_all()
    return controls.engine_view().block_new_orders_reason


def _wait(check, what: str, beat, worker, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout:.0f} s\nbeat log:\n{beat.log_tail()}\nworker log:\n{worker.log_tail()}")


@pytest.mark.parametrize(("broker", "db_backend"), [
    pytest.param("filesystem", "sqlite", id="filesystem-sqlite"),
    pytest.param("redis", "postgresql", id="redis-postgresql", marks=[pytest.mark.redis, pytest.mark.postgres]),
])
def test_beat_measures_limits_and_blocks_new_orders_with_no_page_open(server, settings, book, broker, db_backend):
    limits.ensure_defaults()
    # Gross exposure is 10,000 x 100 + 4,000 x 50 = 1.2m: over a 1m limit.
    limits.save_limit("rita", "risk", "gross_exposure", "*", 1e6, 0.8, "block_new_orders")
    assert _block_reason() == "", "nothing has measured the limit yet"
    with celery_worker(settings) as worker, celery_beat(settings) as beat:
        reason = _wait(_block_reason, "no block from the scheduled risk monitor", beat, worker)
        assert "gross_exposure" in reason
        assert [r for r in audit.query(action="risk.breach") if r.actor == "risk-monitor"]
        relax_limit("gross_exposure", 5e6, 0.8, "block_new_orders")  # a relaxation: four-eyes
        _wait(lambda: _block_reason() == "", "the block never lifted after the limit was raised", beat, worker)
    assert "workers.tasks.monitor_risk" in worker.log_path.read_text()


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_risk_tick_is_on_the_schedule_by_default(settings, db_backend):
    from workers.celery_app import MONITOR_RISK, beat_schedule

    entry = beat_schedule(replace(settings, extra={}))["risk-monitor"]
    assert entry["task"] == MONITOR_RISK and entry["schedule"] == 5.0 and entry["options"]["expires"] == 5.0
