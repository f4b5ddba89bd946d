"""The compliance report job: one of the RTS 28-style venue report, the Rule 606-style routing report
or the transaction records export, written as files (dashapp.services.governance.compliance_runs)."""
from __future__ import annotations

from datetime import date

import pydantic

from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobType, register


class ComplianceParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    report: pydantic.constr(pattern=r"^(rts28|rule606|transactions)$")
    start: date | None = None  # rts28, transactions: inclusive dates (at most 366 days)
    end: date | None = None
    quarter: pydantic.constr(pattern=r"^\d{4}Q[1-4]$") | None = None  # rule606
    format: pydantic.constr(pattern=r"^(csv|parquet)$") = "csv"  # transactions

    @pydantic.model_validator(mode="after")
    def _needs(self):
        if self.report == "rule606" and not self.quarter:
            raise ValueError("quarter is required for the Rule 606-style report (e.g. 2026Q2)")
        if self.report != "rule606" and (self.start is None or self.end is None):
            raise ValueError("start and end dates are required")
        if self.start and self.end and (self.end < self.start or (self.end - self.start).days > 365):
            raise ValueError("end must be on or after start, at most 366 days later")
        return self


def _run(ctx: JobContext, params: ComplianceParams) -> dict:
    from dashapp.services.governance import compliance_runs

    result = compliance_runs.produce(ctx.job_id, params.report, start=params.start, end=params.end,
                                     quarter=params.quarter, fmt=params.format, progress=ctx.progress)
    for item in result["files"]:
        ctx.log(f"wrote {item['name']} ({item['size']:,} bytes, sha256 {item['sha256'][:12]})")
    ctx.progress(100, f"{result['label']}: {len(result['files'])} files")
    return result


register(JobType("compliance_report", "Compliance report", ComplianceParams, _run, queue="reports",
                 soft_time_limit=600, time_limit=660, permission=Perm.COMPLIANCE_VIEW, max_attempts=2,
                 retry_when_lost=True))
