"""The shell in a real browser: navigation per role, refusal by URL, and the remembered theme."""
from __future__ import annotations

import pytest
from dash.testing.wait import until

from dashapp.pages import PAGES
from dashapp.security.permissions import ROLES, has_permission
from layouts.shell import PRIMARY_PATHS
from tests.browser.conftest import html_attribute, login_as, logout, wait_for_html_attribute

pytestmark = pytest.mark.browser


def nav_links(dash_duo) -> list[tuple[str, str]]:
    # The bar's links, then the "More" menu's items (closed: their text is read from the DOM).
    links = dash_duo.find_elements("#shell-nav a.nav-link:not(.dropdown-toggle), #shell-nav a.dropdown-item")
    return [(link.get_attribute("textContent").strip(), link.get_attribute("pathname")) for link in links]


def test_each_role_sees_exactly_the_pages_the_matrix_allows(started, cockpit):
    seen, expected = {}, {}
    for role in ROLES:  # one server and browser for all four roles keeps the suite quick
        username = cockpit.usernames[role]
        allowed = [(page.title, page.path) for page in PAGES if page.in_nav and has_permission(role, page.perm)]
        # The bar's pages first, then the "More" menu's (layouts/shell.py PRIMARY_PATHS).
        expected[role] = ([p for p in allowed if p[1] in PRIMARY_PATHS] + [p for p in allowed if p[1] not in PRIMARY_PATHS])
        # Land on the role's last page rather than the (heavier) home page: the navbar is the same.
        login_as(started, username, path=expected[role][-1][1])
        assert started.find_element("#shell-user").text == f"{username} · {role}"
        seen[role] = nav_links(started)
        logout(started)

    assert seen == expected
    assert started.get_logs() == []


def test_viewer_opening_admin_by_url_gets_403_and_no_users_grid(started, cockpit):
    login_as(started, cockpit.usernames["viewer"], path="/admin")

    started.wait_for_contains_text("#page-forbidden", "403")
    assert "admin" in started.find_element("#page-forbidden").text
    assert started.find_elements("#admin-users-grid") == []
    assert ("Admin", "/admin") not in nav_links(started)
    assert started.get_logs() == []

    # The page is not the check: the server refuses the admin grid's callback to this session too.
    status = started.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const csrf = (document.cookie.match(/(?:^|; )_csrf_token=([^;]*)/) || [])[1] || "";
        fetch("/_dash-update-component", {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf)},
          body: JSON.stringify({output: "admin-tokens-grid.rowData",
            outputs: {id: "admin-tokens-grid", property: "rowData"},
            inputs: [{id: "admin-refresh", property: "n_clicks", value: 1},
                     {id: "admin-tokens-changed", property: "data", value: 0}],
            changedPropIds: ["admin-refresh.n_clicks"], state: []})
        }).then(r => done(r.status), () => done(-1));
    """)
    assert status == 403


def test_theme_is_dark_by_default_and_a_switch_to_light_is_remembered_after_logout(started, cockpit):
    from dashapp.services import users

    username = cockpit.usernames["viewer"]
    login_as(started, username)
    wait_for_html_attribute(started, "data-bs-theme", "dark")  # the desk's default for a new user
    assert html_attribute(started, "data-ag-theme-mode") == "dark"

    started.find_element("#shell-theme-switch").click()
    wait_for_html_attribute(started, "data-bs-theme", "light")
    assert html_attribute(started, "data-ag-theme-mode") == "light"

    def saved_theme():
        with cockpit.db():
            return users.find_by_username(username).theme

    until(lambda: saved_theme() == "light", 20, msg="the light theme was never saved for the user")

    logout(started)
    login_as(started, username)
    wait_for_html_attribute(started, "data-bs-theme", "light")
    assert html_attribute(started, "data-ag-theme-mode") == "light"
    assert not started.find_element("#shell-theme-switch").is_selected()
    assert started.get_logs() == []
