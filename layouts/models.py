"""Models page: the registry (models, versions, champion/challenger), a version's detail (metrics, params,
lineage) and its validation gates, the alias history with a "live at T" lookup, the retrain form with its
live stages, promote/rollback with a reason, and the shadow, drift and explanation views. Pure layout;
the data arrives through callbacks/models.py. Buttons exist only for roles that may use them (the
callbacks check again on the server)."""
from __future__ import annotations

import uuid

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from dashapp.presentation.columns import column_def
from layouts.common import empty_state, page_header

STAGES = ("load", "features", "fit", "validate", "register")
SYMBOLS = ("AAPL", "AMD", "BAC", "CVX", "JPM", "KO", "MSFT", "PFE", "WMT", "XOM")
NO_MODELS = "No models registered yet. Launch a retrain to create one."
NO_VERSION = "Select a version in the list to see its metrics, lineage and gates."


class ids:
    TOKEN, JOB, MODEL, VERSION, CHANGED = "mdl-token", "mdl-job", "mdl-model", "mdl-version", "mdl-changed"
    INTERVAL = "mdl-interval"
    MODELS, VERSIONS, HISTORY = "mdl-models", "mdl-versions", "mdl-history"
    DETAIL, GATES = "mdl-detail", "mdl-gates"
    SYMBOL, SEED, MIN_DSR, RETRAIN, RETRAIN_MSG, STAGES = ("mdl-symbol", "mdl-seed", "mdl-min-dsr", "mdl-retrain",
                                                           "mdl-retrain-msg", "mdl-stages")
    REASON, PROMOTE, ROLLBACK, ACTION_MSG = "mdl-reason", "mdl-promote", "mdl-rollback", "mdl-action-msg"
    LIVE_AT, LIVE_AT_OUT = "mdl-live-at", "mdl-live-at-out"
    SHADOW, DRIFT, DRIFT_NOTE, IMPORTANCE, DECISION = ("mdl-shadow", "mdl-drift", "mdl-drift-note",
                                                       "mdl-importance", "mdl-decision")


def _grid(element_id: str, columns: list[dict], height: int, empty: str, row_id: str) -> dag.AgGrid:
    return dag.AgGrid(id=element_id, columnDefs=columns, rowData=[], getRowId=row_id,
                      defaultColDef={"sortable": True, "resizable": True, "minWidth": 70, "flex": 1, "filter": False},
                      dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                        "enableClickSelection": True},
                                       "localeText": {"noRowsToShow": empty}, "animateRows": False},
                      style={"height": f"{height}px", "width": "100%"})


MODEL_COLUMNS = [column_def("name", header_name="Model", flex=3, minWidth=150),
                 column_def("symbol", header_name="Symbol"),
                 column_def("champion", "int", header_name="Champion", filter=False),
                 column_def("challenger", "int", header_name="Challenger", filter=False),
                 column_def("versions", "int", header_name="Versions", filter=False),
                 column_def("champion_age_days", "ratio", header_name="Age (days)", filter=False)]
VERSION_COLUMNS = [column_def("version", "int", header_name="Version"), column_def("alias", header_name="Alias"),
                   column_def("gates_passed", header_name="Gates"),
                   column_def("failed_gates", header_name="Failed gates", flex=2, minWidth=140),
                   column_def("oos_sharpe", "ratio", header_name="OOS SR", filter=False),
                   column_def("dsr", "ratio", header_name="DSR", headerTooltip="deflated Sharpe ratio", filter=False),
                   column_def("hit_rate", "pct", header_name="Hit rate", filter=False),
                   column_def("trials", "int", header_name="Trials", filter=False),
                   column_def("seed", "int", header_name="Seed", filter=False),
                   column_def("created_by", header_name="By"),
                   column_def("created_at", "ts", header_name="Created (UTC)", flex=2, minWidth=160)]
HISTORY_COLUMNS = [column_def("moved_at", "tsms", header_name="When (UTC)", flex=2, minWidth=170),
                   column_def("alias", header_name="Alias", minWidth=100), column_def("action", header_name="Action",
                                                                                      minWidth=90),
                   column_def("version", "int", header_name="To v", filter=False),
                   column_def("from_version", "int", header_name="From v", filter=False),
                   column_def("moved_by", header_name="By"), column_def("reason", header_name="Reason", flex=3)]


def layout(**_):
    from dashapp.security.guards import allowed
    from dashapp.security.permissions import Perm

    return models_page(allowed(Perm.MODELS_RETRAIN), allowed(Perm.MODELS_PROMOTE), uuid.uuid4().hex)


