"""The retention job: enforce the retention policies (every enabled kind, or the kinds named),
archiving to Parquet before deleting, in bounded batches (dashapp.services.governance.retention).
Beat launches it daily; RETENTION_MANAGE launches it from the Compliance page."""
from __future__ import annotations

import pydantic

from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobType, register

Kind = pydantic.constr(pattern=r"^(orders|fills|quotes|engine_events|audit|exports|report_files)$")


class RetentionParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    kinds: list[Kind] = pydantic.Field(default_factory=list, max_length=7)  # empty: every enabled policy
    batch_size: int = pydantic.Field(5000, ge=1, le=50_000)


def _run(ctx: JobContext, params: RetentionParams) -> dict:
    from dashapp.services import jobs
    from dashapp.services.governance import retention

    actor = jobs.get_job(ctx.job_id).created_by
    ctx.progress(1, "enforcing retention")
    runs = retention.run_all(actor, batch_size=params.batch_size, job_id=ctx.job_id,
                             kinds=list(dict.fromkeys(params.kinds)) or None,
                             progress=lambda message: ctx.progress(50, message))
    summary = {run.kind: {"run": run.id, "deleted": run.deleted, "held": run.held, "parts": len(run.files)}
               for run in runs}
    for kind, item in summary.items():
        ctx.log(f"{kind}: {item['deleted']:,} deleted, {item['held']:,} kept by legal holds, {item['parts']} parts")
    ctx.progress(100, f"{sum(i['deleted'] for i in summary.values()):,} records archived and deleted")
    return {"runs": summary}


# Batches commit one by one, and a batch archived but not deleted is archived again next time, so
# a run killed half-way is safe to start again.
register(JobType("retention", "Retention", RetentionParams, _run, queue="jobs", soft_time_limit=3000,
                 time_limit=3060, permission=Perm.RETENTION_MANAGE, max_attempts=2, retry_when_lost=True))
