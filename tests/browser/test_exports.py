"""The Exports page in a real browser with a real Celery worker: a trader chooses orders as CSV,
follows the job to `succeeded`, clicks Download, and the browser saves the file whose bytes match
the SHA-256 in the job's result; a viewer is refused the page."""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.ids import Exports
from tests.browser.conftest import click, login_as, url
from tests.support.worker import celery_worker
from tests.unit.exports.conftest import N_ORDERS, seed_desk

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.timeout(240)]


def _choose(dash_duo, element_id: str, value: str) -> None:
    Select(dash_duo.find_element(f"#{element_id}")).select_by_value(value)


def test_trader_exports_orders_and_downloads_the_file(started, cockpit):
    from dashapp.services import jobs

    with cockpit.db():
        seed_desk()
    with celery_worker(cockpit.app.server.config["COCKPIT_SETTINGS"], concurrency=1):
        login_as(started, cockpit.usernames["trader"], path="/exports")
        started.wait_for_contains_text(f"#{Exports.HINT}", "filters: strategy, instrument, venue, status")
        _choose(started, Exports.DATASET, "orders")
        _choose(started, Exports.FORMAT, "csv")
        _choose(started, Exports.PERIOD, "all")
        _choose(started, Exports.STATUS, "filled")
        click(started, f"#{Exports.LAUNCH}")
        started.wait_for_contains_text(f"#{Exports.MESSAGE}", "Export queued")
        link = started.wait_for_element(".exp-download", timeout=90)  # appears when the job succeeded
        with cockpit.db():
            [job] = jobs.list_jobs(job_type_name="export")
            assert job.state == "succeeded" and job.created_by == cockpit.usernames["trader"]
            result = job.result
        assert link.get_attribute("href").endswith(f"/api/v1/exports/{job.id}/download")
        started.wait_for_contains_text(f"#exp-row-{job.id}", "succeeded")
        click(started, link)
        folder = Path(started.download_path)
        saved = folder / result["download_name"]
        until(lambda: saved.is_file() and not list(folder.glob("*.crdownload")), 30,
              msg=f"{saved.name} never appeared in {folder} (it holds {sorted(p.name for p in folder.iterdir())})")
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == result["sha256"]
    with open(saved, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == N_ORDERS // 4 and {r["status"] for r in rows} == {"filled"}
    assert started.get_logs() == []


def test_viewer_cannot_open_exports(started, cockpit):
    login_as(started, cockpit.usernames["viewer"], path="/exports")
    started.wait_for_element("#page-forbidden")
    assert "Exports" in started.find_element("#page-forbidden").text or \
        "403" in started.find_element("#page-forbidden").text
    started.driver.get(url(started, "/api/v1/exports/anything/download"))
    assert "lacks the permission exports:download" in started.driver.page_source
