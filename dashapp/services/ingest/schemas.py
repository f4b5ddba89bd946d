"""The shape of each ingested item. Strict: unknown fields, wrong types and impossible values are refused.

The models are the documented schema (the OpenAPI document is built from them). Batches are
validated against a dict form derived from them (`validation.py`), so rules that involve several
fields are written once, as `item_check` functions of the validated values, and run in both forms.
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._:/-]+$")
EngineRef = Field(min_length=1, max_length=64)
Positive = Field(gt=0, allow_inf_nan=False)
NonNegative = Field(ge=0, allow_inf_nan=False)


def item_check(check):
    """A cross-field rule as a model validator; `check(values)` raises ValueError naming the problem.
    The dict form finds the rule again through the validator's `check` attribute."""
    def validator(self):
        check(self.__dict__)
        return self

    validator.check = check
    return model_validator(mode="after")(validator)


class Item(BaseModel):
    # Timestamps are AwareDatetime: one without a zone is ambiguous across desks, so it is refused
    # (checked in pydantic's compiled core, which keeps validation at ~200k items/s).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountIn(Item):
    code: str = Code
    name: str = Field("", max_length=120)
    base_currency: str = Field("USD", min_length=3, max_length=3)


class StrategyIn(Item):
    code: str = Code
    name: str = Field("", max_length=120)
    kind: str = Field("custom", max_length=32)
    account: str = Code
    allocation: float = Field(0.0, ge=0, allow_inf_nan=False)
    params: dict = Field(default_factory=dict)
    active: bool = True


class VenueIn(Item):
    code: str = Code
    name: str = Field("", max_length=120)
    kind: Literal["exchange", "lp", "dark"] = "exchange"


def option_terms(v: dict) -> None:
    terms = (v["underlying"], v["strike"], v["expiry"], v["option_right"])
    if v["asset_class"] == "option" and any(t is None for t in terms):
        raise ValueError("an option needs underlying, strike, expiry and option_right")
    if v["asset_class"] != "option" and any(t is not None for t in terms):
        raise ValueError("only options take underlying, strike, expiry or option_right")


class InstrumentIn(Item):
    symbol: str = Field(min_length=1, max_length=48)
    asset_class: Literal["equity", "fx", "option", "index"]
    currency: str = Field("USD", min_length=3, max_length=3)
    sector: str = Field("", max_length=48)
    multiplier: float = Field(1.0, gt=0, allow_inf_nan=False)
    underlying: str | None = Field(None, max_length=48)
    strike: float | None = Field(None, gt=0, allow_inf_nan=False)
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
    parent_client_order_id: str | None = Field(None, max_length=64)
    strategy: str = Code
    instrument: str = Field(min_length=1, max_length=48)
    venue: str | None = Field(None, max_length=32)
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit"] = "market"
    quantity: float = Positive
    limit_price: float | None = Field(None, gt=0, allow_inf_nan=False)
    filled_quantity: float = Field(0.0, ge=0, allow_inf_nan=False)
    avg_fill_price: float | None = Field(None, gt=0, allow_inf_nan=False)
    status: OrderStatus = "new"
    arrival_mid: float | None = Field(None, gt=0, allow_inf_nan=False)
    reject_reason: str | None = Field(None, max_length=200)
    created_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    partially_filled_at: AwareDatetime | None = None
    filled_at: AwareDatetime | None = None
    canceled_at: AwareDatetime | None = None
    rejected_at: AwareDatetime | None = None
    expired_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    _consistent = item_check(order_consistent)


class FillIn(Item):
    exec_id: str = EngineRef
    client_order_id: str = EngineRef
    venue: str = Code
    quantity: float = Positive
    price: float = Positive
    fee: float = Field(0.0, ge=0, allow_inf_nan=False)
    liquidity: Literal["maker", "taker"] = "taker"
    mid_at_arrival: float | None = Field(None, gt=0, allow_inf_nan=False)
    mid_at_fill: float | None = Field(None, gt=0, allow_inf_nan=False)
    filled_at: AwareDatetime


def not_crossed(v: dict) -> None:
    if v["ask"] < v["bid"]:
        raise ValueError("ask is below bid (crossed quote)")


class QuoteIn(Item):
    instrument: str = Field(min_length=1, max_length=48)
    ts: AwareDatetime
    bid: float = Positive
    ask: float = Positive
    bid_size: float | None = Field(None, ge=0, allow_inf_nan=False)
    ask_size: float | None = Field(None, ge=0, allow_inf_nan=False)

    _not_crossed = item_check(not_crossed)


def bar_range(v: dict) -> None:
    if not (v["low"] <= min(v["open"], v["close"]) and max(v["open"], v["close"]) <= v["high"]):
        raise ValueError("bar must satisfy low <= open, close <= high")


class BarIn(Item):
    instrument: str = Field(min_length=1, max_length=48)
    interval: Literal["1m", "5m", "1h", "1d"]
    ts: AwareDatetime
    open: float = Positive
    high: float = Positive
    low: float = Positive
    close: float = Positive
    volume: float = Field(0.0, ge=0, allow_inf_nan=False)

    _range = item_check(bar_range)


class SignalIn(Item):
    signal_id: str = EngineRef
    strategy: str = Code
    instrument: str = Field(min_length=1, max_length=48)
    ts: AwareDatetime
    direction: Literal[-1, 0, 1]
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)


class RiskDecisionIn(Item):
    decision_id: str = EngineRef
    ts: AwareDatetime
    strategy: str = Code
    instrument: str = Field(min_length=1, max_length=48)
    client_order_id: str | None = Field(None, max_length=64)
    decision: Literal["allow", "scale", "block"]
    rule: str = Field("", max_length=48)
    reason: str = Field("", max_length=300)
    requested_qty: float = NonNegative
    allowed_qty: float = NonNegative


class EngineStateIn(Item):
    status: Literal["starting", "running", "stopping", "stopped", "crashed"]
    stage: str = Field("", max_length=32)
    version: str = Field("", max_length=32)
    pid: int | None = None
    heartbeat_at: AwareDatetime
    started_at: AwareDatetime | None = None
    detail: dict = Field(default_factory=dict)


class EventIn(Item):
    event_id: str = EngineRef
    ts: AwareDatetime
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    kind: str = Field(min_length=1, max_length=32)
    message: str = Field("", max_length=500)
    order_client_id: str | None = Field(None, max_length=64)
    data: dict = Field(default_factory=dict)


class PnlSnapshotIn(Item):
    strategy: str = Code
    ts: AwareDatetime
    equity: float = Field(allow_inf_nan=False)
    realized_pnl: float = Field(0.0, allow_inf_nan=False)
    unrealized_pnl: float = Field(0.0, allow_inf_nan=False)
    gross_exposure: float = Field(0.0, ge=0, allow_inf_nan=False)
    net_exposure: float = Field(0.0, allow_inf_nan=False)
