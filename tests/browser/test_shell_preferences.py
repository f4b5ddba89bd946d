"""The navbar at desk screen widths and the per-user view preferences (auto-refresh per page, time
range), read from the page as a person sees them."""
from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from dashapp.pages import PAGES
from dashapp.security.permissions import has_permission
from layouts.shell import PRIMARY_PATHS
from tests.browser.conftest import click, grid_rows, login_as, logout

pytestmark = pytest.mark.browser

NAV_STATE = """
    const nav = document.getElementById("shell-nav");
    const bar = nav.closest(".navbar").getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    const visible = el => { const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= width + 0.5; };
    const linkEls = [...nav.querySelectorAll(":scope > .nav-item > a.nav-link:not(.dropdown-toggle)")];
    const toggle = nav.querySelector("#shell-nav-more, #shell-nav-more .dropdown-toggle");
    return {barHeight: bar.height,
            links: linkEls.map(a => [a.getAttribute("href"), visible(a)]),
            more: [...nav.querySelectorAll("a.dropdown-item")].map(a => a.getAttribute("href")),
            toggleVisible: toggle ? visible(toggle.querySelector(".dropdown-toggle") || toggle) : null,
            scrolled: nav.scrollWidth > nav.clientWidth + 1,
            // the links end before the view controls start (they once ran under the selects)
            linksEnd: Math.max(...[...nav.querySelectorAll("a.nav-link")].map(a => a.getBoundingClientRect().right)),
            controlsStart: document.getElementById("shell-view-controls").getBoundingClientRect().left};
"""


def _select(dash_duo, selector: str) -> Select:
    return Select(dash_duo.wait_for_element(selector))


@pytest.mark.parametrize("width", [1366, 1600, 1920])
def test_every_page_is_in_the_bar_or_the_more_menu_and_nothing_is_hidden(started, cockpit, width):
    started.driver.set_window_size(width, 900)
    login_as(started, cockpit.usernames["admin"], path="/jobs")
    allowed = [page.path for page in PAGES if page.in_nav and has_permission("admin", page.perm)]
    expected = [path for path in allowed if path in PRIMARY_PATHS] + [p for p in allowed if p not in PRIMARY_PATHS]

    state = started.driver.execute_script(NAV_STATE)

    assert [href for href, _ in state["links"]] + state["more"] == expected
    assert all(shown for _, shown in state["links"]), state["links"]
    assert state["more"] and state["toggleVisible"], state
    assert not state["scrolled"]
    assert state["linksEnd"] <= state["controlsStart"], state
    assert state["barHeight"] < 64, f"the navbar wrapped onto a second line ({state['barHeight']} px)"
    # Every page in the menu is one click away and the menu is not clipped by the bar.
    click(started, "#shell-nav-more .dropdown-toggle")
    until(lambda: all(item.is_displayed() for item in started.find_elements("#shell-nav a.dropdown-item")), 10)
    click(started, "#shell-nav a.dropdown-item[href='/audit']")
    started.wait_for_element("#page-body")
    until(lambda: started.driver.execute_script("return location.pathname") == "/audit", 20)
    # The time-range choices are plain text the desk fonts have (no missing-glyph box).
    labels = [option.get_attribute("textContent").strip() for option in _select(started, "#shell-time-range").options
              if option.get_attribute("value")]  # dbc.Select adds an empty placeholder option
    assert labels[0] == "Last 15 min" and all(label.startswith("Last ") for label in labels)
    assert started.get_logs() == []


def test_refresh_choice_and_time_range_are_remembered_across_a_reload_and_a_new_login(started, cockpit):
    username = cockpit.usernames["trader"]
    login_as(started, username, path="/jobs")
    until(lambda: _select(started, "#shell-refresh").first_selected_option.get_attribute("value") == "live", 20)

    _select(started, "#shell-refresh").select_by_value("30s")
    _select(started, "#shell-time-range").select_by_value("7d")
    until(lambda: _stored(cockpit, username) == {"refresh:jobs": "30s", "time_range": "7d"}, 20,
          msg=lambda: f"stored {_stored(cockpit, username)}")

    def shown(path: str) -> tuple[str, str]:
        return (_select(started, "#shell-refresh").first_selected_option.get_attribute("value"),
                _select(started, "#shell-time-range").first_selected_option.get_attribute("value"))

    started.driver.refresh()
    started.wait_for_contains_text("#shell-user", username)
    until(lambda: shown("/jobs") == ("30s", "7d"), 20, msg=lambda: f"after a reload: {shown('/jobs')}")

    logout(started)
    login_as(started, username, path="/jobs")
    until(lambda: shown("/jobs") == ("30s", "7d"), 20, msg=lambda: f"after a new login: {shown('/jobs')}")
    # The refresh choice is per page: Trading keeps its own (live) while the time range is global.
    click(started, "#nav-trading")
    until(lambda: shown("/trading") == ("live", "7d"), 20, msg=lambda: f"on Trading: {shown('/trading')}")
    assert started.get_logs() == []


def _stored(cockpit, username: str) -> dict:
    import sqlalchemy as sa

    from models import User, UserPreference

    with cockpit.db() as session:
        user_id = session.execute(sa.select(User.id).where(User.username == username)).scalar_one()
        return dict(session.execute(sa.select(UserPreference.key, UserPreference.value).where(
            UserPreference.user_id == user_id)).all())


