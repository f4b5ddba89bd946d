"""Capacity in a real browser (D37): the tabs of one browser share one live stream, a refused stream
leaves the page polling and comes back by itself, and callbacks refused 503 while the web process is
busy are retried after Retry-After with a notice, then the page carries on."""
from __future__ import annotations

from dash.testing.wait import until
from selenium.webdriver.common.by import By

from dashapp.security import capacity
from tests.browser.conftest import login_as, url


def _push(dash_duo) -> str:
    """What the push badge says: "connected", "connecting" or "polling"."""
    return dash_duo.find_element("#shell-live-badge").text.rsplit(" ", 1)[-1]


def _busy_notice_shown(dash_duo) -> bool:
    notes = dash_duo.driver.find_elements(By.ID, "cockpit-busy")
    return bool(notes) and notes[0].is_displayed()


def test_tabs_share_one_stream_and_the_stream_passes_on(started, cockpit):
    streams = capacity.of(cockpit.app.server).streams
    login_as(started, cockpit.usernames["trader"])
    until(lambda: _push(started) == "connected", 30)
    assert streams.open == 1 and streams.admitted == 1
    driver = started.driver
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(url(started, "/trading"))
    started.wait_for_element("#react-entry-point")
    until(lambda: _push(started) == "connected", 30)  # told by the first tab, over the BroadcastChannel
    assert streams.open == 1 and streams.admitted == 1  # no second stream
    # The tab holding the stream closes: the other one takes the lock and opens its own.
    second = driver.current_window_handle
    driver.switch_to.window(first)
    driver.close()
    driver.switch_to.window(second)
    until(lambda: streams.admitted == 2 and streams.open == 1, 30)
    until(lambda: _push(started) == "connected", 30)


def test_refused_stream_polls_then_comes_back(started, cockpit):
    streams = capacity.of(cockpit.app.server).streams
    taken = 0
    while streams.try_open(f"someone-{taken}") is None:  # every stream slot of the process is taken
        taken += 1
    assert taken == streams.per_process
    try:
        login_as(started, cockpit.usernames["viewer"])
        until(lambda: streams.refused["process"] >= 2, 30)  # the page's stream was refused (503)
        until(lambda: _push(started) == "polling", 30)
        started.wait_for_element("#cc-engine")  # the page itself works, by polling
    finally:
        for n in range(taken):
            streams.release(f"someone-{n}")
    # The page tries again after about 30 s (Retry-After of a refused stream), with jitter.
    until(lambda: _push(started) == "connected", 60)
    assert streams.open == 1


def test_busy_callbacks_are_retried_with_a_notice(started, cockpit):
    gate = capacity.of(cockpit.app.server).pages
    login_as(started, cockpit.usernames["trader"])
    started.wait_for_element("#cc-engine")
    held = 0
    while gate.try_enter():  # every page slot taken, as by long requests of other sessions
        held += 1
    try:
        until(lambda: _busy_notice_shown(started), 30)  # the Command Center's 3 s tick met a 503
        refused = gate.refused
    finally:
        for _ in range(held):
            gate.leave()
    until(lambda: not _busy_notice_shown(started), 60)  # a retry went through
    assert refused >= 2  # the probe that found the gate full, and at least one of the page's ticks
    # The only console errors are the refused requests themselves, no failed callback.
    severe = [entry["message"] for entry in started.get_logs() if entry["level"] == "SEVERE"]
    assert severe and all("status of 503" in message for message in severe), severe
