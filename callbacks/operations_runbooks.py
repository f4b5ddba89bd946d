"""Operations -> Runbooks callbacks: thin. Every action goes through dashapp.services.ops.runbooks,
which checks the role again, validates the typed params, stores the dry run, routes approval through
the approvals service, audits, and runs the action; a ServiceError becomes an in-page message."""
from __future__ import annotations

import json

from dash import Input, Output, State, html, no_update

from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import approvals
from dashapp.services.errors import ServiceError
from dashapp.services.ops import runbook_actions, runbooks
from layouts.common import empty_state
from layouts.operations_runbooks import NO_PENDING, PARAM_INPUTS, notice, params_text, run_detail
from layouts.operations_tools_ids import OpsRunbooks as R

_PARAMS = [State(R.ACTION, "value"), State(R.ENGINE_ID, "value"), State(R.QUEUE, "value"), State(R.JOB_ID, "value"),
           State(R.TOKEN_ID, "value"), State(R.TABLE, "value"), State(R.OPERATION, "value")]
_SHOWN, _HIDDEN = {"display": "block"}, {"display": "none"}


def _actor() -> approvals.Actor:
    return approvals.Actor(current_username(), current_role())


def _params(action, *values) -> tuple[str, dict]:
    """The selected action and only the inputs its params model declares."""
    spec = runbook_actions.action(action)
    given = dict(zip(PARAM_INPUTS, values))
    return spec.name, {name: given[name] for name in spec.params.model_fields if given.get(name) not in (None, "")}


def _key(action, params) -> str:
    return json.dumps([action, params], sort_keys=True)


def _secret(outcome) -> html.Div | None:
    if not outcome.secret:
        return None
    return notice(["New API token secret (shown once, copy it now): ", html.Code(outcome.secret, id=R.SECRET)],
                  element_id="opr-secret-notice")


def _said(outcome) -> list:
    run = outcome.run
    text = {"requested": f"Run #{run.id} requested: it waits for a second person's approval.",
            "running": f"Run #{run.id} is running (job {str(run.job_id or '')[:8]}); follow it under Runs.",
            "succeeded": f"Run #{run.id} succeeded: {run.output[:300]}",
            "failed": f"Run #{run.id} failed: {run.output[:300]}"}.get(run.state, f"Run #{run.id} is {run.state}.")
    return [notice(text, ok=run.state != "failed", element_id="opr-run-notice"), _secret(outcome)]


