"""Browser-only fixtures: the whole cockpit on a SQLite file, one user per role, and login helpers.

Chromium options come from `pytest_setup_options` in tests/conftest.py. The app runs in dash_duo's
threaded server, so the test thread and the server share one database file (read it inside
`cockpit.db()`), never one session.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass, field

import dash
import pytest
from dash.testing.errors import TestingTimeoutError
from dash.testing.wait import until
from selenium.webdriver.common.by import By

from dashapp.security.permissions import ROLES
from tests.conftest import make_settings, upgrade_database
from tests.support.web import PASSWORD


@pytest.hookimpl(hookwrapper=True)
def pytest_setup_options():
    """Adds no options. dash_duo takes element [0] of this hook's result list as the Options object;
    tests/conftest.py returns `[options]`, which makes that element a list (AttributeError:
    'list' object has no attribute 'add_argument'). Flatten it; a no-op once that hook returns
    `options` itself."""
    outcome = yield
    results = outcome.get_result()
    if results and isinstance(results[0], list):
        outcome.force_result([item for result in results
                              for item in (result if isinstance(result, list) else [result])])


@dataclass
class Cockpit:
    app: dash.Dash
    usernames: dict[str, str] = field(default_factory=dict)  # role -> user name

    @contextlib.contextmanager
    def db(self):
        """An app context with a fresh session (the server thread commits to the same file)."""
        from dashapp.extensions import db

        with self.app.server.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()


@pytest.fixture
def cockpit(tmp_path):
    """The cockpit app on a fresh SQLite file with users viewer1, trader1, risk1 and admin1."""
    from dashapp import create_app
    from dashapp.extensions import db
    from dashapp.services import users

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'browser.sqlite'}"))
    upgrade_database(app.server)
    names = {}
    with app.server.app_context():
        for role in ROLES:
            names[role] = users.create_user("test", f"{role}1", PASSWORD, role, f"{role.title()} One").username
        db.session.remove()
    yield Cockpit(app, names)
    with app.server.app_context():
        db.session.remove()
        db.engine.dispose()
    dash.page_registry.clear()


def _open_push_streams() -> int:
    """Server threads currently inside the /events/stream generator."""
    def in_stream(frame) -> bool:
        while frame is not None:
            if frame.f_code.co_filename.endswith(os.path.join("realtime", "stream.py")):
                return True
            frame = frame.f_back
        return False

    return sum(in_stream(frame) for frame in sys._current_frames().values())


@pytest.fixture
def started(dash_duo, cockpit, monkeypatch):
    """dash_duo serving the cockpit, with the browser on nothing yet (log in with `login_as`)."""
    with contextlib.suppress(ImportError):
        from dashapp.realtime import stream

        # A closed page's stream only ends at its next write; keep-alives every 0.5 s make that quick.
        monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.5)
    # Flask's CLI group (run in-process by the CLI tests) sets this for the whole process, and then
    # app.run() silently does nothing: the test server would never start.
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    # A free port, not dash's 8050 default: test processes may run side by side (pytest-xdist).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A generous start timeout: on a busy 2-core machine the server thread can take longer than 3 s.
    dash_duo.start_server(cockpit.app, navigate=False, port=port, start_timeout=60)
    dash_duo.wait_timeout = 20  # generous: the suite often shares the machine with other test runs
    yield dash_duo
    # dash's runner stops its server by raising SystemExit inside every thread the server started;
    # a push stream still open then dies noisily (PytestUnhandledThreadExceptionWarning), and on
    # CPython 3.11.7 that has crashed pytest at session end. So close the tab that holds the stream
    # (navigating away is not enough: Chrome's back/forward cache keeps the page and its
    # EventSource alive) and let the stream threads end on their own first.
    driver = dash_duo.driver
    old_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    new_tab = driver.current_window_handle
    driver.switch_to.window(old_tab)
    driver.close()
    driver.switch_to.window(new_tab)
    with contextlib.suppress(TestingTimeoutError):
        until(lambda: _open_push_streams() == 0, 5)


def url(dash_duo, path: str = "/") -> str:
    """An address on the app. (`dash_duo.server_url` stays unset with navigate=False: setting it
    waits for the Dash page, which an anonymous browser never reaches.)"""
    return dash_duo.server.url.rstrip("/") + path


def logout(dash_duo) -> None:
    """Sign out the way a person does: the navbar's button (logout is POST only, with the CSRF token)."""
    click(dash_duo, dash_duo.wait_for_element("#shell-logout"))
    dash_duo.wait_for_element("#login-form")


def login_as(dash_duo, username: str, password: str = PASSWORD, path: str = "/") -> None:
    """Sign in through the real login form and wait until the Dash shell shows the user."""
    driver = dash_duo.driver
    login_url = url(dash_duo, "/login" + (f"?next={path}" if path != "/" else ""))
    driver.get(login_url)
    if not driver.find_elements(By.ID, "login-form"):  # someone is still signed in
        logout(dash_duo)
        driver.get(login_url)
    dash_duo.wait_for_element("#username").send_keys(username)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#react-entry-point")
    dash_duo.wait_for_contains_text("#shell-user", username)


def html_attribute(dash_duo, name: str) -> str | None:
    return dash_duo.driver.execute_script("return document.documentElement.getAttribute(arguments[0]);", name)


def wait_for_html_attribute(dash_duo, name: str, value: str, timeout: float = 20) -> None:
    until(lambda: html_attribute(dash_duo, name) == value, timeout,
          msg=f"<html {name}> never became {value!r} (it is {html_attribute(dash_duo, name)!r})")


def grid_rows(dash_duo, grid_id: str) -> list[dict[str, str]]:
    """The displayed rows of an ag-grid as {col-id: text}, in display order (small grids render
    every row). Read with a script: an empty `find_elements` would wait out the implicit wait."""
    return dash_duo.driver.execute_script("""
        const rows = [...document.querySelectorAll(`#${arguments[0]} .ag-center-cols-container .ag-row`)];
        rows.sort((a, b) => Number(a.getAttribute("row-index")) - Number(b.getAttribute("row-index")));
        return rows.map(row => Object.fromEntries([...row.querySelectorAll(".ag-cell")].map(
            cell => [cell.getAttribute("col-id"), cell.innerText.trim()])));
    """, grid_id)


def grid_column(dash_duo, grid_id: str, col_id: str) -> list[str]:
    return [row.get(col_id) for row in grid_rows(dash_duo, grid_id)]


def wait_for_grid_value(dash_duo, grid_id: str, col_id: str, value: str, timeout: float = 20) -> None:
    until(lambda: value in grid_column(dash_duo, grid_id, col_id), timeout,
          msg=f"{value!r} never appeared in column {col_id} of #{grid_id}")


def click(dash_duo, selector_or_element) -> None:
    """Scroll the element to the middle of the viewport at once, then click it. Bootstrap sets
    `scroll-behavior: smooth`, so Selenium's own scroll is still animating when it clicks and the
    click lands on whatever is passing under the pointer (ElementClickInterceptedException)."""
    element = (dash_duo.find_element(selector_or_element) if isinstance(selector_or_element, str)
               else selector_or_element)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
    element.click()


def click_grid_row(dash_duo, grid_id: str, col_id: str, value: str) -> None:
    wait_for_grid_value(dash_duo, grid_id, col_id, value)
    for cell in dash_duo.find_elements(f"#{grid_id} .ag-center-cols-container [col-id='{col_id}']"):
        if cell.text == value:
            click(dash_duo, cell)
            return
    raise AssertionError(f"no row with {col_id}={value!r} in #{grid_id}")