def retrain_form() -> html.Div:
    return html.Div([
        dbc.Row([dbc.Col([dbc.Label("Symbol", className="small mb-0"),
                          dbc.Select(id=ids.SYMBOL, value="AAPL", size="sm",
                                     options=[{"label": s, "value": s} for s in SYMBOLS])], width=4),
                 dbc.Col([dbc.Label("Seed", className="small mb-0"),
                          dbc.Input(id=ids.SEED, type="number", value=7, min=0, step=1, size="sm")], width=4),
                 dbc.Col([dbc.Label("DSR floor", className="small mb-0"),
                          dbc.Input(id=ids.MIN_DSR, type="number", value=0.5, min=0, max=1, step=0.05, size="sm")],
                         width=4)], className="g-1 mb-2"),
        html.Div("Gradient boosting of the next day's direction on the bundled daily closes (2015-2022): four "
                 "configurations scored by purged walk-forward, then five gates. The new version becomes the "
                 "challenger and runs in shadow.", className="small text-body-secondary mb-2"),
        dbc.Button("Retrain", id=ids.RETRAIN, color="primary", size="sm"),
        html.Div(id=ids.RETRAIN_MSG, className="mt-2"),
    ])


def stage_list(current: str | None, state: str, progress: float, message: str, error: str | None,
               started: dict[str, str] | None = None) -> html.Div:
    """The five stages with the current one marked (and the time each began, from the job's log), the
    progress bar and the job's last message."""
    started = started or {}
    reached = STAGES.index(current) if current in STAGES else -1
    done_all = state == "succeeded"
    badges = []
    for i, stage in enumerate(STAGES):
        colour = "success" if done_all or i < reached else ("info" if i == reached else "secondary")
        if i == reached and state in ("failed", "timed_out", "canceled"):
            colour = "danger"
        badges.append(html.Span([dbc.Badge(stage, color=colour, id=f"mdl-stage-{stage}"),
                                 html.Small(started.get(stage, ""), className="text-body-secondary ms-1",
                                            id=f"mdl-stage-{stage}-at")], className="me-2"))
    running = state in ("queued", "running")
    parts = [html.Div(badges, className="mb-1"),
             dbc.Progress(value=progress, label=f"{progress:.0f}%", striped=running, animated=running,
                          className="mb-1"),
             html.Div([html.Span(state, id="mdl-job-state", className="fw-semibold me-2"), message],
                      className="small", id="mdl-job-message")]
    if error:
        parts.append(dbc.Alert(error, color="danger", className="small mt-1 mb-0"))
    return html.Div(parts)


def models_page(can_retrain: bool, can_promote: bool, token: str) -> html.Div:
    retrain = retrain_form() if can_retrain else dbc.Alert(
        "Your role may read the registry but not retrain (that needs models:retrain).", color="secondary",
        id="mdl-no-retrain", className="small mb-0")
    actions = html.Div([
        dbc.Input(id=ids.REASON, placeholder="Reason (required, audited)", size="sm", maxLength=500,
                  className="mb-2"),
        dbc.Button("Promote selected version", id=ids.PROMOTE, color="warning", size="sm", className="me-2"),
        dbc.Button("Roll back to previous champion", id=ids.ROLLBACK, color="danger", outline=True, size="sm"),
        html.Div(id=ids.ACTION_MSG, className="mt-2"),
    ]) if can_promote else dbc.Alert("Your role may not promote or roll back models (that needs models:promote).",
                                     color="secondary", id="mdl-no-promote", className="small mb-0")
    return html.Div([
        page_header("Models", "registry, validation gates, champion/challenger in shadow, drift and explanations"),
        dcc.Store(id=ids.TOKEN, data=token), dcc.Store(id=ids.JOB), dcc.Store(id=ids.MODEL),
        dcc.Store(id=ids.VERSION), dcc.Store(id=ids.CHANGED, data=0),
        dcc.Interval(id=ids.INTERVAL, interval=1500),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Registry"), dbc.CardBody(
                _grid(ids.MODELS, MODEL_COLUMNS, 170, NO_MODELS, "params.data.name"))]), lg=7),
            dbc.Col(dbc.Card([dbc.CardHeader("Retrain"), dbc.CardBody([retrain, html.Div(id=ids.STAGES,
                                                                                         className="mt-2")])]),
                    lg=5),
        ], className="g-3"),
        dbc.Card([dbc.CardHeader("Versions"), dbc.CardBody(
            _grid(ids.VERSIONS, VERSION_COLUMNS, 190, "No versions yet.", "params.data.version"))], className="mt-3"),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Version detail"), dbc.CardBody(
                html.Div(empty_state(NO_VERSION), id=ids.DETAIL))]), lg=6),
            dbc.Col(dbc.Card([dbc.CardHeader("Validation gates"), dbc.CardBody(
                html.Div(empty_state(NO_VERSION), id=ids.GATES))]), lg=6),
        ], className="g-3 mt-0"),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Promote / roll back"), dbc.CardBody(actions)]), lg=5),
            dbc.Col(dbc.Card([dbc.CardHeader("Alias history"), dbc.CardBody([
                _grid(ids.HISTORY, HISTORY_COLUMNS, 200, "No alias moves yet.", "params.data.id"),
                dbc.InputGroup([dbc.InputGroupText("Champion live at (UTC)"),
                                dbc.Input(id=ids.LIVE_AT, placeholder="2026-12-06 07:30:00", size="sm",
                                          maxLength=32)], size="sm", className="mt-2"),
                html.Div(id=ids.LIVE_AT_OUT, className="small mt-1")])]), lg=7),
        ], className="g-3 mt-0"),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Shadow: champion vs challenger (paper P&L, never traded)"),
                              dbc.CardBody(dcc.Graph(id=ids.SHADOW, figure=empty_figure("No shadow signals yet."),
                                                     style={"height": "320px"}))]), lg=6),
            dbc.Col(dbc.Card([dbc.CardHeader("Feature drift vs the training window (PSI per month or quarter)"),
                              dbc.CardBody([dcc.Graph(id=ids.DRIFT, figure=empty_figure("Select a model."),
                                                      style={"height": "320px"}),
                                            html.Div(id=ids.DRIFT_NOTE, className="small")])]), lg=6),
        ], className="g-3 mt-0"),
        dbc.Card([dbc.CardHeader("Explanations: global importance and the last decision"), dbc.CardBody(dbc.Row([
            dbc.Col(dcc.Graph(id=ids.IMPORTANCE, figure=empty_figure("Select a model."), style={"height": "320px"}),
                    lg=7),
            dbc.Col(html.Div(empty_state("Select a model."), id=ids.DECISION), lg=5)]))], className="mt-3"),
    ], id="page-models")


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def _table(pairs: list[tuple[str, object]], element_id: str) -> dbc.Table:
    return dbc.Table([html.Tbody([html.Tr([html.Th(k, className="fw-normal text-body-secondary"),
                                           html.Td(_fmt(v))]) for k, v in pairs])],
                     size="sm", className="small mb-2", id=element_id)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return "—" if v is None else str(v)


