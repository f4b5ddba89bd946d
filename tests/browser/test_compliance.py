"""The Compliance page in a real browser with a real Celery worker: a risk user previews retention and
puts an old quote under a legal hold; an admin runs retention, which deletes only the quotes past the
policy and never the held one (the page shows the run); the admin erases a user and the audit chain
still verifies; a viewer is refused the page."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.ids_compliance import Compliance as C
from tests.browser.conftest import click, grid_rows, login_as
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.timeout(300)]


def _row(dash_duo, grid_id: str, col: str, value: str) -> dict | None:
    return next((r for r in grid_rows(dash_duo, grid_id) if r.get(col) == value), None)


def _wait_row(dash_duo, grid_id: str, col: str, value: str, expect: dict, timeout: float = 30) -> None:
    until(lambda: (row := _row(dash_duo, grid_id, col, value)) is not None
          and all(row.get(k) == v for k, v in expect.items()), timeout,
          msg=f"#{grid_id} never showed {value} with {expect}: {grid_rows(dash_duo, grid_id)}")


def _accept_confirm(dash_duo) -> None:
    until(lambda: _alert(dash_duo) is not None, 10, msg="the confirm dialog never opened")
    dash_duo.driver.switch_to.alert.accept()


def _alert(dash_duo):
    try:
        return dash_duo.driver.switch_to.alert
    except Exception:  # NoAlertPresentException until the dialog opens
        return None


def _quotes(cockpit):
    from models import Quote, utcnow
    from tests.support.governance_data import add_quote, reference

    with cockpit.db() as session:
        ref = reference()
        now = utcnow()
        old = [add_quote(ref, now - timedelta(days=40 + i)).id for i in range(4)]
        recent = [add_quote(ref, now - timedelta(days=i)).id for i in range(2)]
        session.commit()
    return old, recent, Quote


def test_retention_keeps_held_records_and_erasure_keeps_the_chain(started, cockpit):
    from dashapp.services import audit
    from models import User

    old, recent, Quote = _quotes(cockpit)
    login_as(started, cockpit.usernames["risk"], path="/compliance")
    _wait_row(started, C.POLICIES_GRID, "label", "Quotes", {"delete": "4", "held": "0", "days": "30"})
    assert not started.driver.find_elements("css selector", f"#{C.RUN_RETENTION}")  # admins only
    assert not started.driver.find_elements("css selector", f"#{C.PRIVACY_ERASE}")
    started.find_element(f"#{C.HOLD_CASE}").send_keys("Case 7")
    started.find_element(f"#{C.HOLD_REASON}").send_keys("regulator inquiry")
    Select(started.find_element(f"#{C.HOLD_KIND}")).select_by_value("quotes")
    started.find_element(f"#{C.HOLD_RECORD}").send_keys(str(old[1]))
    click(started, f"#{C.HOLD_PREVIEW}")
    started.wait_for_contains_text(f"#{C.HOLD_MESSAGE}", "would cover 1 quotes")
    click(started, f"#{C.HOLD_CREATE}")
    started.wait_for_contains_text(f"#{C.HOLD_MESSAGE}", "Case 7")
    _wait_row(started, C.HOLDS_GRID, "case_name", "Case 7", {"status": "active", "items": f"Quotes: #{old[1]}"})
    _wait_row(started, C.POLICIES_GRID, "label", "Quotes", {"delete": "3", "held": "1"})

    with celery_worker(cockpit.app.server.config["COCKPIT_SETTINGS"], concurrency=1):
        login_as(started, cockpit.usernames["admin"], path="/compliance")
        _wait_row(started, C.POLICIES_GRID, "label", "Quotes", {"delete": "3", "held": "1"})
        click(started, f"#{C.RUN_RETENTION}")
        _accept_confirm(started)
        started.wait_for_contains_text(f"#{C.RETENTION_MESSAGE}", "Retention run queued")
        _wait_row(started, C.RUNS_GRID, "label", "Quotes", {"state": "succeeded", "deleted": "3", "held": "1"},
                  timeout=90)
    _wait_row(started, C.POLICIES_GRID, "label", "Quotes", {"delete": "0", "held": "1"})
    with cockpit.db() as session:
        left = set(session.execute(sa.select(Quote.id)).scalars())
    assert left == set(recent) | {old[1]}  # only what the policy allows; never the held quote

    trader = cockpit.usernames["trader"]
    until(lambda: any(trader in o.text for o in Select(started.find_element(f"#{C.PRIVACY_USER}")).options), 10)
    Select(started.find_element(f"#{C.PRIVACY_USER}")).select_by_visible_text(f"{trader} (trader)")
    started.find_element(f"#{C.PRIVACY_REASON}").send_keys("data-subject request 42")
    click(started, f"#{C.PRIVACY_ERASE}")
    _accept_confirm(started)
    started.wait_for_contains_text(f"#{C.PRIVACY_MESSAGE}", "erased: now erased-")
    with cockpit.db() as session:
        user = session.execute(sa.select(User).where(User.username.like("erased-%"))).scalar_one()
        assert not user.active and user.display_name == ""
        result = audit.verify_chain()
        assert result.ok, str(result)  # what `dashapp audit verify` runs
    assert started.get_logs() == []


def test_viewer_cannot_open_compliance(started, cockpit):
    login_as(started, cockpit.usernames["viewer"], path="/compliance")
    started.wait_for_contains_text("#page-forbidden", "not allowed")
    assert not started.driver.find_elements("css selector", "#page-compliance")
