"""What a backtest or sweep job accepts, with bounds. A bad value is refused at launch (422) by
dashapp.services.jobs with the field's path, e.g. ``params.strategy.sma_cross.slow``."""
from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from dashapp.backtest import data
from dashapp.backtest.engine import Costs, RunConfig
from dashapp.backtest.strategies import STRATEGIES

MAX_SWEEP_SETS = 2_500  # parameter pairs in one sweep (a 50 x 50 heatmap)
MAX_SWEEP_RUNS = 50_000  # pairs x symbols
MAX_AXIS_VALUES = 100
_FORBID = ConfigDict(extra="forbid")


def _first_last():
    return data.date_bounds()


class SmaCrossParams(BaseModel):
    model_config = _FORBID
    kind: Literal["sma_cross"] = "sma_cross"
    fast: int = Field(10, ge=2, le=250, description="fast SMA window, bars")
    slow: int = Field(50, ge=3, le=500, description="slow SMA window, bars")

    @field_validator("slow")
    @classmethod
    def _slower(cls, slow: int, info: ValidationInfo) -> int:
        fast = info.data.get("fast")
        if fast is not None and slow <= fast:
            raise ValueError(f"slow ({slow}) must be greater than fast ({fast})")
        return slow

    def longest_window(self) -> int:
        return self.slow


class MomentumParams(BaseModel):
    model_config = _FORBID
    kind: Literal["momentum"] = "momentum"
    lookback: int = Field(STRATEGIES["momentum"].defaults()["lookback"], ge=1, le=500)
    threshold: float = Field(STRATEGIES["momentum"].defaults()["threshold"], ge=0.0, le=0.5)

    def longest_window(self) -> int:
        return self.lookback + 1


class MeanReversionParams(BaseModel):
    model_config = _FORBID
    kind: Literal["mean_reversion"] = "mean_reversion"
    window: int = Field(STRATEGIES["mean_reversion"].defaults()["window"], ge=2, le=500)
    entry_z: float = Field(STRATEGIES["mean_reversion"].defaults()["entry_z"], ge=0.1, le=5.0)

    def longest_window(self) -> int:
        return self.window


StrategyParams = Annotated[Union[SmaCrossParams, MomentumParams, MeanReversionParams], Field(discriminator="kind")]
STRATEGY_MODELS = {"sma_cross": SmaCrossParams, "momentum": MomentumParams, "mean_reversion": MeanReversionParams}


class CostParams(BaseModel):
    model_config = _FORBID
    commission_per_share: float = Field(0.0, ge=0.0, le=1.0, description="currency per share")
    commission_bps: float = Field(0.0, ge=0.0, le=100.0, description="basis points of traded notional")
    slippage_bps: float = Field(0.0, ge=0.0, le=500.0, description="basis points against each fill")


class _Common(BaseModel):
    """Fields both job types share; their order matters: later validators read earlier fields."""

    model_config = _FORBID
    symbols: list[str] = Field(default_factory=lambda: ["AAPL"], min_length=1, max_length=25)
    start: date = Field(default_factory=lambda: date(2013, 1, 2))
    end: date = Field(default_factory=lambda: _first_last()[1])
    costs: CostParams = Field(default_factory=CostParams)
    initial_capital: float = Field(1_000_000.0, ge=1_000.0, le=1e10)
    position_size: float = Field(1.0, gt=0.0, le=1.0, description="fraction of the symbol's equity per position")
    max_position_notional: float | None = Field(None, gt=0.0, le=1e10)
    allow_short: bool = True
    fill: Literal["next_bar", "same_close"] = "next_bar"

    @field_validator("symbols")
    @classmethod
    def _known(cls, symbols: list[str]) -> list[str]:
        clean = [s.strip().upper() for s in symbols]
        unknown = [s for s in clean if s not in data.symbols()]
        if unknown:
            raise ValueError(f"no bundled data for {', '.join(unknown)}; choose from {', '.join(data.symbols())}")
        if len(set(clean)) != len(clean):
            raise ValueError("each symbol may appear once")
        return clean

    @field_validator("start", "end")
    @classmethod
    def _inside_data(cls, day: date) -> date:
        first, last = _first_last()
        if not first <= day <= last:
            raise ValueError(f"the bundled data runs from {first} to {last}")
        return day

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        return end

    def run_config(self) -> RunConfig:
        c = self.costs
        return RunConfig(self.initial_capital, self.position_size, self.max_position_notional, self.allow_short,
                         self.fill, Costs(c.commission_per_share, c.commission_bps, c.slippage_bps))


