"""The retrain job: load -> features -> fit -> validate -> register, each stage reported as progress
("<stage>: <what>") so the Models page shows where a run is. The new version becomes the challenger."""
from __future__ import annotations

from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError
from dashapp.services.jobs import JobContext, JobFailed, JobType, register
from dashapp.services.models.training import RetrainParams


def _run(ctx: JobContext, params: RetrainParams) -> dict:
    from dashapp.services.models import training

    def progress(stage: str, pct: float, message: str) -> None:
        ctx.progress(pct, f"{stage}: {message}")

    try:
        return training.retrain(params, actor=_actor(ctx), job_id=ctx.job_id, progress=progress, log=ctx.log)
    except ServiceError as err:  # e.g. too few bars in the window: a message people can act on
        raise JobFailed(err.message) from None


def _actor(ctx: JobContext) -> str:
    from dashapp.services.jobs import get_job

    return get_job(ctx.job_id).created_by


register(JobType("retrain", "Retrain a model (gradient boosting, validation gates)", RetrainParams, _run,
                 queue="jobs", soft_time_limit=600, time_limit=660, permission=Perm.MODELS_RETRAIN,
                 retry_when_lost=False))
