"""The desk's visual system as a person sees it: human headers and formatted numbers in the
blotter and positions grids, figures that follow the dark/light theme, modebars only on hover, and
the blotter freeze that holds rows still until it is released."""
from __future__ import annotations

import re

import pytest
import requests
from dash.testing.wait import until
from selenium.webdriver.common.action_chains import ActionChains

from dashapp.services.ingest import ingest_batch
from tests.browser.conftest import click, grid_column, login_as, url
from tests.support.trading import REFERENCE, fill, order

RAW = re.compile(r"^[a-z]+(_[a-z]+)+$")  # avg_cost, net_pnl, mid_at_fill ...


@pytest.fixture
def desk(cockpit):
    with cockpit.db():
        for kind, items in REFERENCE.items():
            ingest_batch(kind, "paper-1", items)
        ingest_batch("orders", "paper-1", [order(f"o-{i}", qty=1500 + i, minutes=i, order_type="limit",
                                                 limit_price=190.123456) for i in range(6)]
                     + [order("s-1", side="sell", qty=10, minutes=7)])
        ingest_batch("fills", "paper-1", [fill("f-1", "o-3", 1503, 190.0, minutes=3.5)])
    return cockpit


def _headers(dash_duo, grid_id: str) -> list[str]:
    """Every header the grid shows, scrolling each column into view first (ag-grid draws only the
    columns in view), read from the page."""
    texts = []
    for col in dash_duo.driver.execute_script(
            "return dash_ag_grid.getApi(arguments[0]).getAllDisplayedColumns().map(c => c.getColId());", grid_id):
        dash_duo.driver.execute_script("dash_ag_grid.getApi(arguments[0]).ensureColumnVisible(arguments[1]);",
                                       grid_id, col)
        until(lambda col=col: _header_text(dash_duo, grid_id, col) is not None, 10, msg=f"header {col} not drawn")
        texts.append(_header_text(dash_duo, grid_id, col))
    return texts


def _header_text(dash_duo, grid_id: str, col: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const h = document.querySelector(`#${arguments[0]} .ag-header-cell[col-id='${arguments[1]}'] .ag-header-cell-text`);"
        "return h ? h.innerText.trim() : null;", grid_id, col)


def _cell(dash_duo, grid_id: str, key_col: str, key: str, col: str) -> str | None:
    for row in dash_duo.driver.execute_script("""
        return [...document.querySelectorAll(`#${arguments[0]} .ag-center-cols-container .ag-row`)].map(row =>
            Object.fromEntries([...row.querySelectorAll('.ag-cell')].map(c => [c.getAttribute('col-id'), c.innerText.trim()])));
        """, grid_id):
        if row.get(key_col) == key:
            return row.get(col)
    return None


def test_blotter_and_positions_show_human_headers_and_formatted_numbers(started, desk):
    login_as(started, "trader1", path="/trading")
    started.driver.get(url(started, "/trading"))
    until(lambda: "o-5" in grid_column(started, "tr-blotter", "client_order_id"), 30, msg="blotter never filled")
    headers = _headers(started, "tr-blotter")
    assert {"Limit px", "Avg fill px", "Filled qty", "Created (UTC)", "Slippage (bps)"} <= set(headers), headers
    assert not [h for h in headers if RAW.match(h) or "_" in h], headers
    started.driver.execute_script("dash_ag_grid.getApi('tr-blotter').ensureColumnVisible('limit_price');")
    until(lambda: _cell(started, "tr-blotter", "client_order_id", "o-5", "limit_price") == "190.1235", 10,
          msg="the limit price is not shown to 4 decimals")
    started.driver.execute_script("dash_ag_grid.getApi('tr-blotter').ensureColumnVisible('created_at');")
    assert _cell(started, "tr-blotter", "client_order_id", "o-5", "quantity") == "1,505"
    created = _cell(started, "tr-blotter", "client_order_id", "o-5", "created_at")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", created or ""), created  # whole, to the second
    # side colour coding: a buy is green, a sell red
    classes = started.driver.execute_script("""
        const out = {};
        document.querySelectorAll('#tr-blotter .ag-center-cols-container .ag-row').forEach(row => {
            const id = row.querySelector("[col-id='client_order_id']"), side = row.querySelector("[col-id='side']");
            if (id && side) { out[id.innerText.trim()] = side.className; }
        });
        return out;""")
    assert "desk-buy" in classes["o-5"] and "desk-sell" in classes["s-1"]
    until(lambda: _headers(started, "tr-positions"), 20, msg="positions grid never drew")
    positions = _headers(started, "tr-positions")
    assert {"Avg cost", "Net P&L (USD)", "Unrealised P&L (USD)"} <= set(positions), positions
    assert not [h for h in positions if "_" in h], positions
    assert started.get_logs() == []