def register() -> None:
    from workers.queue_control import current_ports

    runbooks.set_port_factory(current_ports)

    @guarded_callback(Perm.RUNBOOK_REQUEST, *[Output(f"{R.FIELDS}-{p}", "style") for p in PARAM_INPUTS],
                      Output(R.REQUEST, "children"), Input(R.ACTION, "value"))
    def show_fields(action):
        spec = runbook_actions.ACTIONS.get(action)
        wanted = set(spec.params.model_fields) if spec else set()
        label = "Request approval" if spec is None or spec.approval_required else "Run now"
        return (*[_SHOWN if p in wanted else _HIDDEN for p in PARAM_INPUTS], label)

    @guarded_callback(Perm.RUNBOOK_REQUEST, Output(R.DRY_OUTPUT, "children"), Output(R.DRY_KEY, "data"),
                      Input(R.DRY_RUN, "n_clicks"), *_PARAMS, prevent_initial_call=True)
    def dry_run(_n, *values):
        try:
            action, params = _params(*values)
            text = runbooks.dry_run(action, params, _actor())
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="opr-dry-error"), None
        return html.Div([html.Strong("Dry run: "), text], className="small border rounded p-2",
                        id="opr-dry-text"), _key(action, params)

    @guarded_callback(Perm.RUNBOOK_REQUEST, Output(R.REQUEST, "disabled"), Input(R.DRY_KEY, "data"),
                      Input(R.ACTION, "value"), Input(R.ENGINE_ID, "value"), Input(R.QUEUE, "value"),
                      Input(R.JOB_ID, "value"), Input(R.TOKEN_ID, "value"), Input(R.TABLE, "value"),
                      Input(R.OPERATION, "value"))
    def request_ready(dry_key, *values):
        try:
            return dry_key != _key(*_params(*values))  # the dry run shown must be for these very inputs
        except ServiceError:
            return True

    @guarded_callback(Perm.RUNBOOK_REQUEST, Output(R.MESSAGE, "children"), Output(R.CHANGED, "data"),
                      Output(R.DRY_KEY, "data", allow_duplicate=True),
                      Input(R.REQUEST, "n_clicks"), State(R.DRY_KEY, "data"), State(R.REASON, "value"),
                      State(R.INCIDENT, "value"), *_PARAMS, prevent_initial_call=True)
    def request(_n, dry_key, reason, incident, *values):
        try:
            action, params = _params(*values)
            if dry_key != _key(action, params):
                return notice("run the dry run for these inputs first", ok=False), no_update, no_update
            outcome = runbooks.request_run(action, params, _actor(), reason or "", incident)
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="opr-request-error"), no_update, no_update
        return _said(outcome), outcome.run.id, None

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(R.HISTORY, "rowData"), Input(R.INTERVAL, "n_intervals"),
                      Input(R.CHANGED, "data"), State(R.HISTORY, "rowData"))
    def history(_n, _changed, current):
        rows = [{**runbooks.run_dict(r), "params": json.dumps(r.params)} for r in runbooks.list_runs()]
        rows = [{k: v for k, v in row.items() if k not in ("dry_run", "output")} for row in rows]
        return no_update if rows == current else rows

    @guarded_callback(Perm.RUNBOOK_REQUEST, Output(R.PENDING, "options"), Output(R.PENDING_EMPTY, "children"),
                      Input(R.INTERVAL, "n_intervals"), Input(R.CHANGED, "data"), State(R.PENDING, "options"))
    def pending(_n, _changed, current):
        actor = _actor()
        options = [{"label": f"#{run.id} {row['action']} ({params_text(run.params)}) · by {run.requested_by}: "
                             f"{run.reason}"
                             + ("" if row["can_decide"] else " (yours, or not yours to approve)"),
                    "value": run.id, "disabled": not row["can_decide"]}
                   for run in runbooks.list_runs() if run.state == "requested"
                   for row in [runbooks.run_dict(run, actor)]]
        if options == current:
            return no_update, no_update
        return options, (None if options else empty_state(NO_PENDING))

    @guarded_callback(Perm.RUNBOOK_APPROVE, Output(R.DECISION_MESSAGE, "children"),
                      Output(R.CHANGED, "data", allow_duplicate=True), Input(R.APPROVE, "n_clicks"),
                      State(R.PENDING, "value"), prevent_initial_call=True)
    def approve(_n, run_id):
        try:
            if not run_id:
                return notice("choose a request to approve first", ok=False), no_update
            outcome = runbooks.approve_run(int(run_id), _actor())
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="opr-approve-error"), no_update
        return _said(outcome), f"approved-{outcome.run.id}"

    @guarded_callback(Perm.RUNBOOK_APPROVE, Output(R.DECISION_MESSAGE, "children", allow_duplicate=True),
                      Output(R.CHANGED, "data", allow_duplicate=True), Input(R.REJECT, "n_clicks"),
                      State(R.PENDING, "value"), State(R.DECISION_NOTE, "value"), prevent_initial_call=True)
    def reject(_n, run_id, note):
        try:
            if not run_id:
                return notice("choose a request to reject first", ok=False), no_update
            run = runbooks.reject_run(int(run_id), _actor(), note or "")
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="opr-reject-error"), no_update
        return notice(f"Run #{run.id} rejected."), f"rejected-{run.id}"

    @guarded_callback(Perm.VIEW_OPERATIONS, Output(R.RUN_DETAIL, "children"), Input(R.HISTORY, "selectedRows"),
                      Input(R.INTERVAL, "n_intervals"))
    def show_run(selected, _n):
        if not selected:
            return empty_state("Click a run to see its dry run and output.")
        try:
            return run_detail(runbooks.run_dict(runbooks.get_run(int(selected[0]["id"]))))
        except (ServiceError, TypeError, ValueError, KeyError):
            return empty_state("That run is gone.")

    @guarded_callback(Perm.RUNBOOK_REQUEST, Output(R.START, "style"), Input(R.HISTORY, "selectedRows"))
    def show_start(selected):
        return {"display": "inline-block"} if selected and selected[0].get("state") == "approved" else _HIDDEN

    @guarded_callback(Perm.RUNBOOK_REQUEST, Output(R.MESSAGE, "children", allow_duplicate=True),
                      Output(R.CHANGED, "data", allow_duplicate=True), Input(R.START, "n_clicks"),
                      State(R.HISTORY, "selectedRows"), prevent_initial_call=True)
    def start(_n, selected):
        try:
            if not selected:
                return notice("choose an approved run first", ok=False), no_update
            outcome = runbooks.start(int(selected[0]["id"]), _actor())
        except (ServiceError, TypeError, ValueError, KeyError) as err:
            return notice(getattr(err, "message", "choose an approved run"), ok=False), no_update
        return _said(outcome), f"started-{outcome.run.id}"
