"""The shape of each ingested item. Strict: unknown fields, wrong types and impossible values are refused.

The models are the documented schema (the OpenAPI document is built from them). Batches are
validated against a dict form derived from them (`validation.py`), so rules that involve several
fields are written once, as `item_check` functions of the validated values, and run in both forms.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from dashapp.services.fields import (NO_CONTROL, Amount, Fee, Fraction, JsonObject, NonNegativeAmount,
                                     NonNegativeInt32, Price, Quantity, Size, text)

# Bounds (dashapp/services/bounds.py) are in the field types: strict finite numbers within sane
# magnitudes, bounded text without control characters, bounded nested JSON. What needs the clock or
# the whole batch (the timestamp window, subnormal values) is checked per batch in `validation.py`.
Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._:/-]+$")
EngineRef = Field(min_length=1, max_length=64, pattern=NO_CONTROL)
Symbol = Field(min_length=1, max_length=48, pattern=NO_CONTROL)
Currency = Field("USD", min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")
Name = text(120)
Text32, Text48, Text64, Text200, Text300, Text500 = (text(n) for n in (32, 48, 64, 200, 300, 500))
Kind = text(32, min_length=1)
# Timestamps carry a zone (a naive one is ambiguous across desks) and fall inside the accepted window,
# checked per batch (validation.check_batch) because it moves with the server's clock. They are text:
# pydantic would read a bare number as epoch seconds or milliseconds (it guesses by magnitude), and a
# unit guessed wrong stores a plausible but false time.


def _text_not_number(value):
    if isinstance(value, (int, float)):  # bool is an int too
        raise ValueError("must be ISO 8601 text with a UTC offset, not a number")
    return value


Stamp = Annotated[AwareDatetime, BeforeValidator(_text_not_number), Field(description="ISO 8601 with a UTC offset; between COCKPIT_DATA_EPOCH "
                                                   "(default 2000-01-01) and the server's clock + "
                                                   "COCKPIT_MAX_FUTURE_SECONDS (default 300 s)")]


def item_check(check):
    """A cross-field rule as a model validator; `check(values)` raises ValueError naming the problem.
    The dict form finds the rule again through the validator's `check` attribute."""
    def validator(self):
        check(self.__dict__)
        return self

    validator.check = check
    return model_validator(mode="after")(validator)


class Item(BaseModel):
    # Timestamps are `Stamp` (AwareDatetime): one without a zone is ambiguous across desks, so it is
    # refused (checked in pydantic's compiled core, which keeps validation at ~200k items/s).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountIn(Item):
    code: str = Code
    name: Name = ""
    base_currency: str = Currency


class StrategyIn(Item):
    code: str = Code
    name: Name = ""
    kind: Text32 = "custom"
    account: str = Code
    allocation: NonNegativeAmount = 0.0
    params: JsonObject = Field(default_factory=dict)
    active: bool = True


class VenueIn(Item):
    code: str = Code
    name: Name = ""
    kind: Literal["exchange", "lp", "dark"] = "exchange"


def option_terms(v: dict) -> None:
    terms = (v["underlying"], v["strike"], v["expiry"], v["option_right"])
    if v["asset_class"] == "option" and any(t is None for t in terms):
        raise ValueError("an option needs underlying, strike, expiry and option_right")
    if v["asset_class"] != "option" and any(t is not None for t in terms):
        raise ValueError("only options take underlying, strike, expiry or option_right")


class InstrumentIn(Item):
    symbol: str = Symbol
    asset_class: Literal["equity", "fx", "option", "index"]
    currency: str = Currency
    sector: Text48 = ""
    multiplier: Quantity = 1.0
    underlying: Text48 | None = None
    strike: Price | None = None
    expiry: date | None = None
    option_right: Literal["C", "P"] | None = None

    _option_terms = item_check(option_terms)


OrderStatus = Literal["new", "acknowledged", "partially_filled", "filled", "canceled", "rejected", "expired"]


