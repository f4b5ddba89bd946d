"""The Content-Security-Policy does not break the pages (issue 8, item 5): the login page, Command
Center (graphs), Trading (infinite-row grid, clientside callbacks) and Risk render in headless
Chromium with an empty console, and the policy is really enforced (an injected inline script is
blocked and reported)."""
from __future__ import annotations

from dash.testing.wait import until

from tests.browser.conftest import grid_column, login_as, url
from tests.browser.test_trading_and_risk import book  # noqa: F401  (the fixture: orders, fills, bars)


def _console_errors(dash_duo) -> list[str]:
    return [entry["message"] for entry in dash_duo.get_logs() or []]


def test_pages_render_under_the_csp_with_no_console_errors(started, book):  # noqa: F811
    started.driver.get(url(started, "/login"))
    started.wait_for_element("#login-form")
    assert _console_errors(started) == []

    login_as(started, "admin1")
    started.wait_for_element("#cc-equity .js-plotly-plot")  # plotly drew a figure
    assert _console_errors(started) == []

    started.driver.get(url(started, "/trading"))
    until(lambda: "o-11" in grid_column(started, "tr-blotter", "client_order_id"), 30, msg="blotter never filled")
    started.wait_for_element("#tr-allocation .js-plotly-plot")
    search = started.wait_for_element("#tr-search")
    search.send_keys("XOM\n")  # a clientside callback asks the grid to fetch again
    until(lambda: set(grid_column(started, "tr-blotter", "instrument")) == {"XOM"}, 20,
          msg="the clientside refresh did not run")
    assert started.find_element("#tr-blotter-message").text == ""
    assert _console_errors(started) == []

    started.driver.get(url(started, "/risk"))
    started.wait_for_element("#rk-drawdown .js-plotly-plot")
    assert _console_errors(started) == []

    # The policy is enforced, so the empty console above means something: an inline script
    # injected at run time is blocked, and the browser reports the violation.
    started.driver.execute_script("""
        window.__cspBlocked = false;
        document.addEventListener('securitypolicyviolation', () => { window.__cspBlocked = true; });
        const s = document.createElement('script');
        s.textContent = 'window.__injected = true;';
        document.body.appendChild(s);
    """)
    until(lambda: started.driver.execute_script("return window.__cspBlocked === true"), 10,
          msg="an injected inline script was not blocked")
    assert started.driver.execute_script("return window.__injected === undefined")
    assert any("Content Security Policy" in message for message in _console_errors(started))
