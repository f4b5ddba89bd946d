"""Models page callbacks: thin. Reads go through dashapp.services.models (registry, shadow, drift, explain);
retrain goes through dashapp.services.jobs (MODELS_RETRAIN checked again there); promote and rollback through
registry.promote (a four-eyes request) / rollback (MODELS_PROMOTE, reason, gates, audit). A ServiceError becomes an alert."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from dash import Input, Output, State, ctx, no_update

from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import jobs
from dashapp.services.errors import ServiceError
from dashapp.services.models import registry
from layouts.common import empty_state
from layouts.jobs import notice
from layouts.models import NO_VERSION, gates_table, ids, stage_list, version_detail

TERMINAL = ("succeeded", "failed", "canceled", "timed_out")


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def register() -> None:
    @guarded_callback(Perm.VIEW_MODELS, Output(ids.MODELS, "rowData"), Input(ids.INTERVAL, "n_intervals"),
                      Input(ids.CHANGED, "data"), State(ids.MODELS, "rowData"))
    def refresh_models(_n, _changed, current):
        rows = [{**r, "created_at": str(r["created_at"])} for r in registry.list_models()]
        return no_update if rows == current else rows

    @guarded_callback(Perm.VIEW_MODELS, Output(ids.MODEL, "data"), Input(ids.MODELS, "selectedRows"),
                      Input(ids.MODELS, "rowData"), State(ids.MODEL, "data"))
    def pick_model(selected, rows, current):
        if selected:
            return selected[0]["name"]
        if not current and rows:
            return rows[0]["name"]
        return no_update

    @guarded_callback(Perm.VIEW_MODELS, Output(ids.VERSIONS, "rowData"), Output(ids.HISTORY, "rowData"),
                      Input(ids.MODEL, "data"), Input(ids.CHANGED, "data"), Input(ids.INTERVAL, "n_intervals"),
                      State(ids.VERSIONS, "rowData"), State(ids.HISTORY, "rowData"))
    def refresh_versions(model, _changed, _n, cur_versions, cur_history):
        if not model:
            return [], []
        try:
            versions = [{**v, "created_at": v["created_at"].isoformat(), "gates_passed": _yes_no(v["gates_passed"])}
                        for v in registry.versions(model)]
            history = [{**h, "moved_at": h["moved_at"].isoformat(), "evidence": None} for h in registry.history(model)]
        except ServiceError:
            return [], []
        return (no_update if versions == cur_versions else versions), (no_update if history == cur_history
                                                                       else history)

    @guarded_callback(Perm.VIEW_MODELS, Output(ids.VERSION, "data"), Input(ids.VERSIONS, "selectedRows"),
                      Input(ids.MODEL, "data"), prevent_initial_call=True)
    def pick_version(selected, _model):
        if ctx.triggered_id == ids.MODEL:
            return None
        return selected[0]["version"] if selected else no_update

    @guarded_callback(Perm.VIEW_MODELS, Output(ids.DETAIL, "children"), Output(ids.GATES, "children"),
                      Input(ids.VERSION, "data"), Input(ids.CHANGED, "data"), State(ids.MODEL, "data"))
    def show_version(version, _changed, model):
        if not model or not version:
            return empty_state(NO_VERSION), empty_state(NO_VERSION)
        try:
            detail = registry.version_detail(model, int(version))
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return version_detail(detail), gates_table(detail["gates"])

    @guarded_callback(Perm.MODELS_RETRAIN, Output(ids.RETRAIN_MSG, "children"), Output(ids.JOB, "data"),
                      Input(ids.RETRAIN, "n_clicks"), State(ids.TOKEN, "data"), State(ids.SYMBOL, "value"),
                      State(ids.SEED, "value"), State(ids.MIN_DSR, "value"), prevent_initial_call=True)
    def retrain(n_clicks, token, symbol, seed, min_dsr):
        params = {"model": f"{str(symbol or '').lower()}-direction", "symbol": symbol, "seed": seed,
                  "min_dsr": min_dsr}
        try:
            job = jobs.launch(current_username(), current_role(), "retrain", params, f"ui-{token}-{n_clicks}",
                              port=_port())
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return notice(f"Retrain queued as job {job.id[:8]}; its stages show below."), job.id

    @guarded_callback(Perm.VIEW_MODELS, Output(ids.STAGES, "children"), Output(ids.CHANGED, "data"),
                      Input(ids.JOB, "data"), Input(ids.INTERVAL, "n_intervals"), State(ids.CHANGED, "data"),
                      State(ids.STAGES, "children"))
    def show_stages(job_id, _n, changed, shown):
        if not job_id:
            return no_update, no_update
        try:
            job = jobs.get_job(job_id)
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        finished = job.state in TERMINAL
        if finished and _was_terminal(shown):
            return no_update, no_update  # the final view is on the page already
        stage = job.message.split(":", 1)[0] if ":" in (job.message or "") else None
        view = stage_list(stage, job.state, job.progress or 0.0, job.message or "", job.error,
                          stage_times(job.log or ""))
        return view, ((changed or 0) + 1 if finished else no_update)

    @guarded_callback(Perm.MODELS_PROMOTE, Output(ids.ACTION_MSG, "children"), Output(ids.CHANGED, "data",
                                                                                     allow_duplicate=True),
                      Input(ids.PROMOTE, "n_clicks"), Input(ids.ROLLBACK, "n_clicks"), State(ids.MODEL, "data"),
                      State(ids.VERSION, "data"), State(ids.REASON, "value"), State(ids.CHANGED, "data"),
                      prevent_initial_call=True)
    def promote_or_rollback(_p, _r, model, version, reason, changed):
        try:
            if not model:
                return notice("select a model first", ok=False), no_update
            if ctx.triggered_id == ids.ROLLBACK:
                out = registry.rollback(current_username(), current_role(), model, reason)
                text = f"Rolled back {model}: champion is v{out['champion']} again (was v{out['from_version']})."
            else:
                if not version:
                    return notice("select a version to promote", ok=False), no_update
                out = registry.promote(current_username(), current_role(), model, int(version), reason)
                text = (f"Promotion of {model} v{out['version']} requested: request #{out['request_id']} waits for "
                        "a second person with models:promote on the Approvals page.")
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return notice(text), (changed or 0) + 1

    @guarded_callback(Perm.VIEW_MODELS, Output(ids.LIVE_AT_OUT, "children"), Input(ids.LIVE_AT, "value"),
                      State(ids.MODEL, "data"), prevent_initial_call=True)
    def live_at(text, model):
        if not text or not model:
            return ""
        try:
            at = datetime.fromisoformat(str(text).strip()[:32])
        except ValueError:
            return notice("write the time as YYYY-MM-DD HH:MM:SS (UTC)", ok=False)
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at
        try:
            version = registry.live_at(model, "champion", at)
        except ServiceError as err:
            return notice(err.message, ok=False)
        return f"Champion of {model} at {at:%Y-%m-%d %H:%M:%S} UTC: " + (f"v{version}" if version else "none")

    from callbacks import models_views

    models_views.register()


_STAGE_LINE = re.compile(r"^\S*T(\d\d:\d\d:\d\d)Z stage (\w+):", re.MULTILINE)


def stage_times(log: str) -> dict[str, str]:
    """Stage -> the UTC time its first log line was written ("stage <name>: ...", jobtypes/retrain.py)."""
    out: dict[str, str] = {}
    for at, stage in _STAGE_LINE.findall(log):
        out.setdefault(stage, at)
    return out


def _yes_no(value) -> str:
    return "not validated" if value is None else ("yes" if value else "no")


def _was_terminal(shown) -> bool:
    text = str(shown)
    return any(f"'{state}'" in text for state in TERMINAL)
