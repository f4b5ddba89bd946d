"""Backtest jobs through the job service on SQLite and PostgreSQL, no worker: launched (validated,
permission-checked), claimed, run by the registry's handler with a JobContext, stored; and the
backtest-vs-live comparison reading real P&L snapshots."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from dashapp.backtest import live, service
from dashapp.extensions import db
from dashapp.services import jobs
from dashapp.services.errors import PermissionDenied, ValidationError
from models import Job, utcnow

pytestmark = pytest.mark.timeout(300)

BACKTEST = {"symbols": ["AAPL", "MSFT"], "start": "2015-01-02", "end": "2020-12-31",
            "strategy": {"kind": "momentum", "lookback": 20, "threshold": 0.002},
            "costs": {"commission_per_share": 0.005, "commission_bps": 0.5, "slippage_bps": 1.0},
            "initial_capital": 2_000_000, "position_size": 0.9}
SWEEP = {"symbols": ["JPM"], "start": "2014-01-02", "end": "2021-12-31", "strategy": "sma_cross",
         "first": {"start": 5, "stop": 40, "step": 5}, "second": {"start": 50, "stop": 200, "step": 50}}


class FakePort:
    def __init__(self):
        self.submitted = []

    def submit(self, job_id, queue, soft_time_limit, time_limit):
        self.submitted.append((job_id, queue))

    def revoke(self, job_id):
        pass

    def active_job_ids(self):
        return set()


class RecordingContext(jobs.JobContext):
    """The real JobContext (it writes progress to the job row), remembering what it reported."""

    def __init__(self, job_id, attempt):
        super().__init__(job_id, attempt)
        self.reported = []

    def progress(self, pct, message=""):
        self.reported.append(pct)
        super().progress(pct, message)


def _fresh(job_id) -> Job:
    db.session.expire_all()
    return jobs.get_job(job_id)


def test_backtest_job_runs_through_the_registry_and_stores_its_result(server):
    port = FakePort()
    job = jobs.launch("tina", "trader", "backtest", BACKTEST, port=port)
    assert port.submitted == [(job.id, "jobs")] and job.state == "queued"
    claimed = jobs.mark_running(job.id, "test")
    spec = jobs.job_types()["backtest"]
    ctx = RecordingContext(claimed.id, claimed.attempts)
    result = spec.handler(ctx, spec.params.model_validate(claimed.params))
    assert jobs.succeed(job.id, result, attempt=claimed.attempts)

    stored = _fresh(job.id)
    assert stored.state == "succeeded" and stored.progress == 100.0
    assert ctx.reported == sorted(ctx.reported) and len(ctx.reported) >= 5 and ctx.reported[-1] == 100
    assert "closed trades, final equity" in stored.log
    assert stored.result == json.loads(json.dumps(result))  # survives the JSON column as it went in
    r = stored.result
    assert r["kind"] == "backtest" and r["symbols"] == ["AAPL", "MSFT"] and r["live_kind"] == "momentum"
    assert r["start"] == "2015-01-02" and r["end"] == "2020-12-31"
    assert r["metrics"]["trades"] > 100 and r["trades"]["count"] >= r["metrics"]["trades"]
    assert set(r["metrics"]) >= {"cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown", "win_rate",
                                 "profit_factor"}


def test_sweep_job_runs_to_succeeded_through_jobs_run(server):
    job = jobs.launch("rita", "risk", "backtest_sweep", SWEEP, port=FakePort())
    claimed = jobs.mark_running(job.id, "test")
    assert jobs.run(claimed) == "succeeded"
    stored = _fresh(job.id)
    r = stored.result
    assert r["kind"] == "sweep" and r["pairs"] == 8 * 4 and r["backtests_per_s"] > 0
    assert len(r["table"]["sharpe"]) == 32 and r["best_run"]["params"] == r["best"]
    assert "best by sharpe" in stored.log


def test_invalid_params_are_422_naming_the_field_and_store_nothing(server):
    bad = {**BACKTEST, "strategy": {"kind": "sma_cross", "fast": 30, "slow": 10}}
    with pytest.raises(ValidationError) as caught:
        jobs.launch("tina", "trader", "backtest", bad, port=FakePort())
    assert caught.value.http_status == 422 and caught.value.field == "params.strategy.sma_cross.slow"
    assert jobs.list_jobs() == []


def test_viewers_cannot_launch_backtests(server):
    with pytest.raises(PermissionDenied):
        jobs.launch("val", "viewer", "backtest_sweep", SWEEP, port=FakePort())


def test_runs_lists_backtests_and_sweeps_only(server):
    port = FakePort()
    jobs.launch("tina", "trader", "backtest", BACKTEST, port=port)
    jobs.launch("tina", "trader", "backtest_sweep", SWEEP, port=port)
    jobs.launch("tina", "trader", "health_check", {}, port=port)
    rows = service.runs()
    assert [r["kind"] for r in rows] == ["Sweep", "Backtest"]
    assert rows[1]["what"] == "Momentum lookback=20, threshold=0.002" and rows[1]["symbols"] == "AAPL, MSFT"
    assert rows[0]["what"] == "SMA crossover sweep" and rows[0]["period"] == "2014-01-02 → 2021-12-31"
    assert service.run_detail(rows[0]["id"])["state"] == "queued"


def test_live_comparison_says_plainly_when_there_is_no_live_data(api):
    result = service.run_backtest(service.BacktestParams.model_validate(BACKTEST))
    view = live.comparison(result, days=30)
    assert view["available"] is False
    assert "No live data yet for Momentum: the paper engine has recorded no P&L snapshots for MOM" in view["reason"]
    assert view["backtest"]["y"][0] == 1.0 and view["backtest"]["to"] == "2020-12-31"
    sma = service.run_backtest(service.BacktestParams.model_validate({**BACKTEST, "strategy": {"kind": "sma_cross"}}))
    assert "does not run SMA crossover" in live.comparison(sma)["reason"]


def test_live_comparison_normalises_both_curves_over_the_window(api):
    now = utcnow()
    snaps = [{"strategy": "MOM", "ts": (now - timedelta(hours=h)).isoformat(), "equity": e}
             for h, e in ((50, 900_000.0), (3, 1_000_000.0), (2, 1_050_000.0), (1, 1_020_000.0))]
    snaps.append({"strategy": "MR", "ts": (now - timedelta(hours=2)).isoformat(), "equity": 5.0})  # other strategy
    assert api("pnl_snapshots", snaps).status_code == 200
    result = service.run_backtest(service.BacktestParams.model_validate(BACKTEST))
    view = live.comparison(result, days=1)  # the 50-hour-old snapshot is outside the window
    assert view["available"] is True and view["live_codes"] == "MOM"
    assert view["live"]["y"] == pytest.approx([1.0, 1.05, 1.02])
    assert view["live"]["x"] == pytest.approx([-2 / 24, -1 / 24, 0.0], abs=1e-3)
    assert view["live"]["return"] == pytest.approx(0.02) and view["live"]["max_drawdown"] == pytest.approx(
        1.02 / 1.05 - 1)
    bt = view["backtest"]
    assert bt["x"][-1] == 0.0 and bt["x"][0] >= -1.0 and bt["y"][0] == 1.0


def test_an_engine_error_fails_the_job_with_a_message(server, monkeypatch):
    from dashapp.backtest import engine

    def broken(*_args, **_kwargs):
        raise ValueError("closes must be finite and positive (fill or drop missing bars first)")

    monkeypatch.setattr(engine, "run_backtest", broken)
    job = jobs.launch("tina", "trader", "backtest", BACKTEST, port=FakePort())
    assert jobs.run(jobs.mark_running(job.id, "test")) == "failed"
    stored = _fresh(job.id)
    assert stored.error == "the backtest could not run: closes must be finite and positive (fill or drop missing " \
                           "bars first)"
