"""The export job: a dataset in a format, written under <instance>/exports/<job_id>.<ext>
(dashapp.exports does the work)."""
from __future__ import annotations

from dashapp.exports.params import ExportParams
from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobType, register


def _export(ctx: JobContext, params: ExportParams) -> dict:
    from dashapp.exports.service import run_export_job

    return run_export_job(ctx, params)


# A million-row Excel export takes 5-7 minutes on a busy 2-core machine (docs/BENCHMARKS.md); the
# limits leave room for a slower database.
register(JobType("export", "Export", ExportParams, _export, queue="jobs", soft_time_limit=1800, time_limit=1860,
                 permission=Perm.EXPORTS_DOWNLOAD, max_attempts=2, retry_when_lost=True))
