"""Ingest validates batches against a dict form derived from the item models (for speed); the
models stay the documented schema. Both must accept the same items with the same values and
refuse the same items with the same errors (item index, field, message)."""
from __future__ import annotations

import pytest
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from dashapp.services.errors import ValidationError
from dashapp.services.ingest import schemas, service, validation
from tests.support.trading import REFERENCE, fill, iso, order

VALID = {
    "accounts": REFERENCE["accounts"],
    "venues": REFERENCE["venues"],
    "strategies": [{**REFERENCE["strategies"][0], "params": {"lookback": 20}, "active": False}],
    "instruments": REFERENCE["instruments"],
    "quotes": [{"instrument": " AAPL ", "ts": iso(), "bid": 1, "ask": 1.1, "bid_size": 300}],
    "bars": [{"instrument": "AAPL", "interval": "1d", "ts": iso(), "open": 1, "high": 2, "low": 0.5, "close": 1.5}],
    "signals": [{"signal_id": "s1", "strategy": "MOM", "instrument": "AAPL", "ts": iso(), "direction": -1,
                 "confidence": 0.25}],
    "risk_decisions": [{"decision_id": "d1", "ts": iso(), "strategy": "MOM", "instrument": "AAPL",
                        "decision": "scale", "requested_qty": 100, "allowed_qty": 50, "reason": "gross limit"}],
    "orders": [order("o-1"), order("o-2", status="filled", filled_quantity=100, avg_fill_price=190.5),
               order("o-3", order_type="limit", limit_price=189.0, parent_client_order_id="o-1")],
    "fills": [fill("x-1", "o-1", 60, 190.1)],
    "engine_state": [{"status": "running", "heartbeat_at": iso(), "detail": {"tick": 3}}],
    "events": [{"event_id": "e1", "ts": iso(), "kind": "order.routed", "data": {"venue": "XNAS"}}],
    "pnl_snapshots": [{"strategy": "MOM", "ts": iso(), "equity": 1e6, "net_exposure": -5.0}],
}

# Values that break a field in some way: missing, null, wrong type, out of range, naive time.
BREAKERS = [None, "", "  ", "x", -1, 0, 1e308 * 10, True, [], {}, "2026-03-02T14:30:00"]


def model_adapter(kind: str) -> TypeAdapter:
    return TypeAdapter(list[service.KINDS[kind][0]])


def outcome(adapter: TypeAdapter, items: list):
    try:
        return "ok", [dict(v) if isinstance(v, dict) else dict(v.__dict__) for v in adapter.validate_python(items)]
    except PydanticError as err:
        return "refused", [(e["loc"], e["msg"], e["type"]) for e in err.errors(include_url=False)]


def variants(item: dict):
    """The item itself, each field removed, each field replaced by each breaker, and one extra field."""
    yield item
    yield {**item, "unexpected": 1}
    for field in item:
        yield {k: v for k, v in item.items() if k != field}
        for value in BREAKERS:
            yield {**item, field: value}


def test_every_kind_has_samples():
    assert set(VALID) == set(service.KINDS)


@pytest.mark.parametrize("kind", sorted(service.KINDS))
def test_dict_form_matches_the_model(kind):
    models, dicts = model_adapter(kind), validation.batch_adapter(service.KINDS[kind][0])
    for item in VALID[kind]:
        for variant in variants(item):
            assert outcome(dicts, [variant]) == outcome(models, [variant]), variant
    assert outcome(dicts, VALID[kind])[0] == "ok"


@pytest.mark.parametrize(("kind", "item"), [
    ("quotes", {"instrument": "AAPL", "ts": iso(), "bid": 2, "ask": 1.9}),
    ("bars", {"instrument": "AAPL", "interval": "1d", "ts": iso(), "open": 1, "high": 2, "low": 1.5, "close": 1}),
    ("orders", order("o-9", filled_quantity=101)),
    ("orders", order("o-9", status="canceled", canceled_at=None)),
    ("instruments", {"symbol": "X", "asset_class": "equity", "strike": 10}),
])
def test_cross_field_rules_refuse_in_both_forms(kind, item):
    models, dicts = model_adapter(kind), validation.batch_adapter(service.KINDS[kind][0])
    refused = outcome(dicts, [VALID[kind][0], item])
    assert refused == outcome(models, [VALID[kind][0], item])
    assert refused[0] == "refused" and refused[1][0][0] == (1,)  # the second item, as a whole


def test_a_new_cross_field_rule_must_use_item_check():
    from pydantic import model_validator

    class Sneaky(schemas.Item):
        a: int

        @model_validator(mode="after")
        def _rule(self):
            return self

    with pytest.raises(TypeError, match="item_check"):
        validation.dict_form(Sneaky)


def test_refusal_names_each_item_and_field():
    with pytest.raises(ValidationError) as caught:
        service.parse_items("quotes", [VALID["quotes"][0], {"instrument": "AAPL", "ts": iso(), "bid": -1, "ask": 1},
                                       {"instrument": "AAPL", "ts": iso(), "bid": 2, "ask": 1}])
    details = caught.value.details
    assert {(d["index"], d["field"]) for d in details} == {(1, "bid"), (2, "(item)")}
    assert "2 bad item(s)" in str(caught.value)


def test_json_fast_path_validates_like_the_general_path():
    import json

    body = json.dumps({"engine_id": "e1", "items": VALID["orders"], "ignored": True}).encode()
    fast = service._ENVELOPES["orders"].validate_json(body)
    assert fast["items"] == service.parse_items("orders", json.loads(body)["items"])
    assert fast["engine_id"] == "e1"
