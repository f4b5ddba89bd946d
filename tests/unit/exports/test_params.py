"""Export parameters: what is refused (naming the field) and how the page's form becomes params."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashapp.exports.params import DATASETS, ExportParams
from dashapp.exports.service import validate_params
from dashapp.services.errors import ValidationError


def _refused(params: dict) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        validate_params(params)
    return err.value


@pytest.mark.parametrize("params, field, words", [
    ({"format": "csv"}, "params.dataset", "Field required"),
    ({"dataset": "trades", "format": "csv"}, "params.dataset", "'orders'"),
    ({"dataset": "orders", "format": "docx"}, "params.format", "'parquet'"),
    ({"dataset": "orders", "format": "csv", "since": "yesterday"}, "params.since", "datetime"),
    ({"dataset": "orders", "format": "csv", "since": "2026-03-02", "until": "2026-03-01"}, "params.until",
     "until must be after since"),
    ({"dataset": "risk", "format": "csv", "since": "2026-03-01"}, "params.since", "snapshot"),
    ({"dataset": "positions", "format": "csv", "until": "2026-03-01"}, "params.until", "snapshot"),
    ({"dataset": "fills", "format": "csv", "filters": {"status": "filled"}}, "params.filters",
     "status does not apply to fills"),
    ({"dataset": "risk", "format": "pdf", "filters": {"strategy": "MOM"}}, "params.filters", "strategy does not apply"),
    ({"dataset": "orders", "format": "csv", "filters": {"status": "done"}}, "params.filters.status", "'filled'"),
    ({"dataset": "orders", "format": "csv", "filters": {"book": "X"}}, "params.filters.book", "Extra inputs"),
    ({"dataset": "orders", "format": "csv", "rows": 5}, "params.rows", "Extra inputs"),
    ({"dataset": "orders", "format": "csv", "filters": {"strategy": "x" * 40}}, "params.filters.strategy", "32"),
])
def test_bad_parameters_are_refused_naming_the_field(params, field, words):
    err = _refused(params)
    assert err.field == field and err.http_status == 422
    assert words in err.message and field.removeprefix("params.") in err.message


def test_good_parameters_are_normalised_to_utc():
    params = validate_params({"dataset": "orders", "format": "xlsx", "since": "2026-03-01T09:00:00+01:00",
                              "until": "2026-03-02 00:00", "filters": {"strategy": " MOM ", "status": "filled"}})
    assert params.since == datetime(2026, 3, 1, 8, tzinfo=timezone.utc)
    assert params.until == datetime(2026, 3, 2, tzinfo=timezone.utc)  # naive means UTC
    assert params.filters.given() == {"strategy": "MOM", "status": "filled"}
    assert params.describe() == "Orders as Excel, 2026-03-01 08:00 to 2026-03-02 00:00 UTC, strategy=MOM, status=filled"
    dumped = params.model_dump(mode="json")  # what the job row stores
    assert ExportParams.model_validate(dumped) == params


def test_every_dataset_declares_its_period_and_filters():
    assert set(DATASETS) == {"orders", "fills", "positions", "risk", "tca"}
    assert DATASETS["orders"]["filters"] == ("strategy", "instrument", "venue", "status")
    assert DATASETS["risk"]["period"] is None and DATASETS["risk"]["filters"] == ()


# --- the page's form -------------------------------------------------------------------------


def test_form_sends_only_what_applies_to_the_dataset():
    from callbacks.exports import form_params

    filters = {"strategy": "MOM", "instrument": " ", "venue": "XNAS", "status": "filled"}
    orders = form_params("orders", "csv", "24h", None, None, filters)
    assert orders["filters"] == {"strategy": "MOM", "venue": "XNAS", "status": "filled"}
    assert abs(datetime.fromisoformat(orders["since"]) - (datetime.now(timezone.utc) - timedelta(hours=24))) \
        < timedelta(minutes=1) and "until" not in orders
    positions = form_params("positions", "xlsx", "24h", None, None, filters)
    assert positions == {"dataset": "positions", "format": "xlsx", "filters": {"strategy": "MOM"}}
    assert "since" not in form_params("orders", "csv", "all", None, None, {})
    custom = form_params("fills", "json", "custom", "2026-03-01 00:00", "", {})
    assert custom["since"] == "2026-03-01 00:00" and "until" not in custom
    validate_params(custom)


def test_form_with_an_empty_custom_period_names_the_field():
    from callbacks.exports import form_params

    with pytest.raises(ValidationError) as err:
        form_params("orders", "csv", "custom", " ", None, {})
    assert err.value.field == "params.since" and "From" in err.value.message


def test_form_hint_and_disabled_fields_follow_the_dataset():
    from callbacks.exports import applicable

    hint, no_period, disabled = applicable("fills")
    assert "filled_at" in hint and not no_period
    assert disabled == {"strategy": False, "instrument": False, "venue": False, "status": True}
    hint, no_period, disabled = applicable("risk")
    assert "snapshot" in hint and no_period and all(disabled.values())