METRIC_LABELS = {"oos_sharpe": "OOS Sharpe (annualised)", "oos_hit_rate": "OOS hit rate",
                 "oos_brier": "OOS Brier score",
                 "deflated_sharpe": "Deflated Sharpe ratio", "dsr_sr0": "Expected max Sharpe of the trials (per day)",
                 "trials": "Configurations tried", "trial_sharpes": "Their OOS Sharpes", "var_99": "VaR 99% (1 day)",
                 "max_drawdown": "Max drawdown", "dm_statistic": "DM statistic (HLN)",
                 "dm_pvalue": "DM p (challenger better)", "oos_rows": "OOS rows", "train_rows": "Training rows"}


def version_detail(d: dict) -> html.Div:
    metrics = [(METRIC_LABELS[k], d["metrics"][k]) for k in METRIC_LABELS if k in d["metrics"]]
    p = d["params"]
    lineage = [("Training window", f"{d['train_start']:%Y-%m-%d} to {d['train_end']:%Y-%m-%d}"),
               ("Job", d["job_id"] or "— (registered directly)"), ("Seed", d["seed"]),
               ("Code version", d["code_version"]), ("Artifact", d["artifact_path"]),
               ("Created", f"{d['created_by']}, {d['created_at']:%Y-%m-%d %H:%M:%S} UTC")]
    params = [("Estimator", p.get("estimator")), ("Max depth", p.get("max_depth")),
              ("Learning rate", p.get("learning_rate")), ("Trees", p.get("n_estimators")),
              ("Folds / embargo", f"{p.get('folds')} / {p.get('embargo')} bars"), ("Features", d["features"])]
    return html.Div([html.H3(f"{d['model']} v{d['version']}", className="h6"),
                     _table(metrics, "mdl-metrics"), html.H4("Parameters", className="h6 mt-2"),
                     _table(params, "mdl-params"), html.H4("Lineage", className="h6 mt-2"),
                     _table(lineage, "mdl-lineage")])


def gates_table(gates: list[dict]) -> html.Div:
    if not gates:
        return empty_state("This version has no gate results: it cannot be promoted.")
    rows = []
    for g in gates:
        detail = ", ".join(f"{k} {_fmt(v)}" for k, v in g.get("detail", {}).items())
        rows.append(html.Tr([html.Td(g.get("label", g["name"])),
                             html.Td(dbc.Badge("pass" if g["passed"] else "FAIL",
                                               color="success" if g["passed"] else "danger"),
                                     id=f"mdl-gate-{g['name']}"),
                             html.Td(_fmt(g.get("value"))), html.Td(_fmt(g.get("threshold"))),
                             html.Td(detail, className="text-body-secondary")]))
    head = html.Thead(html.Tr([html.Th(h) for h in ("Gate", "Result", "Value", "Threshold", "Figures")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="small mb-0", id="mdl-gates-table",
                     responsive=True)
