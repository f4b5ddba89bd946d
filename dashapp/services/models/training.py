"""Retraining: load closes -> features -> fit (a small grid of gradient-boosting configurations, each scored
by purged walk-forward out-of-sample evaluation) -> validate (gates.py) -> register (registry.py).

Reproducible: every random choice takes the seed (the boosting's subsampling, the leakage check's sampled
rows), so the same data, parameters and seed give the same metrics. The number of configurations tried is
recorded as the version's `trials` and deflates its Sharpe ratio.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable, Literal

import numpy as np
import pandas as pd
import pydantic

from dashapp.services.errors import ValidationError
from dashapp.services.models import features as feat

STAGES = ("load", "features", "fit", "validate", "register")
SOURCES = ("bundled", "store")


class RetrainParams(pydantic.BaseModel):
    """What a retrain may be asked to do (bounded: small models, at most 8 configurations)."""

    model_config = pydantic.ConfigDict(extra="forbid")
    model: str = pydantic.Field("demo-direction", pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    symbol: str = pydantic.Field("AAPL", pattern=r"^[A-Z0-9.]{1,16}$")
    source: Literal["bundled", "store"] = "bundled"
    start: date = date(2015, 1, 2)
    end: date = date(2022, 12, 28)
    seed: int = pydantic.Field(7, ge=0, le=2**31 - 1)
    n_estimators: int = pydantic.Field(40, ge=5, le=300)
    max_depths: list[int] = pydantic.Field(default_factory=lambda: [2, 3], min_length=1, max_length=3)
    learning_rates: list[float] = pydantic.Field(default_factory=lambda: [0.05, 0.1], min_length=1, max_length=3)
    folds: int = pydantic.Field(3, ge=2, le=8)
    embargo: int = pydantic.Field(5, ge=0, le=60)  # bars dropped between each training block and its test block
    cost_bps: float = pydantic.Field(1.0, ge=0, le=100)
    min_oos_sharpe: float = pydantic.Field(0.0, ge=-10, le=10)
    min_dsr: float = pydantic.Field(0.5, ge=0, le=1)
    dm_alpha: float = pydantic.Field(0.05, gt=0, lt=0.5)
    max_var_99: float = pydantic.Field(0.08, gt=0, le=1)
    max_drawdown: float = pydantic.Field(0.5, gt=0, le=1)
    promote_to_challenger: bool = True

    @pydantic.field_validator("max_depths")
    @classmethod
    def _depths(cls, v):
        if any(d < 1 or d > 5 for d in v):
            raise ValueError("each depth must be in 1..5")
        return v

    @pydantic.field_validator("learning_rates")
    @classmethod
    def _rates(cls, v):
        if any(r <= 0 or r > 1 for r in v):
            raise ValueError("each learning rate must be in (0, 1]")
        return v

    @pydantic.model_validator(mode="after")
    def _window(self):
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


@dataclass
class TrainResult:
    estimator: object
    features: list[str]
    params: dict
    metrics: dict
    gates: list[dict]
    trials: int
    train_start: datetime
    train_end: datetime
    oos: pd.DataFrame = field(repr=False)  # decision time, probability, forward return (best trial)


def load_closes(symbol: str, source: str, start: date, end: date) -> tuple[pd.Series, pd.Series | None]:
    """Daily closes of the symbol and of the market index over [start, end]."""
    if source == "bundled":
        from dashapp.engine.universe import load_daily_closes

        frame = load_daily_closes()
        if symbol not in frame.columns:
            raise ValidationError(f"no bundled history for {symbol!r}", field="symbol")
        frame = frame.loc[pd.Timestamp(start):pd.Timestamp(end)]
        frame.index = frame.index.tz_localize(timezone.utc)
        return frame[symbol], frame["SP500"]
    from dashapp.services import market_history

    since = datetime.combine(start, datetime.min.time(), timezone.utc)
    until = datetime.combine(end, datetime.min.time(), timezone.utc)
    bars = market_history.bars(symbol, "1d", since, until)
    close = pd.Series(bars["close"].to_numpy(), index=pd.DatetimeIndex(bars["ts"]))
    try:
        index = market_history.bars("SPX", "1d", since, until)
        market = pd.Series(index["close"].to_numpy(), index=pd.DatetimeIndex(index["ts"]))
    except Exception:  # no index history in the store: the market features stay flat
        market = None
    return close, market


def walk_forward_splits(n: int, folds: int, embargo: int, horizon: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window walk-forward over the second half of the rows: each test block's training rows end
    `horizon` (purge: their labels would overlap the test block) + `embargo` rows before it."""
    first_test = n // 2
    edges = np.linspace(first_test, n, folds + 1).astype(int)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        train_end = lo - horizon - embargo
        if train_end < 50 or hi <= lo:
            continue
        out.append((np.arange(0, train_end), np.arange(lo, hi)))
    if not out:
        raise ValidationError("too few rows for the walk-forward folds; widen the window", field="start")
    return out


def make_estimator(depth: int, rate: float, n_estimators: int, seed: int):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=n_estimators, max_depth=depth, learning_rate=rate,
                                      subsample=0.8, random_state=seed)


