"""Cancel a long job from the Jobs page, with a real Celery worker running it."""
from __future__ import annotations

import pytest
from dash.testing.wait import until

from layouts.ids import Jobs
from tests.browser.conftest import click, click_grid_row, grid_rows, login_as, url
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.timeout(480)]


def _state(cockpit, job_id: str) -> str:
    from dashapp.services import jobs

    with cockpit.db():
        return jobs.get_job(job_id).state


def test_trader_cancels_a_running_job(started, cockpit):
    from dashapp.services import jobs
    from workers.celery_app import current_job_port

    settings = cockpit.app.server.config["COCKPIT_SETTINGS"]
    with celery_worker(settings, concurrency=1):
        with cockpit.db():
            job = jobs.launch("trader1", "trader", "health_check", {"sleep_seconds": 120}, "long-one",
                              port=current_job_port())
            job_id = job.id
        until(lambda: _state(cockpit, job_id) == "running", 180, msg="the worker never started the job")
        login_as(started, "trader1", path="/jobs")
        started.driver.get(url(started, "/jobs"))
        until(lambda: any(r.get("state") == "running" for r in grid_rows(started, Jobs.GRID)), 30,
              msg="the running job never showed in the grid")
        click_grid_row(started, Jobs.GRID, "state", "running")
        until(lambda: started.find_element(f"#{Jobs.CANCEL}").is_enabled(), 20, msg="Cancel stayed disabled")
        click(started, f"#{Jobs.CANCEL}")
        started.wait_for_contains_text(f"#{Jobs.CANCEL_MESSAGE}", "canceled")
        until(lambda: _state(cockpit, job_id) == "canceled", 30, msg="the job did not end canceled")
        until(lambda: any(r.get("state") == "canceled" for r in grid_rows(started, Jobs.GRID)), 30,
              msg="the grid never showed the job canceled")
    assert _state(cockpit, job_id) == "canceled"  # a terminal state never changes after the worker stops
