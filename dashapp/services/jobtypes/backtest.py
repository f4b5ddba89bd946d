"""The backtest jobs: one strategy run (`backtest`) and a parameter grid (`backtest_sweep`), both on
the bundled daily closes. The work is in dashapp.backtest.service; these handlers only wire the
job's progress and log to it."""
from __future__ import annotations

from dashapp.backtest.params import BacktestParams, SweepParams
from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobFailed, JobType, register


def _backtest(ctx: JobContext, params: BacktestParams) -> dict:
    from dashapp.backtest import service

    try:
        result = service.run_backtest(params, progress=ctx.progress, log=ctx.log)
    except ValueError as exc:  # the engine's own checks: bad data or parameters that passed validation
        raise JobFailed(f"the backtest could not run: {exc}") from exc
    ctx.progress(100, "done")
    return result


def _sweep(ctx: JobContext, params: SweepParams) -> dict:
    from dashapp.backtest import service

    try:
        result = service.run_sweep(params, progress=ctx.progress, log=ctx.log)
    except ValueError as exc:
        raise JobFailed(f"the sweep could not run: {exc}") from exc
    ctx.progress(100, "done")
    return result


register(JobType("backtest", "Backtest", BacktestParams, _backtest, queue="jobs", soft_time_limit=120,
                 time_limit=150, permission=Perm.JOBS_LAUNCH, retry_when_lost=True))
register(JobType("backtest_sweep", "Backtest parameter sweep", SweepParams, _sweep, queue="jobs",
                 soft_time_limit=600, time_limit=660, permission=Perm.JOBS_LAUNCH, retry_when_lost=True))
