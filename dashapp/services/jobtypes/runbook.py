"""Runbook actions that run on a worker (`mode="job"` in dashapp/services/ops/runbook_actions.py):
one job type per action, so each has its own time bound; the job carries the run id only. The run
was moved to `running` by runbooks.start (after its approval); the handler runs the action, puts
its output in the job's log too, and stores the run's end (and the incident timeline entry)."""
from __future__ import annotations

import pydantic

from dashapp.security.permissions import Perm
from dashapp.services.jobs import JobContext, JobFailed, JobType, register
from dashapp.services.ops.runbook_actions import ACTIONS, RunContext


class RunbookJobParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    run_id: int = pydantic.Field(ge=1, le=2**31 - 1)


def _handler(name: str):
    def run_action(ctx: JobContext, params: RunbookJobParams) -> dict:
        from dashapp.services.ops import runbooks

        run = runbooks.get_run(params.run_id)
        if run.action != name or run.state != "running":
            raise JobFailed(f"runbook run #{run.id} is {run.state} ({run.action}): not this job's to run")
        ctx.progress(10, f"running {ACTIONS[name].title}")
        state, output = runbooks.execute(run, ACTIONS[name], RunContext(run.id, run.requested_by, run.approved_by))
        for line in output.splitlines()[:50]:
            ctx.log(line)
        runbooks.finish(run.id, state, output)
        if state != "succeeded":
            raise JobFailed(output[:2000], {"run_id": run.id, "state": state})
        return {"run_id": run.id, "state": state, "output": output[:2000]}

    return run_action


for _spec in ACTIONS.values():
    if _spec.mode == "job":
        register(JobType(f"runbook.{_spec.name}", f"Runbook: {_spec.title}", RunbookJobParams, _handler(_spec.name),
                         queue="jobs", soft_time_limit=_spec.timeout_seconds, time_limit=_spec.timeout_seconds + 30,
                         permission=Perm.RUNBOOK_REQUEST, max_attempts=1))
