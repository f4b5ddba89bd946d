"""Reports: the schedules (daily / weekly / monthly / cron, each in its own time zone), the form that
creates and edits them (REPORTS_MANAGE only), and the archive of produced reports with their
delivery state. Pure layout; the data arrives through callbacks/reports.py."""
from __future__ import annotations

import uuid
from zoneinfo import available_timezones

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.reports import FORMATS, REPORT_KINDS
from dashapp.presentation.columns import column_def
from layouts.common import page_header
from layouts.ids import Reports

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CADENCE_OPTIONS = [{"label": "Daily", "value": "daily"}, {"label": "Weekly", "value": "weekly"},
                   {"label": "Monthly", "value": "monthly"}, {"label": "Cron expression", "value": "cron"}]
# (field, header, minimum width in px); the grids scroll sideways when the window is narrow.
SCHEDULE_COLUMNS = [("name", "Name", 150), ("report", "Report", 120), ("when", "When", 190),
                    ("timezone", "Time zone", 150), ("next_run", "Next run (local)", 190),
                    ("next_run_utc", "Next run (UTC)", 160), ("state", "State", 90), ("recipients", "Recipients", 220),
                    ("formats", "Formats", 100), ("last_run", "Last run (local)", 165),
                    ("created_by", "Created by", 110)]
ARCHIVE_COLUMNS = [("created_at", "Produced (UTC)", 165), ("report", "Report", 120), ("schedule", "Schedule", 150),
                   ("files", "Download", 120), ("delivery_state", "Delivery", 110), ("attempts", "Attempts", 105),
                   ("last_error", "Last error", 300), ("delivered_at", "Delivered (UTC)", 165),
                   ("recipients", "Recipients", 220), ("size_kb", "Size (KB)", 100), ("sha256", "SHA-256", 130)]
DELIVERY_CLASSES = {"text-success fw-semibold": "params.value == 'delivered'",
                    "text-warning fw-semibold": "params.value == 'retrying' || params.value == 'pending'",
                    "text-danger fw-semibold": "params.value == 'failed'",
                    "text-body-secondary": "params.value == 'not_sent'"}
NO_SCHEDULES = "No report schedules yet."
NOT_EDITING = "Editing: none (a new schedule)"
EMPTY_FORM = (NOT_EDITING, "", "risk_daily", "daily", "07:00", "0", 1, "", "UTC", "", ["pdf"])
NO_REPORTS = "No reports archived yet: a schedule produces one at its next run (or use Run now)."
REFRESH_MS = 5000


def layout(perms=frozenset(), **_):
    """Runs on the server per page load: the form only for roles that manage schedules (the
    callbacks refuse the others anyway), and whether e-mail delivery is configured."""
    from dashapp.security.permissions import Perm
    from dashapp.services.delivery import configuration_problem, describe_configuration

    return reports_page(Perm.REPORTS_MANAGE in perms, configuration_problem() is None, describe_configuration(),
                        uuid.uuid4().hex)


def _grid(grid_id: str, columns, empty_text: str, height: int, **column_extras) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[column_def(field, header_name=header, minWidth=width, flex=width, **column_extras.get(field, {}))
                    for field, header, width in columns],
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        getRowId="params.data.id",
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "localeText": {"noRowsToShow": empty_text}, "animateRows": False, "tooltipShowDelay": 300},
        style={"height": f"{height}px", "width": "100%"},
    )


def delivery_notice(configured: bool, text: str) -> dbc.Alert:
    if configured:
        return dbc.Alert(f"Reports are e-mailed: {text}.", color="info", id=Reports.SMTP_STATUS, className="py-2")
    return dbc.Alert([html.Strong("E-mail delivery is not configured. "),
                      "Reports are still produced and archived here, marked not_sent. An operator sets SMTP_HOST "
                      "(and SMTP_PORT, SMTP_FROM, SMTP_USER / SMTP_PASSWORD) to e-mail them; then Resend sends the "
                      "ones already archived."], color="warning", id=Reports.SMTP_STATUS, className="py-2")


def reports_page(can_manage: bool, smtp_configured: bool, smtp_text: str, token: str) -> html.Div:
    return html.Div([
        page_header("Reports", "scheduled daily risk and best-execution reports: schedules, archive, e-mail delivery"),
        delivery_notice(smtp_configured, smtp_text),
        dcc.Store(id=Reports.CHANGED), dcc.Store(id=Reports.ARCHIVE_CHANGED),
        dcc.Interval(id=Reports.INTERVAL, interval=REFRESH_MS),
        dbc.Card([dbc.CardHeader("Schedules", className="fw-semibold"), dbc.CardBody([
            html.Div(id=Reports.SCHEDULES_EMPTY),
            _grid(Reports.SCHEDULES_GRID, SCHEDULE_COLUMNS, NO_SCHEDULES, 260,
                  recipients={"tooltipField": "recipients"}),
        ])], className="mb-3"),
        schedule_form(token) if can_manage else None,
        dbc.Card([
            dbc.CardHeader(dbc.Row([
                dbc.Col(html.Span("Archive", className="fw-semibold")),
                dbc.Col(dbc.Button("Resend selected", id=Reports.RESEND, size="sm", color="secondary", outline=True),
                        width="auto") if can_manage else None,
            ], className="align-items-center")),
            dbc.CardBody([
                html.Div(id=Reports.ARCHIVE_MESSAGE),
                html.Div(id=Reports.ARCHIVE_EMPTY),
                _grid(Reports.ARCHIVE_GRID, ARCHIVE_COLUMNS, NO_REPORTS, 340,
                      files={"cellRenderer": "markdown"}, last_error={"tooltipField": "last_error"},
                      delivery_state={"cellClassRules": DELIVERY_CLASSES}, sha256={"tooltipField": "sha256"}),
            ]),
        ]),
    ], id="page-reports")


