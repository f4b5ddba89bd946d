"""The stress-test job: every scenario on the current book ("Run all" on the Risk page)."""
from __future__ import annotations

import pydantic

from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobType, register


class StressParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


def _run(ctx: JobContext, params: StressParams) -> dict:
    from dashapp.services.risk import stress

    ctx.progress(5, "loading the book")
    result = stress.run_all(progress=lambda pct, name: ctx.progress(5 + 0.9 * pct, name))
    failed = [s["name"] for s in result["scenarios"] if s["result"] == "FAIL"]
    ctx.log(f"{len(result['scenarios'])} scenarios, {len(failed)} FAIL" + (f": {', '.join(failed)}" if failed else ""))
    ctx.progress(100, "done")
    return result


register(JobType("stress_test", "Stress test (all scenarios)", StressParams, _run, queue="jobs",
                 soft_time_limit=300, time_limit=330, permission=Perm.JOBS_LAUNCH, retry_when_lost=True))
