"""Exports callbacks: thin. The form becomes export parameters here; dashapp.exports.service
validates them (naming the bad field), checks the role again, and queues the job; the list polls
the job rows."""
from __future__ import annotations

from datetime import timedelta

from dash import Input, Output, State, no_update

from dashapp.exports import service
from dashapp.exports.params import DATASETS, FILTERS
from dashapp.security.guards import current_role, current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError, ValidationError
from layouts.exports import exports_table, notice
from layouts.ids import Exports as ids
from models import utcnow

SPANS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
FILTER_IDS = {"strategy": ids.STRATEGY, "instrument": ids.INSTRUMENT, "venue": ids.VENUE, "status": ids.STATUS}


def form_params(dataset, fmt, period, since, until, filters: dict) -> dict:
    """The form as export parameters. Fields that do not apply to the dataset are disabled on the
    page (see `applicable`) and left out here."""
    rules = DATASETS.get(dataset, {"period": None, "filters": ()})
    params = {"dataset": dataset, "format": fmt,
              "filters": {k: v.strip() for k, v in filters.items() if k in rules["filters"] and v and v.strip()}}
    if rules["period"] is None or period == "all":
        return params
    if period == "custom":
        if not (since or "").strip() and not (until or "").strip():
            raise ValidationError("a custom period needs a start (From) or an end (To), as YYYY-MM-DD HH:MM UTC",
                                  field="params.since")
        params.update({k: v.strip() for k, v in (("since", since), ("until", until)) if v and v.strip()})
    elif period in SPANS:
        params["since"] = (utcnow() - SPANS[period]).isoformat()
    return params


def applicable(dataset) -> tuple[str, bool, dict[str, bool]]:
    """(hint, period disabled, {filter: disabled}) for a dataset."""
    rules = DATASETS.get(dataset, {"label": str(dataset), "period": None, "filters": ()})
    period = f"the period applies to {rules['period']}" if rules["period"] else "a snapshot of now, no period"
    filters = f"filters: {', '.join(rules['filters'])}" if rules["filters"] else "no filters"
    return f"{rules['label']}: {period}; {filters}.", rules["period"] is None, \
        {name: name not in rules["filters"] for name in FILTERS}


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def register() -> None:
    @guarded_callback(Perm.EXPORTS_DOWNLOAD, Output(ids.HINT, "children"), Output(ids.PERIOD, "disabled"),
                      Output(ids.SINCE, "disabled"), Output(ids.UNTIL, "disabled"),
                      *[Output(FILTER_IDS[name], "disabled") for name in FILTERS],
                      Input(ids.DATASET, "value"), Input(ids.PERIOD, "value"))
    def show_applicable(dataset, period):
        hint, no_period, disabled = applicable(dataset)
        custom_off = no_period or period != "custom"
        return (hint, no_period, custom_off, custom_off, *[disabled[name] for name in FILTERS])

    @guarded_callback(Perm.EXPORTS_DOWNLOAD, Output(ids.LIST, "children"), Output(ids.LIST_KEY, "data"),
                      Input(ids.INTERVAL, "n_intervals"), Input(ids.CHANGED, "data"), State(ids.LIST_KEY, "data"))
    def refresh_list(_n, _changed, shown):
        rows = service.list_exports()
        key = [[r["id"], r["state"], r["progress"], r["message"]] for r in rows]
        if key == shown:
            return no_update, no_update  # nothing moved: spare the table a redraw
        return exports_table(rows), key

    @guarded_callback(Perm.EXPORTS_DOWNLOAD, Output(ids.MESSAGE, "children"), Output(ids.CHANGED, "data"),
                      Input(ids.LAUNCH, "n_clicks"), State(ids.DATASET, "value"), State(ids.FORMAT, "value"),
                      State(ids.PERIOD, "value"), State(ids.SINCE, "value"), State(ids.UNTIL, "value"),
                      *[State(FILTER_IDS[name], "value") for name in FILTERS], State(ids.LAUNCH_TOKEN, "data"),
                      prevent_initial_call=True)
    def launch_export(n_clicks, dataset, fmt, period, since, until, *rest):
        *filter_values, token = rest
        try:
            params = form_params(dataset, fmt, period, since, until, dict(zip(FILTERS, filter_values)))
            job = service.launch_export(current_username(), current_role(), params, f"ui-{token}-{n_clicks}",
                                        port=_port())
        except ServiceError as err:
            return notice(err.message, ok=False), no_update
        return notice(f"Export queued as job {job.id[:8]}; it appears below and can be downloaded when done."), job.id
