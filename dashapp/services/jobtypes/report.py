"""The report job: build one report (schedule slot or "Run now"), archive its files, try to deliver it.
A delivery that fails is left to the periodic retry (dashapp.services.delivery): the job succeeds
once the report is archived."""
from __future__ import annotations

import pydantic

from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobType, register
from dashapp.services.schedules import EMAIL_PATTERN

# Same values as models.reports.REPORT_TYPES / dashapp.reports.REPORT_KINDS (checked in tests).
ReportType = pydantic.constr(pattern=r"^(risk_daily|best_execution)$")
Format = pydantic.constr(pattern=r"^(pdf|xlsx)$")
Email = pydantic.constr(pattern=EMAIL_PATTERN, max_length=254)


class ReportParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    report_type: ReportType
    formats: list[Format] = pydantic.Field(default_factory=lambda: ["pdf"], min_length=1, max_length=2)
    recipients: list[Email] = pydantic.Field(default_factory=list, max_length=50)
    schedule_id: int | None = None
    schedule_name: str | None = pydantic.Field(None, max_length=120)
    slot: str | None = pydantic.Field(None, max_length=64)
    scheduled_for: str | None = None
    timezone: str = "UTC"
    lookback_hours: int = pydantic.Field(24, ge=1, le=24 * 366)


def _run(ctx: JobContext, params: ReportParams) -> dict:
    from dashapp.reports import ReportRequest
    from dashapp.reports.archive import produce
    from dashapp.services import delivery
    from models import utcnow

    as_of = utcnow().replace(microsecond=0)
    ctx.log(f"{params.report_type} for {params.schedule_name or 'an ad-hoc run'}"
            + (f", slot {params.slot}" if params.slot else ""))
    request = ReportRequest(as_of=as_of, lookback_hours=params.lookback_hours, timezone=params.timezone,
                            title_note=params.schedule_name or "")
    run = produce(params.report_type, list(dict.fromkeys(params.formats)), request, recipients=params.recipients,
                  schedule_id=params.schedule_id, slot=params.slot, job_id=ctx.job_id, progress=ctx.progress)
    files = [f"{item['name']} ({item['size']:,} bytes, sha256 {item['sha256'][:12]})" for item in run.files or []]
    ctx.log(f"archived as report {run.id}: {'; '.join(files)}")
    ctx.progress(85, "delivering")
    state = delivery.deliver(run.id)
    ctx.log(f"delivery: {state}")
    ctx.progress(100, f"archived; delivery {state}")
    return {"report_run_id": run.id, "files": run.files, "delivery_state": state}


register(JobType("report", "Report", ReportParams, _run, queue="reports", soft_time_limit=300, time_limit=360,
                 permission=Perm.REPORTS_MANAGE, max_attempts=3))
