"""Pure rules of the governance services (no database): Rule 606 order categories, quarter and period
parsing, legal-hold item validation, and the protected-value format."""
from __future__ import annotations

from datetime import date

import pytest

from dashapp.services.errors import ValidationError
from dashapp.services.governance import compliance
from dashapp.services.governance.holds import clean_item


@pytest.mark.parametrize("row, category", [
    ({"order_type": "market", "side": "buy", "limit_price": None, "arrival_mid": 100.0}, "market"),
    ({"order_type": "limit", "side": "buy", "limit_price": 100.0, "arrival_mid": 100.0}, "marketable_limit"),
    ({"order_type": "limit", "side": "buy", "limit_price": 99.9, "arrival_mid": 100.0}, "non_marketable_limit"),
    ({"order_type": "limit", "side": "sell", "limit_price": 99.9, "arrival_mid": 100.0}, "marketable_limit"),
    ({"order_type": "limit", "side": "sell", "limit_price": 100.1, "arrival_mid": 100.0}, "non_marketable_limit"),
    ({"order_type": "limit", "side": "buy", "limit_price": 100.0, "arrival_mid": None}, "non_marketable_limit"),
    ({"order_type": "stop", "side": "buy", "limit_price": None, "arrival_mid": 100.0}, "other"),
])
def test_rule606_categories(row, category):
    assert compliance.order_category(row) == category


def test_quarters_and_periods():
    whole, months = compliance.quarter("2024Q1")
    assert (whole.start, whole.end) == (date(2024, 1, 1), date(2024, 3, 31))
    assert [m.end.day for m in months] == [31, 29, 31]  # a leap year's February
    for bad in ("2024Q0", "2024q1", "", "24Q1", "2024Q1 "):
        with pytest.raises(ValidationError):
            compliance.quarter(bad)
    with pytest.raises(ValidationError) as err:
        compliance.period(date(2026, 2, 1), date(2026, 1, 1))
    assert err.value.field == "end"
    assert str(compliance.period(date(2026, 1, 1), date(2026, 12, 31))) == "2026-01-01 to 2026-12-31"


@pytest.mark.parametrize("raw, field", [
    ({"kind": "nope", "record_id": 1}, "kind"), ({"kind": ["orders"], "record_id": 1}, "kind"),
    ({"kind": "orders"}, "record_id"), ({"kind": "orders", "record_id": 0}, "record_id"),
    ({"kind": "orders", "record_id": True}, "record_id"), ({"kind": "quotes", "account_id": 1}, "account_id"),
    ({"kind": "engine_events", "instrument_id": 1}, "instrument_id"),
    ({"kind": "orders", "time_from": "yesterday"}, "time_from"),
    ({"kind": "orders", "time_from": "2026-02-01", "time_to": "2026-01-01"}, "time_from"),
    ({"kind": "orders", "time_from": "1900-01-01"}, "time_from"),
])
def test_hold_items_are_refused_naming_the_field(raw, field):
    with pytest.raises(ValidationError) as err:
        clean_item(raw)
    assert err.value.field == field


def test_a_hold_item_by_filter():
    item = clean_item({"kind": "fills", "account_id": 3, "time_from": "2026-01-01"})
    assert item["account_id"] == 3 and item["time_from"].tzinfo is not None and item["record_id"] is None


def test_retention_runs_daily_from_beat_through_the_job_platform(tmp_path):
    from dashapp.services import jobs
    from tests.conftest import make_settings
    from workers.celery_app import LAUNCH_SCHEDULED_JOB, beat_schedule

    entry = beat_schedule(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite'}"))["retention"]
    assert entry["task"] == LAUNCH_SCHEDULED_JOB and entry["schedule"] == 86400.0
    assert entry["args"] == ("retention", None, 86400.0)
    spec = jobs.job_type("retention")
    assert spec.permission.value == "retention:manage" and spec.retry_when_lost
    assert jobs.job_type("compliance_report").permission.value == "compliance:view"
