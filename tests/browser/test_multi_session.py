"""Several people watch the Command Center at once while an engine ingests: each browser session
(its own browser, its own login) shows the data move, all served from one shared snapshot per tick."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import requests
from dash.testing.wait import until
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.services import snapshots, tokens, users
from tests.browser.conftest import grid_rows, login_as, url
from tests.support.trading import REFERENCE
from tests.support.web import PASSWORD

FINAL_MID = 777.25  # a price the ingesting thread never sends: seeing it means the last quote arrived


def _browser() -> webdriver.Chrome:
    """Another browser beside dash_duo's (its own cookie jar, so its own session), with the same flags."""
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ["DASH_TEST_CHROMEPATH"]
    for flag in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--remote-debugging-port=0",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def _sign_in(driver, base: str, username: str) -> None:
    driver.get(base + "/login")
    wait = WebDriverWait(driver, 30)
    wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "shell-user"), username))


@pytest.fixture
def ingest(started, cockpit):
    """send(kind, items) through the running server's REST API, as an engine does."""
    with cockpit.db():
        owner = users.create_user("test", "paper-engine", PASSWORD, "trader")
        _, secret = tokens.create_token("test", owner.id, "engine", ["paper-1"])
    http = requests.Session()

    def send(kind, items):
        response = http.post(url(started, f"/api/v1/ingest/{kind}"), json={"engine_id": "paper-1", "items": items},
                             headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        assert response.status_code == 200, response.text
    for kind, items in REFERENCE.items():
        send(kind, items)
    yield send
    http.close()


@pytest.fixture
def extra_browsers():
    drivers = []
    yield drivers
    for driver in drivers:  # before `started` tears down, so their push streams end with them
        driver.quit()


def _quote(mid: float) -> dict:
    return {"instrument": "AAPL", "ts": datetime.now(timezone.utc).isoformat(), "bid": mid - 0.05, "ask": mid + 0.05}


def _last_price(driver) -> str | None:
    rows = [r for r in grid_rows(SimpleNamespace(driver=driver), "cc-positions") if r.get("instrument") == "AAPL"]
    return rows[0].get("last") if rows else None


def test_every_session_sees_the_ingested_data_move(started, cockpit, ingest, extra_browsers):
    now = datetime.now(timezone.utc).isoformat()
    ingest("orders", [{"client_order_id": "ms-1", "strategy": "MOM", "instrument": "AAPL", "venue": "XNAS",
                       "side": "buy", "quantity": 100, "status": "filled", "created_at": now, "filled_at": now,
                       "filled_quantity": 100, "avg_fill_price": 190.0, "arrival_mid": 190.0}])
    ingest("fills", [{"exec_id": "ms-f1", "client_order_id": "ms-1", "venue": "XNAS", "quantity": 100,
                      "price": 190.0, "fee": 1.0, "filled_at": now}])
    ingest("quotes", [_quote(195.0)])

    login_as(started, "viewer1")
    for name in ("trader1", "risk1"):
        extra_browsers.append(_browser())
        _sign_in(extra_browsers[-1], url(started), name)
    drivers = [started.driver, *extra_browsers]
    first_seen = []
    for driver in drivers:
        until(lambda: _last_price(driver) is not None, 30, msg="the AAPL position never showed")
        first_seen.append(_last_price(driver))

    # An engine's stream of quotes (bounded in count; stopped as soon as every page has moved).
    stop, sent = threading.Event(), []

    def engine():
        for step in range(400):
            if stop.wait(0.25):
                return
            sent.append(200.0 + step)
            ingest("quotes", [_quote(sent[-1])])

    thread = threading.Thread(target=engine, daemon=True)
    snapshots.reset_stats()
    thread.start()
    try:
        for driver, seen in zip(drivers, first_seen):
            until(lambda: _last_price(driver) not in (None, seen), 40, msg=f"the price stayed at {seen} in a session")
    finally:
        stop.set()
        thread.join(30)
    assert sent, "the engine thread sent nothing"
    ingest("quotes", [_quote(FINAL_MID)])
    for driver in drivers:
        until(lambda: (_last_price(driver) or "").replace(",", "").startswith("777.25"), 40,
              msg=f"a session never showed the last quote (it shows {_last_price(driver)})")
    counts = snapshots.stats()
    # Three pages refreshing the same views: some refreshes were answered from a snapshot built for another.
    assert counts.get("hits", 0) + counts.get("stale", 0) + counts.get("waited", 0) > 0, counts
    assert started.get_logs() == []
