"""Domain bounds at the edge, without a database: the field types, the per-batch checks (timestamp
window, subnormals), nested-JSON limits and the JSON body parser (issue 8, item 1)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter

from dashapp.services import bounds
from dashapp.services.errors import PermissionDenied, ValidationError
from dashapp.services.fields import json_problem
from dashapp.services.ingest import service, validation
from tests.support.trading import fill, iso, order

# One hostile value per class; each must be refused by the model and the dict form alike.
HOSTILE = ["10", "1e3", True, False, float("inf"), float("-inf"), float("nan"), 1e300, 5e-324, -5e-324,
           2**63, "\x00", "a\x1fb", "x" * 3000, {"a": [1]}, [1.0]]


def nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def refusal(kind: str, items: list) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        service.parse_items(kind, items)
    return [(d["index"], d["field"]) for d in caught.value.details]


@pytest.mark.parametrize("kind", sorted(service.KINDS))
def test_hostile_values_are_refused_alike_by_model_and_dict_form(kind):
    from tests.unit.test_ingest_validation import VALID, outcome

    model, dicts = TypeAdapter(list[service.KINDS[kind][0]]), validation.batch_adapter(service.KINDS[kind][0])
    item = VALID[kind][0]
    for field in item:
        for value in HOSTILE:
            variant = {**item, field: value}
            assert outcome(dicts, [variant]) == outcome(model, [variant]), (field, value)


@pytest.mark.parametrize(("field", "value"), [
    ("quantity", "10"), ("quantity", True), ("quantity", 1e13), ("quantity", 5e-324), ("quantity", float("nan")),
    ("limit_price", 2e9), ("limit_price", float("inf")), ("arrival_mid", 0), ("client_order_id", "o\x00"),
    ("reject_reason", "r" * 201), ("strategy", "MO\nM"),
])
def test_order_fields_have_domain_bounds(field, value):
    item = {**order("o-1", order_type="limit", limit_price=1.0), field: value}
    assert refusal("orders", [order("o-0"), item]) == [(1, field)]


@pytest.mark.parametrize("stamp", [
    "six minutes ahead", datetime(1999, 12, 31, 23, 59, tzinfo=timezone.utc),
    datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
])
def test_timestamps_outside_the_window_are_named(stamp):
    if stamp == "six minutes ahead":  # taken from the clock when the test runs, not when it is collected
        stamp = datetime.now(timezone.utc) + timedelta(minutes=6)
    items = [order("o-0"), order("o-1"), order("o-2", status="acknowledged", acknowledged_at=stamp.isoformat())]
    assert refusal("orders", items) == [(2, "acknowledged_at")]


def test_the_window_follows_the_settings_and_the_clock():
    from types import SimpleNamespace

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    window = bounds.time_window(SimpleNamespace(data_epoch="2020-01-01", max_future_seconds=60), now=now)
    assert window.contains(now + timedelta(seconds=60)) and not window.contains(now + timedelta(seconds=61))
    assert not window.contains(datetime(2019, 12, 31, tzinfo=timezone.utc))
    soon = (datetime.now(timezone.utc) + timedelta(minutes=4)).isoformat()  # inside the default 300 s
    assert service.parse_items("quotes", [{"instrument": "A", "ts": soon, "bid": 1, "ask": 2}])


def test_subnormals_are_refused_where_zero_is_allowed():
    assert refusal("fills", [fill("x-1", "o-1", 1, 1.0, fee=0.0), fill("x-2", "o-1", 1, 1.0, fee=1e-310)]) \
        == [(1, "fee")]
    assert refusal("pnl_snapshots", [{"strategy": "S", "ts": iso(), "equity": -4e-320}]) == [(0, "equity")]
    assert service.parse_items("pnl_snapshots", [{"strategy": "S", "ts": iso(), "equity": -0.0}])


@pytest.mark.parametrize(("value", "words"), [
    (nested(8), None), (nested(9), "deeper"), (nested(100_000), "deeper"),  # no recursion to exhaust
    ({"k": "x" * 17_000}, "larger"), ({"k": ["ab"] * 9000}, "larger"), ({"k": float("nan")}, "NaN"),
    ({"k": 2**64}, "64-bit"), ({"k\x07": 1}, "control"), ({"k": ["a\x00"]}, "control"), ({"k": {1, 2}}, "not JSON"),
    ({"k": "é" * 100, "n": [1.5, None, True]}, None),
])
def test_nested_json_limits(value, words):
    problem = json_problem(value)
    assert (problem is None) if words is None else (words in problem), problem


def test_json_fast_path_refuses_like_the_general_path():
    future = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    body = json.dumps({"engine_id": "e1", "items": [{"instrument": "A", "ts": future, "bid": 1, "ask": 2}]}).encode()
    with pytest.raises(ValidationError) as fast:
        service.ingest_json("quotes", body)
    with pytest.raises(ValidationError) as general:
        service.parse_items("quotes", json.loads(body)["items"])
    # The same refusal (the message names the window, whose end moves with the clock).
    assert [(d["index"], d["field"]) for d in fast.value.details] == [(0, "ts")]
    assert [(d["index"], d["field"]) for d in general.value.details] == [(0, "ts")]
    assert fast.value.details[0]["message"].startswith("must be between 2000-01-01T00:00:00+00:00")


def test_a_token_binding_is_checked_before_anything_is_stored():
    body = json.dumps({"engine_id": "e1", "items": [{"instrument": "A", "ts": iso(), "bid": 1, "ask": 2}]}).encode()
    for engines in (frozenset(), frozenset({"e2"})):
        with pytest.raises(PermissionDenied) as caught:
            service.ingest_json("quotes", body, engines=engines)
        assert caught.value.field == "engine_id"


def test_a_nesting_bomb_is_a_bad_body_not_a_recursion_error():
    from flask import Flask

    from dashapp.api.body_limits import BoundedJSONProvider

    with pytest.raises(ValidationError) as caught:
        service.ingest_json("quotes", b'{"engine_id": "e1", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert caught.value.field == "body"
    with pytest.raises(ValueError, match="nested too deeply"):
        BoundedJSONProvider(Flask(__name__)).loads("[" * 100_000)


@pytest.mark.parametrize(("body", "loc"), [
    ({"dataset": "orders", "format": "csv", "since": "0001-01-01T00:00:00+05:00"}, ("since",)),
    ({"dataset": "orders", "format": "csv", "filters": {"strategy": "M\x00M"}}, ("filters", "strategy")),
    ({"dataset": "orders", "format": "csv", "filters": {"venue": "X" * 33}}, ("filters", "venue")),
])
def test_export_params_are_bounded(body, loc):
    from pydantic import ValidationError as PydanticError

    from dashapp.exports.params import ExportParams

    with pytest.raises(PydanticError) as caught:
        ExportParams.model_validate(body)
    assert caught.value.errors()[0]["loc"] == loc
