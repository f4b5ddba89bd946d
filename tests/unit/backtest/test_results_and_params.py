"""The job-facing side: parameters refused with the field named, compact JSON-safe results, the
page's form mapping, and the live comparison's shaping (no database needed for these)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashapp.backtest import data, engine, results
from dashapp.backtest.params import BacktestParams, SweepParams
from dashapp.backtest.service import JOB_BACKTEST, JOB_SWEEP, form_params, run_backtest, run_sweep
from dashapp.services import jobs
from dashapp.services.errors import ValidationError


@pytest.mark.parametrize("job_type,params,field,words", [
    ("backtest", {"symbols": ["AAPL", "NOPE"]}, "params.symbols", "no bundled data for NOPE"),
    ("backtest", {"symbols": []}, "params.symbols", "at least 1"),
    ("backtest", {"start": "2009-01-02"}, "params.start", "runs from 2012-01-03"),
    ("backtest", {"start": "2020-05-01", "end": "2020-04-01"}, "params.end", "must be after start"),
    ("backtest", {"strategy": {"kind": "sma_cross", "fast": 60, "slow": 20}}, "params.strategy.sma_cross.slow",
     "greater than fast"),
    ("backtest", {"strategy": {"kind": "momentum", "lookback": 0}}, "params.strategy.momentum.lookback",
     "greater than or equal to 1"),
    ("backtest", {"strategy": {"kind": "voodoo"}}, "params.strategy", "sma_cross"),
    ("backtest", {"start": "2022-11-01", "strategy": {"kind": "mean_reversion", "window": 60}}, "params.strategy",
     "needs at least 62 bars"),
    ("backtest", {"costs": {"slippage_bps": -1}}, "params.costs.slippage_bps", "greater than or equal to 0"),
    ("backtest", {"position_size": 1.5}, "params.position_size", "less than or equal to 1"),
    ("backtest", {"max_position_notional": 0}, "params.max_position_notional", "greater than 0"),
    ("backtest", {"fill": "tomorrow"}, "params.fill", "next_bar"),
    ("backtest", {"leverage": 3}, "params.leverage", "Extra inputs"),
    ("backtest_sweep", {"first": {"start": 5, "stop": 500, "step": 1}}, "params.first", "at most 100"),
    ("backtest_sweep", {"first": {"start": 1, "stop": 50, "step": 5}}, "params.first", "between 2 and 250"),
    ("backtest_sweep", {"strategy": "momentum", "first": {"start": 5, "stop": 20, "step": 0.5},
                        "second": {"start": 0, "stop": 0.01, "step": 0.005}}, "params.first", "whole numbers"),
    ("backtest_sweep", {"first": {"start": 100, "stop": 200, "step": 10}, "second": {"start": 20, "stop": 90,
                                                                                      "step": 10}},
     "params.second", "no parameter pair"),
    ("backtest_sweep", {"strategy": "mean_reversion", "first": {"start": 2, "stop": 100, "step": 1},
                        "second": {"start": 0.1, "stop": 5, "step": 0.1}}, "params.second", "at most 2500"),
])
def test_bad_parameters_are_refused_naming_the_field(job_type, params, field, words):
    with pytest.raises(ValidationError) as caught:
        jobs._validate(jobs.job_type(job_type), params)
    assert caught.value.http_status == 422
    assert caught.value.field == field, caught.value.message
    assert words in caught.value.message


def test_defaults_validate_and_round_trip_as_json():
    for spec, model in (("backtest", BacktestParams), ("backtest_sweep", SweepParams)):
        clean = jobs._validate(jobs.job_type(spec), {})
        assert model.model_validate(json.loads(json.dumps(clean))).model_dump(mode="json") == clean


def test_backtest_payload_is_compact_and_json_safe():
    params = BacktestParams.model_validate({"symbols": ["AAPL", "JPM", "XOM"], "start": "2012-01-03",
                                            "strategy": {"kind": "mean_reversion", "window": 10, "entry_z": 1.0}})
    steps = []
    payload = run_backtest(params, progress=lambda pct, msg: steps.append(pct))
    text = json.dumps(payload, allow_nan=False)  # raises on NaN/inf
    assert len(text) < 250_000
    assert steps == sorted(steps) and steps[0] < 50 and len(steps) >= 5
    curve = payload["equity"]
    assert curve["thinned"] and curve["bars"] > 2700 and len(curve["dates"]) <= results.MAX_POINTS + 2
    assert curve["dates"][0] == "2012-01-03" and curve["dates"][-1] == "2022-12-28"
    assert min(curve["drawdown"]) == pytest.approx(payload["metrics"]["max_drawdown"], abs=1e-6)  # trough kept
    assert set(curve["positions"]) == {"AAPL", "JPM", "XOM"} and len(curve["positions"]["JPM"]) == len(curve["dates"])
    trades = payload["trades"]
    assert trades["count"] > results.MAX_TRADES and trades["shown"] == results.MAX_TRADES
    assert trades["rows"][-1]["exit_date"] >= trades["rows"][0]["exit_date"]  # the most recent ones
    monthly = payload["monthly"]
    assert monthly["years"] == list(range(2012, 2023)) and all(len(row) == 12 for row in monthly["returns"])


def test_monthly_returns_by_hand():
    index = pd.to_datetime(["2021-01-29", "2021-02-26", "2021-03-31", "2022-01-31"])
    table = results.monthly_returns(pd.Series([110.0, 99.0, 99.0, 148.5], index=index), 100.0)
    assert table["years"] == [2021, 2022]
    assert table["returns"][0][:4] == [pytest.approx(0.1), pytest.approx(-0.1), 0.0, None]
    assert table["returns"][1][0] == pytest.approx(0.5)
    assert table["year"] == [pytest.approx(-0.01), pytest.approx(0.5)]


def test_thinning_keeps_the_recent_window_whole_and_the_trough():
    keep = results.thin_indices(5000, keep=[1234])
    assert keep[0] == 0 and keep[-1] == 4999 and 1234 in keep and len(keep) <= results.MAX_POINTS + 2
    assert (np.diff(keep[-results.RECENT_BARS:]) == 1).all()
    assert (results.thin_indices(100) == np.arange(100)).all()


def test_sweep_payload_has_the_table_best_pair_and_its_full_run():
    params = SweepParams.model_validate({"symbols": ["KO"], "strategy": "sma_cross",
                                         "first": {"start": 5, "stop": 30, "step": 5},
                                         "second": {"start": 40, "stop": 100, "step": 20}})
    payload = run_sweep(params)
    json.dumps(payload, allow_nan=False)
    assert payload["pairs"] == 6 * 4 and payload["axes"] == ["fast", "slow"]
    table = pd.DataFrame(payload["table"])
    best = table.loc[table["sharpe"].idxmax()]
    assert payload["best"] == {"fast": int(best["fast"]), "slow": int(best["slow"])}
    assert payload["best_run"]["params"] == payload["best"]
    assert payload["best_run"]["metrics"]["sharpe"] == pytest.approx(best["sharpe"], abs=1e-4)


def test_form_maps_to_job_params():
    form = {"strategy": "momentum", "symbols": ["AAPL"], "start": "2015-01-02", "end": "2020-12-31",
            "first": 15, "second": "0.01", "commission_per_share": None, "commission_bps": "1",
            "slippage_bps": 2, "initial_capital": 100000, "position_size": 0.5, "max_position_notional": "",
            "allow_short": [], "fill": "same_close"}
    job_type, params = form_params("single", form)
    assert job_type == JOB_BACKTEST
    assert params["strategy"] == {"kind": "momentum", "lookback": 15, "threshold": 0.01}
    assert params["costs"] == {"commission_per_share": 0.0, "commission_bps": 1.0, "slippage_bps": 2}
    assert params["max_position_notional"] is None and params["allow_short"] is False
    BacktestParams.model_validate(params)
    job_type, params = form_params("sweep", {**form, "first_start": 5, "first_stop": 25, "first_step": 5,
                                             "second_start": 0, "second_stop": 0.02, "second_step": 0.01})
    assert job_type == JOB_SWEEP and params["strategy"] == "momentum"
    assert SweepParams.model_validate(params).grid() == ([5, 10, 15, 20, 25], [0, 0.01, 0.02])
    _, bad = form_params("single", {**form, "first": "fifteen"})
    with pytest.raises(ValidationError) as caught:
        jobs._validate(jobs.job_type("backtest"), bad)
    assert caught.value.field == "params.strategy.momentum.lookback"


def test_best_row_ignores_nan_and_inf():
    table = pd.DataFrame({"sharpe": [np.nan, 0.5, np.inf, 0.7], "total_return": [0.1, 0.2, 0.3, 0.4]})
    assert results.best_row(table) == 3
    assert results.best_row(pd.DataFrame({"sharpe": [np.nan], "total_return": [0.1]})) == 0


def test_warm_up_loads_every_kernel():
    from dashapp.backtest.warmup import warm_up

    assert warm_up() > 0


def test_data_bounds_and_symbols():
    first, last = data.date_bounds()
    assert str(first) == "2012-01-03" and str(last) == "2022-12-28"
    assert len(data.symbols()) == 21 and "SP500" in data.symbols()
    frame = data.closes(["XOM", "AAPL"], first, last)
    assert list(frame.columns) == ["XOM", "AAPL"] and engine._prices(frame, None, "next_bar")[0].shape == (2, 2766)