def order_consistent(v: dict) -> None:
    if v["filled_quantity"] > v["quantity"] * (1 + 1e-9):
        raise ValueError("filled_quantity exceeds quantity")
    if v["order_type"] == "limit" and v["limit_price"] is None:
        raise ValueError("a limit order needs limit_price")
    status = v["status"]
    if status != "new" and v[f"{status}_at"] is None:  # 'new' is stamped by the required created_at
        raise ValueError(f"status {status!r} needs its timestamp {status}_at")


class OrderIn(Item):
    client_order_id: str = EngineRef
    parent_client_order_id: Text64 | None = None
    strategy: str = Code
    instrument: str = Symbol
    venue: Text32 | None = None
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit"] = "market"
    quantity: Quantity
    limit_price: Price | None = None
    filled_quantity: Size = 0.0
    avg_fill_price: Price | None = None
    status: OrderStatus = "new"
    arrival_mid: Price | None = None
    reject_reason: Text200 | None = None
    created_at: Stamp
    acknowledged_at: Stamp | None = None
    partially_filled_at: Stamp | None = None
    filled_at: Stamp | None = None
    canceled_at: Stamp | None = None
    rejected_at: Stamp | None = None
    expired_at: Stamp | None = None
    updated_at: Stamp | None = None

    _consistent = item_check(order_consistent)


class FillIn(Item):
    exec_id: str = EngineRef
    client_order_id: str = EngineRef
    venue: str = Code
    quantity: Quantity
    price: Price
    fee: Fee = 0.0
    liquidity: Literal["maker", "taker"] = "taker"
    mid_at_arrival: Price | None = None
    mid_at_fill: Price | None = None
    filled_at: Stamp


def not_crossed(v: dict) -> None:
    if v["ask"] < v["bid"]:
        raise ValueError("ask is below bid (crossed quote)")


class QuoteIn(Item):
    instrument: str = Symbol
    ts: Stamp
    bid: Price
    ask: Price
    bid_size: Size | None = None
    ask_size: Size | None = None

    _not_crossed = item_check(not_crossed)


def bar_range(v: dict) -> None:
    if not (v["low"] <= min(v["open"], v["close"]) and max(v["open"], v["close"]) <= v["high"]):
        raise ValueError("bar must satisfy low <= open, close <= high")


class BarIn(Item):
    instrument: str = Symbol
    interval: Literal["1m", "5m", "1h", "1d"]
    ts: Stamp
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size = 0.0

    _range = item_check(bar_range)


class SignalIn(Item):
    signal_id: str = EngineRef
    strategy: str = Code
    instrument: str = Symbol
    ts: Stamp
    direction: Literal[-1, 0, 1]
    confidence: Fraction


class RiskDecisionIn(Item):
    decision_id: str = EngineRef
    ts: Stamp
    strategy: str = Code
    instrument: str = Symbol
    client_order_id: Text64 | None = None
    decision: Literal["allow", "scale", "block"]
    rule: Text48 = ""
    reason: Text300 = ""
    requested_qty: Size
    allowed_qty: Size


class EngineStateIn(Item):
    status: Literal["starting", "running", "stopping", "stopped", "crashed"]
    stage: Text32 = ""
    version: Text32 = ""
    pid: NonNegativeInt32 | None = None
    heartbeat_at: Stamp
    started_at: Stamp | None = None
    detail: JsonObject = Field(default_factory=dict)


class EventIn(Item):
    event_id: str = EngineRef
    ts: Stamp
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    kind: Kind
    message: Text500 = ""
    order_client_id: Text64 | None = None
    data: JsonObject = Field(default_factory=dict)


class PnlSnapshotIn(Item):
    strategy: str = Code
    ts: Stamp
    equity: Amount
    realized_pnl: Amount = 0.0
    unrealized_pnl: Amount = 0.0
    gross_exposure: NonNegativeAmount = 0.0
    net_exposure: Amount = 0.0