def _paper(dash_duo, graph_id: str) -> str | None:
    return dash_duo.driver.execute_script(
        "const g = document.querySelector(`#${arguments[0]} .js-plotly-plot`);"
        "return g && g._fullLayout ? g._fullLayout.paper_bgcolor : null;", graph_id)


def test_figures_follow_the_theme_and_modebars_show_on_hover_only(started, desk):
    login_as(started, "viewer1", path="/execution")  # a new user: the desk's dark theme
    started.driver.get(url(started, "/execution"))
    dark, light = ("#1b1f24", "rgb(27, 31, 36)"), ("#ffffff", "#fff", "white", "rgb(255, 255, 255)")
    until(lambda: _paper(started, "ex-slippage") in dark, 30, msg="the slippage figure is not dark on a dark page")
    click(started, "#shell-theme-switch")
    until(lambda: _paper(started, "ex-slippage") in light, 20, msg="the figure did not turn light with the page")

    def modebar_opacity() -> str | None:
        return started.driver.execute_script(
            "const m = document.querySelector('#ex-slippage .modebar-container');"
            "return m ? getComputedStyle(m).opacity : null;")

    started.driver.execute_script("window.scrollTo(0, 0);")
    ActionChains(started.driver).move_to_element(started.find_element("#page-body h2")).perform()
    until(lambda: modebar_opacity() == "0", 10, msg=f"modebar visible without hover: {modebar_opacity()}")
    ActionChains(started.driver).move_to_element(started.find_element("#ex-slippage .js-plotly-plot")).perform()
    until(lambda: modebar_opacity() == "1", 10, msg=f"modebar did not show on hover: {modebar_opacity()}")
    assert started.get_logs() == []


def _engine_token(cockpit) -> str:
    from dashapp.services import tokens, users

    with cockpit.db():
        engine = users.create_user("admin1", "paper-engine", "Engine-Pass-9931!", "trader")
        return tokens.create_token("admin1", engine.id, "browser test", ["paper-1"])[1]


def test_freeze_holds_the_blotter_still_until_released(started, desk):
    secret = _engine_token(desk)
    login_as(started, "trader1", path="/trading")
    started.driver.get(url(started, "/trading"))
    until(lambda: "o-5" in grid_column(started, "tr-blotter", "client_order_id"), 30, msg="blotter never filled")
    started.wait_for_text_to_equal("#shell-live-badge", "⇅ Push: connected", timeout=30)
    click(started, "#desk-freeze")
    started.wait_for_contains_text("#desk-freeze-sink", "rows held")
    before = grid_column(started, "tr-blotter", "client_order_id")

    response = requests.post(url(started, "/api/v1/ingest/orders"), timeout=10,
                             json={"engine_id": "paper-1", "items": [order("late-1", qty=3, minutes=50)]},
                             headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    # The pushed event reached the page and was held (not applied): the rows did not move.
    until(lambda: "tr-blotter" in started.driver.execute_script("return window.cockpitDesk.held();"), 20,
          msg="the pushed order event never reached the frozen blotter")
    assert grid_column(started, "tr-blotter", "client_order_id") == before

    click(started, "#desk-freeze")  # release: the held refresh runs once
    until(lambda: grid_column(started, "tr-blotter", "client_order_id")[:1] == ["late-1"], 20,
          msg="the held order did not appear after the release")
    assert started.get_logs() == []
