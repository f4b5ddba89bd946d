"""Gates math without a database: purged walk-forward splits with an embargo, the leakage check (it must
catch a feature that peeks at the next close), data quality, strategy returns with costs, the DM gate's
direction, and the retrain parameters' bounds."""
import numpy as np
import pandas as pd
import pydantic
import pytest

from dashapp.services.models import features as feat
from dashapp.services.models import gates, training


def _closes(n=400, seed=1):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n, freq="B", tz="UTC")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=index)
    market = pd.Series(3000 * np.exp(np.cumsum(rng.normal(0, 0.008, n))), index=index)
    return close, market


def test_walk_forward_splits_are_purged_and_embargoed():
    splits = training.walk_forward_splits(400, folds=4, embargo=5, horizon=1)
    assert len(splits) == 4
    for train, test in splits:
        assert train.max() + 1 + 1 + 5 <= test.min()  # purge (1) + embargo (5) rows between them
        assert np.all(np.diff(test) == 1)
    tests = np.concatenate([t for _, t in splits])
    assert len(np.unique(tests)) == len(tests) == 200  # the second half, each row tested once


def test_leakage_check_catches_a_feature_from_the_future():
    close, market = _closes()
    ds = feat.dataset(close, market)
    assert feat.leakage_check(close, market, ds.X)["passed"]
    leaky = ds.X.copy()
    leaky["ret_1"] = np.log(close.shift(-1) / close).reindex(leaky.index)  # tomorrow's return
    out = feat.leakage_check(close, market, leaky.fillna(0.0), samples=20)
    assert not out["passed"] and out["mismatched"]


def test_quality_flags_missing_and_out_of_range_values():
    close, market = _closes()
    ds = feat.dataset(close, market)
    assert feat.quality(ds.X)["passed"]
    bad = ds.X.copy()
    bad.iloc[3, 0] = np.nan
    bad.iloc[4, bad.columns.get_loc("vol_10")] = -0.1
    q = feat.quality(bad)
    assert (q["missing"], q["out_of_range"], q["passed"]) == (1, 1, False)
    with pytest.raises(Exception, match="at least"):
        feat.dataset(close.iloc[:100], market.iloc[:100])


def test_strategy_returns_charge_costs_on_changes_only():
    oos = pd.DataFrame({"prob": [0.6, 0.7, 0.4, 0.4], "forward": [0.01, -0.02, -0.01, 0.03]})
    out = training.strategy_returns(oos, cost_bps=10)
    assert out == pytest.approx([0.01 - 0.001, -0.02, 0.01 - 0.002, -0.03])


def test_diebold_mariano_gate_fails_only_when_the_challenger_is_significantly_worse():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    index = pd.RangeIndex(300)
    good = pd.DataFrame({"prob": np.clip(y * 0.3 + 0.35 + rng.normal(0, 0.05, 300), 0, 1), "y": y}, index=index)
    coin = pd.DataFrame({"prob": np.full(300, 0.5), "y": y}, index=index)
    worse, _ = gates.diebold_mariano_gate(coin, good, alpha=0.05)
    better, metrics = gates.diebold_mariano_gate(good, coin, alpha=0.05)
    assert not worse["passed"] and better["passed"] and metrics["dm_pvalue"] < 0.05
    first, _ = gates.diebold_mariano_gate(good, None, alpha=0.05)
    assert first["passed"] and "no champion" in first["detail"]["note"]


def test_retrain_params_are_bounded():
    with pytest.raises(pydantic.ValidationError):
        training.RetrainParams(n_estimators=10_000)
    with pytest.raises(pydantic.ValidationError):
        training.RetrainParams(max_depths=[9])
    with pytest.raises(pydantic.ValidationError):
        training.RetrainParams(start="2022-01-01", end="2021-01-01")
    with pytest.raises(pydantic.ValidationError):
        training.RetrainParams(model="Bad Name!")
