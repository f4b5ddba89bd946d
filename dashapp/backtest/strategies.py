"""The strategies a backtest can run: names, parameters (defaults and bounds) and how each maps
onto the numba signal kernel. Momentum and mean reversion are the paper engine's own logic
(dashapp.engine.strategies) with its defaults; the SMA crossover exists only here."""
from __future__ import annotations

from dataclasses import dataclass

from dashapp.backtest import loop_nb
from dashapp.engine.strategies import MeanReversion, Momentum


@dataclass(frozen=True)
class ParamDef:
    name: str
    label: str
    kind: type  # int or float
    default: float
    low: float
    high: float
    step: float  # the form's input step
    sweep: tuple[float, float, float]  # the form's default sweep axis: start, stop, step


@dataclass(frozen=True)
class StrategyDef:
    kind: str
    label: str
    code: int  # loop_nb's strategy code
    params: tuple[ParamDef, ParamDef]  # (first, second): the sweep heatmap's y and x axes
    live_kind: str | None  # the paper engine's strategy kind that runs the same logic live
    describe: str

    def defaults(self) -> dict:
        return {p.name: p.kind(p.default) for p in self.params}

    @property
    def names(self) -> tuple[str, str]:
        return self.params[0].name, self.params[1].name


_MOM, _MR = Momentum(), MeanReversion()

STRATEGIES: dict[str, StrategyDef] = {s.kind: s for s in (
    StrategyDef("sma_cross", "SMA crossover", loop_nb.SMA_CROSS,
                (ParamDef("fast", "Fast SMA (bars)", int, 10, 2, 250, 1, (5, 50, 5)),
                 ParamDef("slow", "Slow SMA (bars)", int, 50, 3, 500, 1, (60, 200, 20))),
                None, "Long while the fast simple moving average is above the slow one, short (or flat) below."),
    StrategyDef("momentum", "Momentum", loop_nb.MOMENTUM,
                (ParamDef("lookback", "Lookback (bars)", int, _MOM.lookback, 1, 500, 1, (5, 60, 5)),
                 ParamDef("threshold", "Threshold (return)", float, _MOM.threshold, 0.0, 0.5, 0.001,
                          (0.0, 0.02, 0.002))),
                "momentum", "The paper engine's momentum: long when the lookback return beats +threshold, "
                            "short below -threshold, flat between."),
    StrategyDef("mean_reversion", "Mean reversion", loop_nb.MEAN_REVERSION,
                (ParamDef("window", "Window (bars)", int, _MR.window, 2, 500, 1, (10, 60, 5)),
                 ParamDef("entry_z", "Entry z-score", float, _MR.entry_z, 0.1, 5.0, 0.1, (0.5, 3.0, 0.25))),
                "mean_reversion", "The paper engine's mean reversion: short above +entry_z standard deviations "
                                  "from the rolling mean, long below -entry_z, flat between."),
)}


def strategy(kind: str) -> StrategyDef:
    try:
        return STRATEGIES[kind]
    except KeyError:
        raise ValueError(f"unknown strategy {kind!r}: choose one of {', '.join(STRATEGIES)}") from None
