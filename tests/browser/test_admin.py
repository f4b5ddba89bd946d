"""The Admin page in a real browser: create users, refuse bad input whole, manage the selected user,
issue and revoke API tokens. Every check of the outcome reads the database, not only the page."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.ids import Admin
from tests.browser.conftest import click, click_grid_row, grid_column, login_as, wait_for_grid_value
from tests.support.web import PASSWORD

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Fresh-Desk-Login-42"


def fill(dash_duo, element_id: str, text: str) -> None:
    element = dash_duo.find_element(f"#{element_id}")
    dash_duo.clear_input(element)
    element.send_keys(text)


def open_admin(dash_duo, cockpit) -> None:
    login_as(dash_duo, cockpit.usernames["admin"], path="/admin")
    wait_for_grid_value(dash_duo, Admin.USERS_GRID, "username", cockpit.usernames["admin"])


def counts(cockpit) -> dict[str, int]:
    from models import ApiToken, AuditRecord, User

    with cockpit.db() as session:
        return {model.__tablename__: session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
                for model in (User, ApiToken, AuditRecord)}


def test_admin_creates_a_user_who_then_signs_in(started, cockpit):
    from dashapp.services import audit, users

    open_admin(started, cockpit)
    fill(started, Admin.NEW_USERNAME, "newbie")
    fill(started, Admin.NEW_DISPLAY, "New Trader")
    fill(started, Admin.NEW_PASSWORD, NEW_PASSWORD)
    Select(started.find_element(f"#{Admin.NEW_ROLE}")).select_by_value("trader")
    click(started, f"#{Admin.CREATE}")

    started.wait_for_contains_text(f"#{Admin.MESSAGE}", "User newbie created with role trader")
    wait_for_grid_value(started, Admin.USERS_GRID, "username", "newbie")
    assert started.find_element(f"#{Admin.NEW_PASSWORD}").get_attribute("value") == ""
    with cockpit.db():
        user = users.find_by_username("newbie")
        assert (user.role_name, user.display_name, user.active) == ("trader", "New Trader", True)
        assert [r.actor for r in audit.query(action="user.create", text="user:newbie")] == ["admin1"]

    click(started, "#shell-logout")
    started.wait_for_contains_text("#login-info", "signed out")
    login_as(started, "newbie", NEW_PASSWORD)
    assert started.find_element("#shell-user").text == "newbie · trader"
    assert started.get_logs() == []


def test_bad_input_names_the_problem_and_writes_nothing(started, cockpit):
    from dashapp.services import users

    open_admin(started, cockpit)
    before = counts(cockpit)
    message = f"#{Admin.MESSAGE} .alert-danger"

    click(started, f"#{Admin.DISABLE}")
    started.wait_for_contains_text(message, "no user selected")

    fill(started, Admin.NEW_USERNAME, "trader1")
    fill(started, Admin.NEW_PASSWORD, NEW_PASSWORD)
    click(started, f"#{Admin.CREATE}")
    started.wait_for_contains_text(message, "user name 'trader1' is already taken")

    fill(started, Admin.NEW_USERNAME, "weakling")
    fill(started, Admin.NEW_PASSWORD, "short")
    click(started, f"#{Admin.CREATE}")
    started.wait_for_contains_text(message, "weak password: password must be at least 12 characters")

    click_grid_row(started, Admin.USERS_GRID, "username", "admin1")
    started.wait_for_contains_text(f"#{Admin.SELECTED_LABEL}", "admin1")
    click(started, f"#{Admin.DISABLE}")
    started.wait_for_contains_text(message, "admin1 is the last active admin and cannot be disabled")

    Select(started.find_element(f"#{Admin.SELECTED_ROLE}")).select_by_value("viewer")
    click(started, f"#{Admin.SET_ROLE}")
    started.wait_for_contains_text(message, "admin1 is the last active admin: make another admin first")

    assert counts(cockpit) == before  # no user, token or audit row was written by any refusal
    with cockpit.db():
        assert users.find_by_username("weakling") is None
        admin = users.find_by_username("admin1")
        assert (admin.role_name, admin.active) == ("admin", True)
    assert started.get_logs() == []


def test_admin_manages_the_selected_user(started, cockpit):
    from dashapp.services import users

    open_admin(started, cockpit)
    click_grid_row(started, Admin.USERS_GRID, "username", "viewer1")
    started.wait_for_contains_text(f"#{Admin.SELECTED_LABEL}", "viewer1")

    Select(started.find_element(f"#{Admin.SELECTED_ROLE}")).select_by_value("risk")
    click(started, f"#{Admin.SET_ROLE}")
    started.wait_for_contains_text(f"#{Admin.MESSAGE}", "viewer1 now has the role risk")

    click(started, f"#{Admin.DISABLE}")
    started.wait_for_contains_text(f"#{Admin.MESSAGE}", "viewer1 is disabled")
    with cockpit.db():
        assert users.find_by_username("viewer1").active is False
    click(started, f"#{Admin.ENABLE}")
    started.wait_for_contains_text(f"#{Admin.MESSAGE}", "viewer1 is enabled")

    click(started, f"#{Admin.RESET_PASSWORD}")
    started.wait_for_contains_text(f"#{Admin.MESSAGE}", "cannot be shown again")
    password = started.find_element(f"#{Admin.MESSAGE} .shown-once").text
    assert len(password) >= 12 and password != PASSWORD

    login_as(started, "viewer1", password)  # signs admin1 out first
    assert started.find_element("#shell-user").text == "viewer1 · risk"
    assert started.get_logs() == []


def test_admin_creates_an_api_token_sees_it_once_and_revokes_it(started, cockpit):
    from dashapp.services import tokens
    from models import ApiToken

    open_admin(started, cockpit)
    started.wait_for_contains_text(f"#{Admin.TOKENS_GRID}", "No API tokens yet.")  # the empty state
    token_message = f"#{Admin.TOKEN_MESSAGE}"
    click(started, f"#{Admin.CREATE_TOKEN}")
    started.wait_for_contains_text(token_message, "no user chosen")
    click(started, f"#{Admin.REVOKE_TOKEN}")
    started.wait_for_contains_text(token_message, "no token selected")

    user_select = Select(started.find_element(f"#{Admin.TOKEN_USER}"))
    until(lambda: "trader1 (trader)" in [option.text for option in user_select.options], 20)
    user_select.select_by_visible_text("trader1 (trader)")
    fill(started, Admin.TOKEN_NAME, "paper-engine-1")
    fill(started, Admin.TOKEN_ENGINES, "paper-1, paper-2")
    click(started, f"#{Admin.CREATE_TOKEN}")

    started.wait_for_contains_text(token_message, "It cannot be shown again")
    started.wait_for_contains_text(token_message, "reporting for paper-1, paper-2")
    secret = started.find_element(f"{token_message} .shown-once").text
    assert secret.startswith("tdc_")
    wait_for_grid_value(started, Admin.TOKENS_GRID, "name", "paper-engine-1")
    assert grid_column(started, Admin.TOKENS_GRID, "prefix") == [secret[:10] + "…"]
    with cockpit.db() as session:
        stored = session.execute(sa.select(ApiToken)).scalar_one()
        assert secret not in (stored.token_hash, stored.prefix) and stored.created_by == "admin1"
        assert tokens.user_for_token(secret).username == "trader1"
        assert stored.engine_ids == {"paper-1", "paper-2"}
    assert grid_column(started, Admin.TOKENS_GRID, "engines") == ["paper-1, paper-2"]

    started.driver.refresh()  # shown once: a reload lists the token but never its secret again
    wait_for_grid_value(started, Admin.TOKENS_GRID, "name", "paper-engine-1")
    assert secret not in started.driver.page_source

    click_grid_row(started, Admin.TOKENS_GRID, "name", "paper-engine-1")
    click(started, f"#{Admin.REVOKE_TOKEN}")
    started.wait_for_contains_text(token_message, "'paper-engine-1'")
    started.wait_for_contains_text(token_message, "is revoked")
    until(lambda: grid_column(started, Admin.TOKENS_GRID, "revoked") != [""], 20)
    with cockpit.db():
        assert tokens.user_for_token(secret) is None
    assert started.get_logs() == []
