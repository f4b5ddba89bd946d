"""Compliance: compliance reports (run, download), retention policies with a preview of what a run
would delete and the last runs, legal holds, and personal data (export, erasure). Each section shows
its controls only to the roles whose permission it needs (the callbacks refuse the others anyway).
Pure layout; the data arrives through callbacks/compliance.py and callbacks/compliance_holds.py."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import page_header
from layouts.ids_compliance import Compliance as C

REPORT_OPTIONS = [{"label": "Execution venues (RTS 28-style): PDF + XLSX", "value": "rts28"},
                  {"label": "Order routing (Rule 606-style): XML + PDF", "value": "rule606"},
                  {"label": "Transaction records (RTS 22 fields)", "value": "transactions"}]
KIND_OPTIONS = [{"label": label, "value": kind} for kind, label in (
    ("orders", "Orders"), ("fills", "Fills"), ("quotes", "Quotes"), ("engine_events", "Engine events"),
    ("audit", "Audit records"), ("exports", "Export files"), ("report_files", "Report files"))]
REPORT_COLUMNS = [("created_at", "Requested (UTC)", 160, "text"), ("report", "Report", 220, "text"),
                  ("period", "Period", 190, "text"), ("state", "State", 100, "text"),
                  ("files", "Download", 320, "text"), ("created_by", "By", 100, "text")]
POLICY_COLUMNS = [("label", "Records", 130, "text"), ("days", "Keep (days)", 110, "int"),
                  ("enabled", "Enforced", 95, "text"), ("cutoff", "Cutoff (UTC)", 150, "text"),
                  ("delete", "A run deletes", 120, "int"), ("held", "Kept by holds", 120, "int"),
                  ("oldest", "Oldest to delete", 150, "text"), ("newest", "Newest to delete", 150, "text"),
                  ("updated_by", "Set by", 100, "text")]
RUN_COLUMNS = [("started_at", "Started (UTC)", 160, "text"), ("label", "Records", 120, "text"),
               ("state", "State", 95, "text"), ("deleted", "Deleted", 95, "int"), ("held", "Kept by holds", 115, "int"),
               ("batches", "Batches", 90, "int"), ("archive", "Archive (under instance/archive)", 300, "text"),
               ("actor", "By", 100, "text")]
HOLD_COLUMNS = [("id", "Hold", 70, "int"), ("case_name", "Case", 160, "text"), ("status", "Status", 100, "text"),
                ("items", "Covers", 320, "text"), ("reason", "Reason", 220, "text"), ("created_by", "By", 90, "text"),
                ("created_at", "Created (UTC)", 150, "text")]
STATE_CLASSES = {"text-success fw-semibold": "params.value == 'succeeded' || params.value == 'active'",
                 "text-danger fw-semibold": "params.value == 'failed' || params.value == 'timed_out'",
                 "text-body-secondary": "params.value == 'released'"}
REFRESH_MS = 5000


def layout(perms=frozenset(), **_):
    from dashapp.security.permissions import Perm

    return compliance_page(Perm.RETENTION_MANAGE in perms, Perm.LEGAL_HOLD_MANAGE in perms,
                           Perm.PRIVACY_MANAGE in perms, uuid.uuid4().hex)


def grid(grid_id: str, columns, empty_text: str, height: int, **extras) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[column_def(field, kind=kind, header_name=header, minWidth=width, flex=width,
                               **extras.get(field, {})) for field, header, width, kind in columns],
        rowData=[], defaultColDef={"sortable": True, "resizable": True, "cellDataType": False},  # no date guessing
        getRowId="params.data.id",
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                         "localeText": {"noRowsToShow": empty_text}, "animateRows": False, "tooltipShowDelay": 300},
        style={"height": f"{height}px", "width": "100%"})


def _field(label: str, control, help_text: str = "") -> html.Div:
    parts = [dbc.Label(label, html_for=control.id, className="small mb-1"), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return html.Div(parts, className="mb-2")


def _card(title: str, body: list, card_id: str, extra_header=None) -> dbc.Card:
    header = dbc.Row([dbc.Col(html.Span(title, className="fw-semibold")),
                      dbc.Col(extra_header, width="auto") if extra_header is not None else None],
                     className="align-items-center")
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], id=card_id, className="mb-3")


def reports_card() -> dbc.Card:
    today = date.today()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    return _card("Compliance reports", [
        dbc.Row([
            dbc.Col(_field("Report", dbc.Select(id=C.REPORT, options=REPORT_OPTIONS, value="rts28")), md=4),
            dbc.Col(_field("From", dbc.Input(id=C.START, type="date", value=str(today - timedelta(days=90)))), md=2),
            dbc.Col(_field("To", dbc.Input(id=C.END, type="date", value=str(today))), md=2),
            dbc.Col(_field("Quarter (Rule 606)", dbc.Input(id=C.QUARTER, value=quarter, placeholder="2026Q2")), md=2),
            dbc.Col(_field("Records format", dbc.Select(id=C.FORMAT, value="csv", options=[
                {"label": "CSV", "value": "csv"}, {"label": "Parquet", "value": "parquet"}])), md=2),
        ]),
        html.Div(dbc.Button("Run report", id=C.RUN_REPORT, color="primary", size="sm"), className="mb-2"),
        html.Div(id=C.REPORT_MESSAGE),
        grid(C.REPORTS_GRID, REPORT_COLUMNS, "No compliance reports yet: choose one and run it.", 230,
             files={"cellRenderer": "markdown", "wrapText": True, "autoHeight": True,
                    "cellStyle": {"lineHeight": "1.6", "paddingTop": "6px", "paddingBottom": "6px"}},
             state={"cellClassRules": STATE_CLASSES}),
        html.Small("Internal best-execution monitoring from the desk's own orders and fills, not a regulatory filing.",
                   className="text-body-secondary"),
    ], "cp-reports-card")


def retention_card(can_manage: bool) -> dbc.Card:
    form = dbc.Row([
        dbc.Col(_field("Records", dbc.Select(id=C.POLICY_KIND, options=KIND_OPTIONS, value="quotes")), md=3),
        dbc.Col(_field("Keep (days)", dbc.Input(id=C.POLICY_DAYS, type="number", min=1, max=36500, step=1)), md=2),
        dbc.Col(_field("Enforced", dbc.Checklist(id=C.POLICY_ENABLED, value=["on"], switch=True,
                                                 options=[{"label": "by the daily run", "value": "on"}])), md=3),
        dbc.Col(html.Div([dbc.Button("Save policy", id=C.SAVE_POLICY, color="primary", outline=True, size="sm"),
                          dcc.ConfirmDialogProvider(
                              dbc.Button("Run retention now", id=C.RUN_RETENTION, color="danger", outline=True,
                                         size="sm"), id=C.RUN_RETENTION_CONFIRM,
                              message="Archive to Parquet and delete every record past its policy now? "
                                      "Records under a legal hold stay.")],
                         className="d-flex gap-1 mt-4"), md=4),
    ]) if can_manage else html.Small("Policies are changed and runs started by admins (retention:manage).",
                                     className="text-body-secondary d-block mb-2")
    return _card("Retention", [
        html.Div(id=C.RETENTION_MESSAGE),
        grid(C.POLICIES_GRID, POLICY_COLUMNS, "No policies.", 335, enabled={"cellClassRules": STATE_CLASSES}),
        html.Div(form, className="mt-2"),
        html.H6("Last runs", className="mt-2"),
        grid(C.RUNS_GRID, RUN_COLUMNS, "No retention run yet: the daily job runs them (or Run retention now).", 200,
             state={"cellClassRules": STATE_CLASSES}, archive={"tooltipField": "archive"}),
    ], "cp-retention-card", dbc.Button("Refresh preview", id=C.PREVIEW, size="sm", color="secondary", outline=True))


def holds_card(can_manage: bool) -> dbc.Card:
    form = html.Div([
        dbc.Row([
            dbc.Col(_field("Case", dbc.Input(id=C.HOLD_CASE, maxLength=120, placeholder="e.g. SEC inquiry 2026-14")),
                    md=4),
            dbc.Col(_field("Reason", dbc.Input(id=C.HOLD_REASON, maxLength=500)), md=8),
        ]),
        dbc.Row([
            dbc.Col(_field("Records", dbc.Select(id=C.HOLD_KIND, options=KIND_OPTIONS, value="orders")), md=2),
            dbc.Col(_field("Record id", dbc.Input(id=C.HOLD_RECORD, type="number", min=1, step=1)), md=2),
            dbc.Col(_field("Account id", dbc.Input(id=C.HOLD_ACCOUNT, type="number", min=1, step=1)), md=2),
            dbc.Col(_field("Instrument id", dbc.Input(id=C.HOLD_INSTRUMENT, type="number", min=1, step=1)), md=2),
            dbc.Col(_field("From (UTC)", dbc.Input(id=C.HOLD_FROM, type="date")), md=2),
            dbc.Col(_field("To (UTC)", dbc.Input(id=C.HOLD_TO, type="date")), md=2),
        ]),
        html.Div([dbc.Button("Preview", id=C.HOLD_PREVIEW, color="secondary", outline=True, size="sm"),
                  dbc.Button("Create hold", id=C.HOLD_CREATE, color="primary", size="sm"),
                  dbc.Button("Release selected", id=C.HOLD_RELEASE, color="warning", outline=True, size="sm")],
                 className="d-flex gap-1 mb-2"),
    ]) if can_manage else None
    return _card("Legal holds", [
        html.Div(id=C.HOLD_MESSAGE), form,
        grid(C.HOLDS_GRID, HOLD_COLUMNS, "No legal holds.", 220, status={"cellClassRules": STATE_CLASSES},
             items={"tooltipField": "items", "wrapText": True, "autoHeight": True}, reason={"tooltipField": "reason"}),
    ], "cp-holds-card")


def privacy_card() -> dbc.Card:
    return _card("Personal data", [
        html.Div(id=C.PRIVACY_MESSAGE),
        dbc.Row([
            dbc.Col(_field("User", dbc.Select(id=C.PRIVACY_USER, options=[], placeholder="choose a user")), md=4),
            dbc.Col(_field("Reason (for an erasure)", dbc.Input(id=C.PRIVACY_REASON, maxLength=300,
                                                                placeholder="e.g. data-subject request 42")), md=5),
            dbc.Col(html.Div([
                dbc.Button("Export JSON", id=C.PRIVACY_EXPORT, color="secondary", outline=True, size="sm"),
                dcc.ConfirmDialogProvider(dbc.Button("Erase", id=C.PRIVACY_ERASE, color="danger", size="sm"),
                                          id=C.PRIVACY_ERASE_CONFIRM,
                                          message="Erase this user's personal data? The account is disabled and "
                                                  "renamed; this cannot be undone."),
                dcc.Download(id=C.PRIVACY_DOWNLOAD)], className="d-flex gap-1 mt-4"), md=3),
        ]),
        html.Small("Erasure disables the account, blanks its personal fields and destroys its key, so addresses in "
                   "the audit trail become unreadable; the audit chain itself is not rewritten.",
                   className="text-body-secondary"),
    ], "cp-privacy-card")


def compliance_page(can_retain: bool, can_hold: bool, can_privacy: bool, token: str) -> html.Div:
    return html.Div([
        page_header("Compliance", "best-execution reports, retention with legal holds, personal data"),
        dcc.Store(id=C.CHANGED), dcc.Store(id=C.TOKEN, data=token),
        dcc.Interval(id=C.INTERVAL, interval=REFRESH_MS),
        reports_card(), retention_card(can_retain), holds_card(can_hold),
        privacy_card() if can_privacy else None,
    ], id="page-compliance")