def _check_bars(info: ValidationInfo, longest: int, what: str) -> None:
    start, end = info.data.get("start"), info.data.get("end")
    if start is None or end is None:
        return
    bars = data.bars_between(start, end)
    if bars < longest + 2:
        raise ValueError(f"{what} needs at least {longest + 2} bars, but {start}..{end} holds {bars}: "
                         f"widen the date range or shorten the window")


class BacktestParams(_Common):
    strategy: StrategyParams = Field(default_factory=SmaCrossParams, validate_default=True)

    @field_validator("strategy")
    @classmethod
    def _enough_bars(cls, strategy, info: ValidationInfo):
        _check_bars(info, strategy.longest_window(), f"a {strategy.longest_window()}-bar window")
        return strategy

    @property
    def strategy_params(self) -> dict:
        return self.strategy.model_dump(exclude={"kind"})


class Axis(BaseModel):
    """Values start, start + step, ... up to stop (inclusive)."""

    model_config = _FORBID
    start: float
    stop: float
    step: float = Field(gt=0.0)

    @field_validator("stop")
    @classmethod
    def _ordered(cls, stop: float, info: ValidationInfo) -> float:
        start = info.data.get("start")
        if start is not None and stop < start:
            raise ValueError(f"stop ({stop:g}) must not be below start ({start:g})")
        return stop

    def values(self) -> list[float]:
        n = int(math.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return [round(float(v), 10) for v in (self.start + self.step * np.arange(n))]


class SweepParams(_Common):
    strategy: Literal["sma_cross", "momentum", "mean_reversion"] = "sma_cross"
    first: Axis = Field(default_factory=lambda: Axis(start=5, stop=50, step=5), validate_default=True,
                        description="the strategy's first parameter: fast / lookback / window")
    second: Axis = Field(default_factory=lambda: Axis(start=60, stop=200, step=20), validate_default=True,
                         description="the strategy's second parameter: slow / threshold / entry_z")

    @field_validator("first", "second")
    @classmethod
    def _in_bounds(cls, axis: Axis, info: ValidationInfo) -> Axis:
        kind = info.data.get("strategy")
        if kind is None:
            return axis
        p = STRATEGIES[kind].params[0 if info.field_name == "first" else 1]
        values = axis.values()
        if len(values) > MAX_AXIS_VALUES:
            raise ValueError(f"{p.name}: {len(values)} values; at most {MAX_AXIS_VALUES} per axis")
        if values[0] < p.low or values[-1] > p.high:
            raise ValueError(f"{p.name} values must lie between {p.low:g} and {p.high:g}")
        if p.kind is int and any(v != round(v) for v in values):
            raise ValueError(f"{p.name} takes whole numbers: use a whole start and step")
        if info.field_name == "first":
            _check_bars(info, int(max(values)) + (1 if kind == "momentum" else 0), f"{p.name}={max(values):g}")
        elif kind == "sma_cross":
            _check_bars(info, int(max(values)), f"{p.name}={max(values):g}")
        return axis

    @field_validator("second")
    @classmethod
    def _grid_size(cls, second: Axis, info: ValidationInfo) -> Axis:
        first, kind, symbols = info.data.get("first"), info.data.get("strategy"), info.data.get("symbols") or []
        if first is None or kind is None:
            return second
        a, b = first.values(), second.values()
        pairs = sum(1 for x in a for y in b if kind != "sma_cross" or x < y)
        if pairs == 0:
            raise ValueError("no parameter pair to run: every fast value is at or above every slow value")
        if pairs > MAX_SWEEP_SETS:
            raise ValueError(f"{pairs} parameter pairs; at most {MAX_SWEEP_SETS} in one sweep")
        if pairs * max(len(symbols), 1) > MAX_SWEEP_RUNS:
            raise ValueError(f"{pairs} pairs x {len(symbols)} symbols = {pairs * len(symbols)} backtests; "
                             f"at most {MAX_SWEEP_RUNS} in one sweep")
        return second

    def grid(self) -> tuple[list[float], list[float]]:
        return self.first.values(), self.second.values()