def _ingest_position(cockpit, n: int, symbol: str) -> None:
    from dashapp.realtime import publish
    from dashapp.services.ingest import ingest_batch
    from tests.support.trading import REFERENCE, fill, order

    with cockpit.db():
        if n == 0:
            for kind, items in REFERENCE.items():
                ingest_batch(kind, "paper-1", items)
        ingest_batch("orders", "paper-1", [order(f"o-{n}", qty=100, instrument=symbol)])
        ingest_batch("fills", "paper-1", [fill(f"f-{n}", f"o-{n}", 100.0, 100.0)])
        # What the ingest endpoint publishes after a stored batch (the push the page may not act on).
        publish("ingest.fills", {"engine_id": "paper-1", "stored": 1, "updated": 0})


def _wait_applied(dash_duo, text: str) -> None:
    def applied() -> str:  # a hidden element: selenium's .text would read ""
        return dash_duo.driver.execute_script("return document.getElementById('shell-refresh-applied').textContent;")
    until(lambda: applied() == text, 20, msg=lambda: f"refresh applied: {applied()!r}")


def _positions(dash_duo) -> set[str]:
    return {row.get("instrument") for row in grid_rows(dash_duo, "cc-positions")}


def test_refresh_off_holds_pushed_and_polled_changes_until_the_button_and_5s_shows_them(started, cockpit):
    login_as(started, cockpit.usernames["trader"], path="/")
    until(lambda: started.driver.execute_script("return !!window.cockpitRefresh;"), 20)
    _select(started, "#shell-refresh").select_by_value("off")
    _wait_applied(started, "command_center:off")
    until(lambda: started.find_element("#shell-live-badge").text == "⇅ Push: connected", 30)
    held = started.driver.execute_script("return window.cockpitRefresh.held;")

    _ingest_position(cockpit, 0, "AAPL")
    # The ingest's pushed events reach the tab and are held there (the page is not refreshed by them).
    until(lambda: started.driver.execute_script("return window.cockpitRefresh.held;") > held, 30,
          msg="the ingest's pushed event never reached the tab")
    # The trading-mode badge polls every 5 s whatever the page's choice: two of its requests later, a
    # page interval (3 s) would have fired had "Off" not stopped it.
    requests = started.driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update')).length;")
    until(lambda: started.driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update')).length;")
        >= requests + 2, 30)
    assert "AAPL" not in _positions(started)

    click(started, "#shell-refresh-now")
    until(lambda: "AAPL" in _positions(started), 30, msg=lambda: f"after the button: {_positions(started)}")

    _select(started, "#shell-refresh").select_by_value("5s")
    _wait_applied(started, "command_center:5s")
    _ingest_position(cockpit, 1, "XOM")
    until(lambda: "XOM" in _positions(started), 30, msg=lambda: f"with 5 s: {_positions(started)}")
    assert started.get_logs() == []


def test_the_time_range_filters_the_history_a_page_shows(started, cockpit):
    from datetime import datetime, timedelta, timezone

    from models import Job

    now = datetime.now(timezone.utc)
    with cockpit.db() as session:
        for name, age in (("recent", timedelta(hours=2)), ("older", timedelta(days=3))):
            session.add(Job(id=f"job-{name}", job_type="health_check", state="succeeded", progress=100.0,
                            created_by="trader1", created_at=now - age, finished_at=now - age, message=name))
        session.commit()
    login_as(started, cockpit.usernames["trader"], path="/jobs")

    def messages() -> list[str]:
        return sorted(row.get("message") for row in grid_rows(started, "jobs-grid"))

    until(lambda: messages() == ["recent"], 20, msg=lambda: f"last 24 h: {messages()}")
    _select(started, "#shell-time-range").select_by_value("7d")
    until(lambda: messages() == ["older", "recent"], 20, msg=lambda: f"last 7 days: {messages()}")
    _select(started, "#shell-time-range").select_by_value("1h")
    until(lambda: messages() == [], 20, msg=lambda: f"last hour: {messages()}")
    assert started.get_logs() == []


def test_the_time_range_sets_the_execution_period_and_its_counts(started, cockpit):
    from datetime import datetime, timedelta, timezone

    from dashapp.services.ingest import ingest_batch
    from tests.support.trading import REFERENCE, fill, order

    now = datetime.now(timezone.utc)
    with cockpit.db():
        for kind, items in REFERENCE.items():
            ingest_batch(kind, "paper-1", items)
        for name, age in (("recent", timedelta(hours=2)), ("older", timedelta(days=3))):
            at = now - age
            ingest_batch("orders", "paper-1", [order(name, status="filled", created_at=at.isoformat(),
                                                     filled_at=(at + timedelta(seconds=1)).isoformat())])
            ingest_batch("fills", "paper-1", [fill(f"f-{name}", name, 100.0, 190.1,
                                                   filled_at=(at + timedelta(seconds=1)).isoformat())])
    login_as(started, cockpit.usernames["trader"], path="/execution")

    started.wait_for_contains_text("#ex-note", "1 orders and 1 fills in the period")
    _select(started, "#shell-time-range").select_by_value("7d")
    until(lambda: _select(started, "#ex-period").first_selected_option.get_attribute("value") == "7d", 20)
    started.wait_for_contains_text("#ex-note", "2 orders and 2 fills in the period")
    _select(started, "#shell-time-range").select_by_value("1h")
    started.wait_for_contains_text("#ex-note", "No orders in the period")
    assert started.get_logs() == []
