"""The health-check job: proves a worker can reach the database and the broker."""
from __future__ import annotations

import time

import pydantic
from flask import current_app

from dashapp.services.jobs import JobContext, JobFailed, JobType, register


class HealthCheckParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    # Holds the worker this long after the checks (bounded): exercises progress and cancel.
    sleep_seconds: float = pydantic.Field(0.0, ge=0, le=120)


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
        ctx.sleep(params.sleep_seconds, 50, 95)
    result = {"checks": checks, "database_kind": settings.sqlalchemy_url.split("://")[0],
              "broker_kind": settings.broker_kind}
    failed = [f"{name}: {check['detail']}" for name, check in checks.items() if not check["ok"]]
    if failed:
        raise JobFailed("; ".join(failed), result)
    ctx.progress(100, "all checks passed")
    return result


register(JobType("health_check", "Health check", HealthCheckParams, _health_check, queue="jobs",
                 soft_time_limit=150, time_limit=180))
