"""The health-check job: proves a worker can reach the database and the broker."""
from __future__ import annotations

import time
from typing import Literal

import pydantic
from flask import current_app

from dashapp.services.jobs import JobContext, JobFailed, JobType, register


class HealthCheckParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    # Holds the worker this long after the checks (bounded): exercises progress and each way a
    # cancel stops a job (workers.heartbeat): "reporting" progress every second (the handler sees
    # the cancel itself), "quiet" Python with no reports (the worker interrupts it), or one
    # "native" call, as a long kernel would be (the worker kills its own process after a grace).
    sleep_seconds: float = pydantic.Field(0.0, ge=0, le=120)
    hold: Literal["reporting", "quiet", "native"] = "reporting"


def _health_check(ctx: JobContext, params: HealthCheckParams) -> dict:
    from dashapp.observability import check_broker, check_database

    settings = current_app.config["COCKPIT_SETTINGS"]
    checks = {}
    for pct, name, probe in ((10, "database", check_database), (45, "broker", lambda: check_broker(settings))):
        ctx.progress(pct, f"checking the {name}")
        started = time.perf_counter()
        problem = probe()
        checks[name] = {"ok": problem is None, "ms": round((time.perf_counter() - started) * 1000, 2),
                        "detail": problem or "ok"}
        ctx.log(f"{name}: {problem or 'ok'} ({checks[name]['ms']} ms)")
    if params.sleep_seconds:
        _hold(ctx, params)
    result = {"checks": checks, "database_kind": settings.sqlalchemy_url.split("://")[0],
              "broker_kind": settings.broker_kind}
    failed = [f"{name}: {check['detail']}" for name, check in checks.items() if not check["ok"]]
    if failed:
        raise JobFailed("; ".join(failed), result)
    ctx.progress(100, "all checks passed")
    return result


def _hold(ctx: JobContext, params: HealthCheckParams) -> None:
    if params.hold == "reporting":
        ctx.sleep(params.sleep_seconds, 50, 95)
        return
    ctx.progress(50, f"holding ({params.hold}) for {params.sleep_seconds:g} s")
    if params.hold == "native":
        time.sleep(params.sleep_seconds)  # one C call: no Python line runs until it returns
        return
    deadline = time.monotonic() + params.sleep_seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


register(JobType("health_check", "Health check", HealthCheckParams, _health_check, queue="jobs",
                 soft_time_limit=150, time_limit=180, retry_when_lost=True))