def _field(label: str, control, help_text: str = "", wrap_id: str | None = None, hidden: bool = False) -> html.Div:
    parts = [dbc.Label(label, html_for=control.id, className="small mb-1"), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    props = {"id": wrap_id} if wrap_id else {}
    return html.Div(parts, className="mb-2", style={"display": "none"} if hidden else None, **props)


def zone_options() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def schedule_form(token: str) -> dbc.Card:
    kinds = [{"label": kind.label, "value": name} for name, kind in REPORT_KINDS.items()]
    weekdays = [{"label": day, "value": str(index)} for index, day in enumerate(WEEKDAYS)]
    zone = dbc.Input(id=Reports.TIMEZONE, value="UTC", list=Reports.ZONES, autoComplete="off")
    col = lambda *children, md=4: dbc.Col(list(children), md=md)  # noqa: E731
    return dbc.Card([
        dbc.CardHeader(dbc.Row([
            dbc.Col([html.Span("New or selected schedule", className="fw-semibold me-2"),
                     html.Small(NOT_EDITING, id=Reports.SELECTED, className="text-body-secondary")]),
            dbc.Col(dbc.Button("Clear form", id=Reports.CLEAR, size="sm", color="link", className="p-0"), width="auto"),
        ], className="align-items-center")),
        dbc.CardBody([
            dcc.Store(id=Reports.FORM_READY, data=True),
            dcc.Store(id=Reports.TOKEN, data=token),  # makes a retried "Run now" click idempotent
            dbc.Row([
                col(_field("Name", dbc.Input(id=Reports.NAME, placeholder="e.g. Morning risk", autoComplete="off"))),
                col(_field("Report", dbc.Select(id=Reports.REPORT_TYPE, options=kinds, value="risk_daily"))),
                col(_field("Cadence", dbc.Select(id=Reports.CADENCE, options=CADENCE_OPTIONS, value="daily"))),
            ]),
            dbc.Row([
                col(_field("Time of day (HH:MM, local to the time zone)", dbc.Input(id=Reports.TIME, value="07:00"),
                           wrap_id=Reports.TIME_WRAP),
                    _field("Cron expression", dbc.Input(id=Reports.CRON, placeholder="30 6 * * mon-fri",
                                                        autoComplete="off"),
                           "minute hour day month weekday, on the time zone's wall clock", wrap_id=Reports.CRON_WRAP,
                           hidden=True)),
                col(_field("Weekday", dbc.Select(id=Reports.WEEKDAY, value="0", options=weekdays),
                           wrap_id=Reports.WEEKDAY_WRAP, hidden=True),
                    _field("Day of month", dbc.Input(id=Reports.DAY_OF_MONTH, type="number", min=1, max=28, value=1),
                           "1 to 28, so every month has it.", wrap_id=Reports.DAY_WRAP, hidden=True)),
                col(_field("Time zone", zone, "An IANA name: type to pick, e.g. Europe/London."),
                    html.Datalist([html.Option(value=name) for name in zone_options()], id=Reports.ZONES)),
            ]),
            dbc.Row([
                col(_field("Recipients", dbc.Textarea(id=Reports.RECIPIENTS, rows=2,
                                                      placeholder="risk@example.com, cro@example.com"),
                           "E-mail addresses, separated by commas."), md=8),
                col(_field("Formats", dbc.Checklist(id=Reports.FORMATS, inline=True, value=["pdf"], options=[
                    {"label": FORMATS[f][0], "value": f} for f in ("pdf", "xlsx")]))),
            ]),
            html.Div(id=Reports.MESSAGE),
            html.Div([
                dbc.Button("Create schedule", id=Reports.CREATE, color="primary", size="sm"),
                dbc.Button("Save changes", id=Reports.UPDATE, color="primary", outline=True, size="sm"),
                dbc.Button("Run now", id=Reports.RUN_NOW, color="success", outline=True, size="sm"),
                dbc.Button("Pause", id=Reports.PAUSE, color="warning", outline=True, size="sm"),
                dbc.Button("Resume", id=Reports.RESUME, color="secondary", outline=True, size="sm"),
                dcc.ConfirmDialogProvider(
                    dbc.Button("Delete", id=Reports.DELETE, color="danger", outline=True, size="sm"),
                    id=Reports.DELETE_CONFIRM, message="Delete the selected schedule? Its archived reports stay."),
            ], className="d-flex flex-wrap gap-1"),
        ]),
    ], id=Reports.FORM, className="mb-3")


def notice(text: str, ok: bool = True, element_id: str | None = None) -> dbc.Alert:
    props = {"id": element_id} if element_id else {}
    if ok:
        return dbc.Alert(text, color="success", dismissable=True, className="mb-2 py-2 small", **props)
    return dbc.Alert([html.Strong("Not done: "), text], color="danger", dismissable=True, className="mb-2 py-2 small",
                     **props)


def cadence_styles(cadence: str) -> list[dict | None]:
    """Display of (time, weekday, day of month, cron) for a cadence."""
    shown = {"daily": (1, 0, 0, 0), "weekly": (1, 1, 0, 0), "monthly": (1, 0, 1, 0), "cron": (0, 0, 0, 1)}
    return [None if on else {"display": "none"} for on in shown.get(cadence, (1, 0, 0, 0))]
