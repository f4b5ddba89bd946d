"""Compliance page callbacks (reports and retention): thin. Viewing and running compliance reports need
COMPLIANCE_VIEW; policies and retention runs RETENTION_MANAGE, checked at the edge and again by the
job platform (the retention job's permission). A ServiceError becomes an alert naming the field."""
from __future__ import annotations

from urllib.parse import quote

from dash import Input, Output, State, ctx, no_update

from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import jobs
from dashapp.services.errors import ServiceError, ValidationError
from layouts.ids_compliance import Compliance as C
from layouts.mfa_prompt import refusal
from layouts.reports import notice


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "–"


def report_rows() -> list[dict]:
    from dashapp.services.governance import compliance_runs

    rows = []
    for job in compliance_runs.list_runs():
        result, params = job.result or {}, job.params or {}
        links = [f"[{f['name']}](/api/v1/compliance/runs/{job.id}/files/{quote(f['name'])})"
                 for f in result.get("files", []) if f["name"].split(".")[-1] != "part"]
        period = result.get("period") or params.get("quarter") or f"{params.get('start')} to {params.get('end')}"
        rows.append({"id": job.id, "created_at": when(job.created_at),
                     "report": compliance_runs.REPORTS.get(params.get("report"), params.get("report")),
                     "period": period, "state": job.state, "files": " · ".join(links) or job.message,
                     "created_by": job.created_by})
    return rows


def policy_rows() -> list[dict]:
    from dashapp.services.governance import retention

    rows = []
    for policy in retention.policies():
        preview = retention.preview(policy.kind)
        rows.append({"id": policy.kind, "label": policy.label, "days": policy.days,
                     "enabled": "active" if policy.enabled else "off", "cutoff": when(preview["cutoff"]),
                     "delete": preview["delete"], "held": preview["held"], "oldest": when(preview["oldest"]),
                     "newest": when(preview["newest"]), "updated_by": policy.updated_by})
    return rows


def run_rows() -> list[dict]:
    from dashapp.services.governance import retention
    from dashapp.services.governance.record_kinds import LABELS

    return [{"id": r.id, "started_at": when(r.started_at), "label": LABELS.get(r.kind, r.kind), "state": r.state,
             "deleted": r.deleted, "held": r.held, "batches": r.batches, "actor": r.actor,
             "archive": ", ".join(r.files[:3]) + (f" … ({len(r.files)} parts)" if len(r.files) > 3 else "")
             or "nothing to archive"} for r in retention.last_runs(30)]


def launch_report(report, start, end, quarter, fmt, token, clicks) -> str:
    params = {"report": report, "format": fmt}
    if report == "rule606":
        params["quarter"] = (quarter or "").strip()
    else:
        params.update(start=start or None, end=end or None)
    try:
        job = jobs.launch(current_username(), current_role(), "compliance_report", params, f"{token}-cr-{clicks}",
                          port=_port())
    except ValidationError as exc:
        raise ValidationError(exc.message.replace("Value error, ", ""), field=exc.field) from None
    return f"Report queued as job {job.id[:8]}; its files appear below when it is built."


def register() -> None:
    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(C.REPORTS_GRID, "rowData"), Output(C.RUNS_GRID, "rowData"),
                      Input(C.INTERVAL, "n_intervals"), Input(C.CHANGED, "data"),
                      State(C.REPORTS_GRID, "rowData"), State(C.RUNS_GRID, "rowData"))
    def refresh(_n, _changed, shown_reports, shown_runs):
        reports, runs = report_rows(), run_rows()
        return (no_update if reports == shown_reports and reports else reports,
                no_update if runs == shown_runs and runs else runs)

    # The preview counts every kind of record: on a page load, a change, a new run or the button, not every tick.
    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(C.POLICIES_GRID, "rowData"), Input(C.PREVIEW, "n_clicks"),
                      Input(C.CHANGED, "data"), Input(C.RUNS_GRID, "rowData"))
    def preview(_clicks, _changed, _runs):
        return policy_rows()

    @guarded_callback(Perm.COMPLIANCE_VIEW, Output(C.REPORT_MESSAGE, "children"), Output(C.CHANGED, "data"),
                      Input(C.RUN_REPORT, "n_clicks"), State(C.REPORT, "value"), State(C.START, "value"),
                      State(C.END, "value"), State(C.QUARTER, "value"), State(C.FORMAT, "value"),
                      State(C.TOKEN, "data"), prevent_initial_call=True)
    def run_report(clicks, report, start, end, quarter, fmt, token):
        try:
            return notice(launch_report(report, start, end, quarter, fmt, token, clicks)), clicks
        except ServiceError as exc:
            return refusal(exc), no_update

    @guarded_callback(Perm.RETENTION_MANAGE, Output(C.POLICY_DAYS, "value"), Output(C.POLICY_ENABLED, "value"),
                      Input(C.POLICY_KIND, "value"))
    def show_policy(kind):
        from dashapp.services.governance import retention

        try:
            policy = retention.policy(kind)
        except ServiceError:
            return no_update, no_update
        return policy.days, ["on"] if policy.enabled else []

    @guarded_callback(Perm.RETENTION_MANAGE, Output(C.RETENTION_MESSAGE, "children"),
                      Output(C.CHANGED, "data", allow_duplicate=True), Input(C.SAVE_POLICY, "n_clicks"),
                      Input(C.RUN_RETENTION_CONFIRM, "submit_n_clicks"), State(C.POLICY_KIND, "value"),
                      State(C.POLICY_DAYS, "value"), State(C.POLICY_ENABLED, "value"), State(C.TOKEN, "data"),
                      prevent_initial_call=True)
    def retention_action(_save, runs, kind, days, enabled, token):
        from dashapp.services.governance import retention

        try:
            if ctx.triggered_id == C.SAVE_POLICY:
                if isinstance(days, float) and days.is_integer():
                    days = int(days)
                policy = retention.set_policy(current_username(), kind, days, bool(enabled))
                return notice(f"{policy.label}: kept {policy.days} days"
                              + ("" if policy.enabled else " (not enforced)") + "."), f"policy-{kind}-{days}"
            job = retention.launch_run(current_username(), current_role(), f"{token}-rt-{runs}", port=_port())
            return notice(f"Retention run queued as job {job.id[:8]}; its runs appear under Last runs."), job.id
        except ServiceError as exc:
            return refusal(exc), no_update
