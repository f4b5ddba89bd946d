"""The retrain job: load -> features -> fit -> validate -> register, each stage reported as progress
("<stage>: <what>") so the Models page shows where a run is. The new version becomes the challenger."""
from __future__ import annotations

import pydantic

from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError
from dashapp.services.jobs import JobContext, JobFailed, JobType, register
from dashapp.services.models.training import RetrainParams


def _run(ctx: JobContext, params: RetrainParams) -> dict:
    from dashapp.services.models import training

    entered: list[str] = []

    def progress(stage: str, pct: float, message: str) -> None:
        if not entered or entered[-1] != stage:  # one log line per stage: the page's stage timeline
            entered.append(stage)
            ctx.log(f"stage {stage}: {message}")
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


class ShadowParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    bars: int = pydantic.Field(5, ge=1, le=2000)


def _shadow(ctx: JobContext, params: ShadowParams) -> dict:
    """Beat's shadow pass: every model with a champion evaluates champion and challenger on its newest bars
    (the same rows for both) and records what it had not recorded yet."""
    from dashapp.services.models import registry, shadow

    recorded = {}
    for row in registry.list_models():
        if row["champion"] is None:
            continue
        try:
            recorded[row["name"]] = shadow.run(row["name"], params.bars)
        except ServiceError as err:
            ctx.log(f"{row['name']}: {err.message}")
    ctx.progress(100, f"{sum(recorded.values())} signals recorded")
    return {"recorded": recorded}


register(JobType("model_shadow", "Shadow evaluation of every champion and challenger", ShadowParams, _shadow,
                 queue="jobs", soft_time_limit=120, time_limit=150, permission=Perm.MODELS_RETRAIN,
                 retry_when_lost=True))
