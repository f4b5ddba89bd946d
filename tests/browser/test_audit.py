"""The Audit page in a real browser: records newest first, filters, and the chain check."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from dash.testing.wait import until
from selenium.webdriver.support.select import Select

from layouts.ids import Audit
from tests.browser.conftest import click, grid_rows, login_as, wait_for_grid_value

pytestmark = pytest.mark.browser


def test_audit_page_lists_records_filters_and_verifies_the_chain(started, cockpit):
    from models import AuditRecord

    login_as(started, cockpit.usernames["risk"], path="/audit")
    wait_for_grid_value(started, Audit.GRID, "action", "user.create")
    with cockpit.db() as session:
        total = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    started.wait_for_text_to_equal(f"#{Audit.COUNT}", f"{total} records shown, newest first.")
    rows = grid_rows(started, Audit.GRID)
    ids = [int(row["id"]) for row in rows]
    assert ids == sorted(ids, reverse=True) and len(ids) == total
    assert (rows[0]["actor"], rows[0]["action"]) == ("risk1", "auth.login")  # this very login is the newest

    until(lambda: "user." in [o.get_attribute("value") for o in Select(
        started.find_element(f"#{Audit.ACTION}")).options], 20)
    Select(started.find_element(f"#{Audit.ACTION}")).select_by_value("user.")
    click(started, f"#{Audit.APPLY}")
    started.wait_for_text_to_equal(f"#{Audit.COUNT}", "4 records shown, newest first.")
    assert {row["action"] for row in grid_rows(started, Audit.GRID)} == {"user.create"}

    started.find_element(f"#{Audit.TEXT}").send_keys("no-such-text\n")  # Enter applies too
    started.wait_for_text_to_equal(f"#{Audit.COUNT}", "0 records shown, newest first.")
    started.wait_for_contains_text(f"#{Audit.GRID}", "No audit records match these filters.")

    click(started, f"#{Audit.VERIFY}")
    started.wait_for_contains_text(f"#{Audit.VERIFY_RESULT}", "OK")
    with cockpit.db() as session:
        total = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    assert f"{total} records" in started.find_element(f"#{Audit.VERIFY_RESULT}").text

    with cockpit.db() as session:  # someone edits a record behind the application's back
        session.execute(sa.update(AuditRecord).where(AuditRecord.id == 2).values(target="user:mallory"))
        session.commit()
    click(started, f"#{Audit.VERIFY}")
    started.wait_for_contains_text(f"#{Audit.VERIFY_RESULT}", "BROKEN at record 2")
    assert "edited" in started.find_element(f"#{Audit.VERIFY_RESULT}").text
    assert started.get_logs() == []


def test_audit_page_names_the_records_deleted_from_the_end(started, cockpit):
    from dashapp.services import audit
    from models import AuditRecord

    login_as(started, cockpit.usernames["risk"], path="/audit")
    with cockpit.db() as session:  # three actions after the login, then someone deletes them by SQL
        for i in range(3):
            audit.record("risk1", "test.tail", f"thing:{i}")
        session.commit()
        last_three = list(session.execute(sa.select(AuditRecord.id).order_by(AuditRecord.id.desc())
                                          .limit(4)).scalars())
        session.execute(sa.delete(AuditRecord).where(AuditRecord.id > last_three[3]))
        session.commit()
    click(started, f"#{Audit.VERIFY}")
    started.wait_for_contains_text(f"#{Audit.VERIFY_RESULT}", "BROKEN")
    text = started.find_element(f"#{Audit.VERIFY_RESULT}").text
    assert f"3 records missing after #{last_three[3]} (checkpoint says chain ends at #{last_three[0]})" in text, text
    assert started.get_logs() == []