def walk_forward(ds: feat.Dataset, depth: int, rate: float, n_estimators: int, seed: int, folds: int,
                 embargo: int, columns: list[str] | None = None) -> pd.DataFrame:
    """Out-of-sample probabilities of one configuration on the purged walk-forward folds."""
    X = ds.X[columns] if columns else ds.X
    parts = []
    for train, test in walk_forward_splits(len(X), folds, embargo):
        est = make_estimator(depth, rate, n_estimators, seed).fit(X.iloc[train].to_numpy(), ds.y[train])
        parts.append(pd.DataFrame({"prob": est.predict_proba(X.iloc[test].to_numpy())[:, 1],
                                   "forward": ds.forward[test], "y": ds.y[test]}, index=X.index[test]))
    return pd.concat(parts)


def strategy_returns(oos: pd.DataFrame, cost_bps: float) -> np.ndarray:
    """Long when P(up) > 0.5, short below: the next-period return, minus costs on position changes."""
    position = np.sign(oos["prob"].to_numpy() - 0.5)
    turnover = np.abs(np.diff(np.r_[0.0, position]))
    return position * oos["forward"].to_numpy() - turnover * cost_bps / 1e4


def per_period_sharpe(returns: np.ndarray) -> float:
    sd = returns.std(ddof=1)
    return float(returns.mean() / sd) if sd > 0 else 0.0


def train(params: RetrainParams, progress: Callable[[str, float, str], None] = lambda *a: None,
          champion=None) -> TrainResult:
    """Everything but registering. `champion`: (version row params, estimator) or None."""
    from dashapp.services.models import gates

    progress("load", 5, f"loading {params.symbol} closes ({params.source})")
    close, market = load_closes(params.symbol, params.source, params.start, params.end)
    progress("features", 15, f"{len(close)} bars: computing {len(feat.FEATURES)} features")
    ds = feat.dataset(close, market)
    grid = list(itertools.product(params.max_depths, params.learning_rates))
    results = []
    for i, (depth, rate) in enumerate(grid):
        progress("fit", 20 + 50 * i / len(grid), f"walk-forward of configuration {i + 1}/{len(grid)} "
                                                 f"(depth {depth}, learning rate {rate})")
        oos = walk_forward(ds, depth, rate, params.n_estimators, params.seed, params.folds, params.embargo)
        rets = strategy_returns(oos, params.cost_bps)
        results.append({"depth": depth, "learning_rate": rate, "oos": oos, "returns": rets,
                        "sharpe": per_period_sharpe(rets)})
    best = max(results, key=lambda r: r["sharpe"])
    progress("fit", 70, f"fitting the chosen configuration on {len(ds.X)} rows")
    estimator = make_estimator(best["depth"], best["learning_rate"], params.n_estimators, params.seed)
    estimator.fit(ds.X.to_numpy(), ds.y)
    model_params = {"estimator": "GradientBoostingClassifier", "max_depth": best["depth"],
                    "learning_rate": best["learning_rate"], "n_estimators": params.n_estimators, "subsample": 0.8,
                    "folds": params.folds, "embargo": params.embargo, "cost_bps": params.cost_bps,
                    "symbol": params.symbol, "source": params.source, "grid": [list(g) for g in grid]}
    progress("validate", 75, "running the validation gates")
    champion_oos = None
    if champion is not None:
        cp = champion["params"]
        champion_oos = walk_forward(ds, int(cp["max_depth"]), float(cp["learning_rate"]),
                                    int(cp["n_estimators"]), int(champion["seed"]), params.folds, params.embargo,
                                    columns=champion["features"])
    gate_results, metrics = gates.run_all(params, close, market, ds, best, results, champion_oos)
    progress("validate", 90, ", ".join(f"{g['name']} {'pass' if g['passed'] else 'FAIL'}" for g in gate_results))
    return TrainResult(estimator, list(ds.X.columns), model_params, metrics, gate_results, len(grid),
                       ds.X.index[0].to_pydatetime(), ds.X.index[-1].to_pydatetime(),
                       best["oos"].assign(strategy=best["returns"]))


def retrain(params: RetrainParams, *, actor: str, job_id: str | None = None,
            progress: Callable[[str, float, str], None] = lambda *a: None,
            log: Callable[[str], None] = lambda line: None) -> dict:
    """Train, validate against the current champion, and register the new version (the challenger)."""
    from dashapp.services.models import registry

    model = registry.ensure_model(params.model, params.symbol, "1d", actor,
                                  f"next-day direction of {params.symbol} (gradient boosting)")
    if model.symbol != params.symbol:
        raise ValidationError(f"model {params.model!r} predicts {model.symbol}, not {params.symbol}", field="symbol")
    current = registry.alias_version(model, "champion")
    champion = None if current is None else {"params": current.params, "seed": current.seed,
                                             "features": current.features, "version": current.version}
    result = train(params, progress, champion)
    for g in result.gates:
        log(f"gate {g['name']}: {'pass' if g['passed'] else 'FAIL'} (value {g['value']}, threshold {g['threshold']})")
    progress("register", 95, "storing the artifact and the version")
    version = registry.register_version(
        params.model, result.estimator, actor=actor, train_start=result.train_start, train_end=result.train_end,
        features=result.features, params=result.params, metrics=result.metrics, gates=result.gates, seed=params.seed,
        trials=result.trials, job_id=job_id, as_challenger=params.promote_to_challenger)
    progress("register", 100, f"registered {params.model} v{version.version}")
    return {"model": params.model, "version": version.version, "gates_passed": version.gates_passed,
            "failed_gates": [g["name"] for g in result.gates if not g["passed"]], "metrics": result.metrics,
            "champion_compared": champion["version"] if champion else None}
