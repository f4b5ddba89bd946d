"""Backtests as a service: run a job's parameters (reporting progress), turn the page's form into
job parameters, and list the runs the page shows. No Dash, no Celery."""
from __future__ import annotations

import time
from typing import Callable

from dashapp.backtest import data, engine, results
from dashapp.backtest.params import BacktestParams, SweepParams
from dashapp.backtest.strategies import STRATEGIES, strategy
from dashapp.services import jobs

JOB_BACKTEST = "backtest"
JOB_SWEEP = "backtest_sweep"
JOB_TYPES = (JOB_BACKTEST, JOB_SWEEP)
BEST_BY = "sharpe"
Reporter = Callable[[float, str], None]


def _quiet(*_args) -> None:
    return None


def run_backtest(params: BacktestParams, progress: Reporter = _quiet, log: Callable[[str], None] = _quiet) -> dict:
    sdef = strategy(params.strategy.kind)
    progress(5, "loading daily closes")
    closes = data.closes(params.symbols, params.start, params.end)
    progress(10, f"{sdef.label} on {len(params.symbols)} symbol(s), {len(closes)} bars")
    result = engine.run_backtest(closes, sdef.kind, params.strategy_params, params.run_config(),
                                 progress=lambda f, m: progress(10 + 75 * f, m))
    progress(90, "summarising")
    payload = results.backtest_payload(result, params.model_dump(mode="json"))
    m = payload["metrics"]
    log(f"{sdef.label} {result.params} on {', '.join(params.symbols)} {payload['start']}..{payload['end']}: "
        f"{m['trades']} closed trades, final equity {m['final_equity']:,.2f}, Sharpe {_fmt(m['sharpe'])}")
    return payload


def run_sweep(params: SweepParams, progress: Reporter = _quiet, log: Callable[[str], None] = _quiet) -> dict:
    sdef = strategy(params.strategy)
    progress(3, "loading daily closes")
    closes = data.closes(params.symbols, params.start, params.end)
    first, second = params.grid()
    config = params.run_config()
    pairs = len(engine.parameter_grid(sdef.kind, first, second)[0])
    progress(5, f"{pairs} parameter pairs x {len(params.symbols)} symbol(s), {len(closes)} bars")
    started = time.perf_counter()
    sweep = engine.run_sweep(closes, sdef.kind, first, second, config, chunk_size=max(100, -(-pairs // 10)),
                             progress=lambda f, m: progress(5 + 80 * f, m))
    elapsed = time.perf_counter() - started
    row = sweep.table.loc[results.best_row(sweep.table, BEST_BY)]
    best_params = {p.name: p.kind(row[p.name]) for p in sdef.params}
    progress(88, f"re-running the best pair {best_params} in full")
    best = engine.run_backtest(closes, sdef.kind, best_params, config)
    payload = results.sweep_payload(sweep, best, BEST_BY, params.model_dump(mode="json"), elapsed)
    log(f"{sdef.label} sweep: {payload['backtests']} backtests in {elapsed:.2f} s "
        f"({payload['backtests_per_s']:,.0f}/s); best by {BEST_BY}: {best_params}")
    return payload


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


# --- the page's form -------------------------------------------------------------------------


def _number(value):
    """A form value as a number when it is one; anything else goes through for pydantic to name."""
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            return float(text)
        except ValueError:
            return value
    return value


def form_params(mode: str, form: dict) -> tuple[str, dict]:
    """(job type, raw params) from the launch form's values; the job service validates them."""
    kind = form.get("strategy") or "sma_cross"
    sdef = STRATEGIES.get(kind)
    costs = {"commission_per_share": _number(form.get("commission_per_share")) or 0.0,
             "commission_bps": _number(form.get("commission_bps")) or 0.0,
             "slippage_bps": _number(form.get("slippage_bps")) or 0.0}
    common = {"symbols": form.get("symbols") or [], "start": form.get("start"), "end": form.get("end"),
              "costs": costs, "initial_capital": _number(form.get("initial_capital")),
              "position_size": _number(form.get("position_size")),
              "max_position_notional": _number(form.get("max_position_notional")) or None,
              "allow_short": bool(form.get("allow_short")), "fill": form.get("fill") or "next_bar"}
    if mode == "sweep":
        axes = {name: {"start": _number(form.get(f"{name}_start")), "stop": _number(form.get(f"{name}_stop")),
                       "step": _number(form.get(f"{name}_step"))} for name in ("first", "second")}
        return JOB_SWEEP, {**common, "strategy": kind, **axes}
    names = sdef.names if sdef else ("first", "second")
    strat = {"kind": kind, names[0]: _number(form.get("first")), names[1]: _number(form.get("second"))}
    return JOB_BACKTEST, {**common, "strategy": strat}


# --- the runs list ---------------------------------------------------------------------------


def _describe(job) -> tuple[str, str, str]:
    p = job.params or {}
    if job.job_type == JOB_SWEEP:
        sdef = STRATEGIES.get(p.get("strategy"))
        what = f"{sdef.label if sdef else p.get('strategy')} sweep"
    else:
        s = p.get("strategy") or {}
        sdef = STRATEGIES.get(s.get("kind"))
        what = f"{sdef.label} " + ", ".join(f"{n}={s.get(n)}" for n in sdef.names) if sdef else str(s)
    symbols = p.get("symbols") or []
    shown = ", ".join(symbols[:4]) + (f" +{len(symbols) - 4}" if len(symbols) > 4 else "")
    return what, shown, f"{p.get('start', '')} → {p.get('end', '')}"


def runs(limit: int = 100) -> list[dict]:
    """Backtest and sweep jobs, newest first, as rows for the runs grid."""
    found = [job for name in JOB_TYPES for job in jobs.list_jobs(job_type_name=name, limit=limit)]
    found.sort(key=lambda j: j.created_at, reverse=True)
    rows = []
    for job in found[:limit]:
        what, symbols, period = _describe(job)
        row = jobs.summary(job)
        rows.append({**row, "kind": "Sweep" if job.job_type == JOB_SWEEP else "Backtest", "what": what,
                     "symbols": symbols, "period": period})
    return rows


def run_detail(job_id: str) -> dict:
    """One run for the result view: the job's detail (state, progress, message, error, result)."""
    job = jobs.get_job(job_id)
    if job.job_type not in JOB_TYPES:
        from dashapp.services.errors import NotFound

        raise NotFound(f"job {job_id} is a {job.job_type}, not a backtest", field="job_id")
    return jobs.detail(job)
