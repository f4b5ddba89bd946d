"""Exports: choose a dataset, a format, a period and filters; follow the export jobs; download the
finished files. Pure layout; the data arrives through callbacks/exports.py."""
from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.common import empty_state, page_header
from layouts.ids import Exports as ids

DATASET_OPTIONS = [("orders", "Orders"), ("fills", "Fills"), ("positions", "Positions"),
                   ("risk", "Risk: VaR and limit utilisation"), ("tca", "TCA: venue scorecards")]
FORMAT_OPTIONS = [("csv", "CSV"), ("xlsx", "Excel (.xlsx)"), ("pdf", "PDF report"), ("json", "JSON"),
                  ("parquet", "Parquet")]
PERIOD_OPTIONS = [("1h", "last hour"), ("24h", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days"),
                  ("all", "all time"), ("custom", "custom (UTC)")]
STATUS_OPTIONS = ["new", "acknowledged", "partially_filled", "filled", "canceled", "rejected", "expired"]
STATE_COLOURS = {"queued": "secondary", "running": "info", "succeeded": "success", "failed": "danger",
                 "canceled": "warning", "timed_out": "warning"}
NO_EXPORTS = "No exports yet. Choose a dataset and a format above, then press Export."
REFRESH_MS = 2000


def layout(**_):
    return exports_page(uuid.uuid4().hex)


def _select(element_id: str, options, value, **props) -> dbc.Select:
    return dbc.Select(id=element_id, options=[{"label": label, "value": v} for v, label in options], value=value,
                      **props)


def _field(label: str, control, md: int = 2) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control.id, className="small mb-0"), control], md=md)


def exports_page(launch_token: str) -> html.Div:
    return html.Div([
        page_header("Exports", "orders, fills, positions, risk and TCA as CSV, Excel, PDF, JSON or Parquet"),
        dcc.Store(id=ids.LAUNCH_TOKEN, data=launch_token),  # makes a retried click idempotent
        dcc.Store(id=ids.CHANGED),
        dcc.Store(id=ids.LIST_KEY),
        dcc.Interval(id=ids.INTERVAL, interval=REFRESH_MS),
        dbc.Card(dbc.CardBody([
            dbc.Row([
                _field("Dataset", _select(ids.DATASET, DATASET_OPTIONS, "orders"), 3),
                _field("Format", _select(ids.FORMAT, FORMAT_OPTIONS, "csv")),
                _field("Period", _select(ids.PERIOD, PERIOD_OPTIONS, "24h")),
                _field("From (UTC)", dbc.Input(id=ids.SINCE, placeholder="YYYY-MM-DD HH:MM", type="text")),
                _field("To (UTC)", dbc.Input(id=ids.UNTIL, placeholder="YYYY-MM-DD HH:MM", type="text")),
            ], className="g-2 mb-2"),
            dbc.Row([
                _field("Strategy", dbc.Input(id=ids.STRATEGY, placeholder="all strategies", type="text")),
                _field("Instrument", dbc.Input(id=ids.INSTRUMENT, placeholder="all instruments", type="text")),
                _field("Venue", dbc.Input(id=ids.VENUE, placeholder="all venues", type="text")),
                _field("Status", _select(ids.STATUS, [("", "any status")] + [(s, s) for s in STATUS_OPTIONS], "")),
                dbc.Col(dbc.Button("Export", id=ids.LAUNCH, color="primary", className="w-100"), md=2,
                        className="d-flex align-items-end"),
            ], className="g-2"),
            html.Div(id=ids.HINT, className="small text-body-secondary mt-2"),
        ]), className="mb-3"),
        html.Div(id=ids.MESSAGE),
        html.H3("Export jobs", className="h6 mt-2"),
        html.Div(empty_state(NO_EXPORTS), id=ids.LIST),
        html.P("Files are kept on the server under the instance folder's exports/; every export and every "
               "download is in the audit trail with the file's SHA-256.", className="small text-body-secondary"),
    ], id="page-exports")


def _progress(row: dict):
    running = row["state"] in ("queued", "running")
    return dbc.Progress(value=row["progress"], label=f"{row['progress']:.0f}%", striped=running, animated=running,
                        style={"minWidth": "90px", "height": "16px"})


def _download(row: dict):
    if not row["url"]:
        return ""
    return html.A("Download", href=row["url"], download=row["download_name"], id=f"exp-download-{row['id']}",
                  className="btn btn-sm btn-outline-primary exp-download", **{"data-job": row["id"]})


def exports_table(rows: list[dict]):
    """The export jobs, newest first (dicts from dashapp.exports.service.summary)."""
    if not rows:
        return empty_state(NO_EXPORTS)
    head = html.Thead(html.Tr([html.Th(h) for h in ("Created (UTC)", "By", "Export", "State", "Progress", "Rows",
                                                       "Size", "Message", "")]))
    body = html.Tbody([html.Tr([
        html.Td(row["created_at"], className="text-nowrap"), html.Td(row["created_by"]), html.Td(row["what"]),
        html.Td(dbc.Badge(row["state"], color=STATE_COLOURS.get(row["state"], "secondary"))),
        html.Td(_progress(row)), html.Td(f"{row['rows']:,}" if row["rows"] is not None else ""),
        html.Td(row["size"], className="text-nowrap"), html.Td(row["message"], className="small"),
        html.Td(_download(row)),
    ], id=f"exp-row-{row['id']}", className="exp-row") for row in rows])
    return dbc.Table([head, body], size="sm", hover=True, responsive=True, className="align-middle",
                     id="exp-table")


def notice(text: str, ok: bool = True) -> dbc.Alert:
    if ok:
        return dbc.Alert(text, color="success", dismissable=True, className="mb-2", id="exp-notice")
    return dbc.Alert([html.Strong("Not exported: "), text], color="danger", dismissable=True, className="mb-2",
                     id="exp-notice")
