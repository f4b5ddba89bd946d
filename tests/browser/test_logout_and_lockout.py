"""In the browser: the navbar's logout ends the session for good (a copied cookie gets no data), a
concurrent burst of wrong passwords is counted exactly, and an anonymous burst cannot lock an account."""
from __future__ import annotations

import re
import threading

import pytest
import requests
from requests.adapters import HTTPAdapter
import sqlalchemy as sa

from tests.browser.conftest import click, login_as, url
from tests.support.web import PASSWORD

pytestmark = pytest.mark.browser


ATTACKER = "127.0.0.2"  # Linux routes all of 127/8 to loopback: the server sees a second client address


class _FromAddress(HTTPAdapter):
    """Connect from a given local address, so the server sees another client than the browser."""

    def __init__(self, address: str):
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def _plain_session(started, cookies: dict[str, str] | None = None) -> requests.Session:
    """A plain HTTP client (not the browser), optionally carrying cookies copied from it."""
    session = requests.Session()
    for name, value in (cookies or {}).items():
        session.cookies.set(name, value)
    return session


def _post_login(started, username: str, password: str) -> requests.Response:
    client = requests.Session()
    client.mount("http://", _FromAddress(ATTACKER))
    base = url(started).replace("localhost", "127.0.0.1")
    page = client.get(base + "login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(base + "login", data={"username": username, "password": password, "csrf_token": token},
                       allow_redirects=False, timeout=60)


def test_after_logout_through_the_navbar_the_old_cookie_gets_no_data(started, cockpit):
    login_as(started, cockpit.usernames["trader"])
    copied = {c["name"]: c["value"] for c in started.driver.get_cookies() if c["name"] in ("session", "_csrf_token")}
    thief = _plain_session(started, copied)
    assert thief.get(url(started, "/api/v1/me"), timeout=30).json()["username"] == "trader1"  # the copy works now

    click(started, "#shell-logout")
    started.wait_for_contains_text("#login-info", "signed out")

    assert thief.get(url(started, "/api/v1/me"), timeout=30).status_code == 401
    layout = thief.get(url(started, "/_dash-layout"), timeout=30)
    assert layout.status_code == 401
    callback = thief.post(url(started, "/_dash-update-component"), timeout=30,
                          headers={"X-CSRFToken": copied["_csrf_token"]},
                          json={"output": "shell-theme-status.children",
                                "outputs": {"id": "shell-theme-status", "property": "children"},
                                "inputs": [{"id": "shell-theme-switch", "property": "value", "value": True}],
                                "changedPropIds": ["shell-theme-switch.value"]})
    assert callback.status_code == 401
    page = thief.get(url(started, "/trading"), allow_redirects=False, timeout=30)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert started.get_logs() == []


def _stored(cockpit, username: str):
    from models import User

    with cockpit.db() as session:
        return session.execute(sa.select(User.failed_logins, User.locked_until).where(User.username == username)).one()


def test_a_wrong_password_burst_is_counted_exactly_and_cannot_lock_the_account(started, cockpit):
    """An anonymous client at another address fires wrong passwords at the admin all at once: the burst
    is counted exactly, that address is locked out of that account, the admin's browser is not."""
    name = cockpit.usernames["admin"]
    threshold = cockpit.app.server.config["COCKPIT_SETTINGS"].login_max_failures
    start = threading.Barrier(threshold)
    answers: list = [None] * threshold

    def attempt(i: int) -> None:
        start.wait()
        answers[i] = _post_login(started, name, f"wrong-{i}").status_code

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(threshold)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == [401] * threshold
    assert tuple(_stored(cockpit, name)) == (threshold, None)  # every one counted; no account lock

    again = _post_login(started, name, PASSWORD)  # the attacker's address is locked for this account...
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0

    login_as(started, name)  # ... the account is not: the admin's browser (127.0.0.1) signs in
    assert started.find_element("#shell-user").text.startswith(name)
    assert started.get_logs() == []
