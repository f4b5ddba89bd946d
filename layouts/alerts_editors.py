"""The Alerts page's Rules and Notifications tabs (pure layout). Everyone reads the rules, the routing
tree, contact points (secrets shortened), silences, inhibition rules, timings and the notification log;
the rule form and the notification JSON editor are drawn for ALERT_RULES_EDIT (risk, admin), the silence
form for ALERTS_ACT (trader, risk, admin)."""
from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.alerts_ids import AlertsPage as A
from layouts.alerts_parts import SEVERITIES, field, grid

KINDS = ("threshold", "anomaly", "pattern", "composite", "expression", "predictive")
# A working example per kind: the form starts from it when the kind is chosen.
SPEC_EXAMPLES = {
    "threshold": {"metric": "risk.limit_utilisation", "op": ">=", "value": 1.0, "every_seconds": 5},
    "anomaly": {"metric": "execution.slippage_bps", "method": "mad", "window_seconds": 3600, "threshold": 4.0,
                "direction": "above", "min_samples": 20},
    "pattern": {"source": "execution.reject", "count": 5, "within_seconds": 60, "group_by": ["venue"]},
    "composite": {"conditions": [{"metric": "execution.reject_rate", "op": ">", "value": 0.05, "weight": 2},
                                 {"metric": "execution.latency_ms", "op": ">", "value": 500, "weight": 1}],
                  "score_threshold": 2},
    "expression": {"text": "risk.var_99 > 250000 and pnl.drawdown < -0.05"},
    "predictive": {"metric": "risk.gross_exposure", "limit": 5000000, "horizon_seconds": 3600,
                   "lookback_seconds": 3600, "direction": "above"},
}
KIND_HELP = {
    "threshold": "metric op value: fires while the metric's value passes the threshold (per label set).",
    "anomaly": "rolling z-score or robust MAD score of the metric over window_seconds (optionally per time of "
               "day); fires when the score passes threshold.",
    "pattern": "count events of a source (execution.reject, engine.fault, jobs.failed) within within_seconds.",
    "composite": "weighted conditions: fires when the sum of the weights of the true ones reaches score_threshold.",
    "expression": "a boolean expression over metric names (and, or, not, comparisons, + - * /); parsed safely, "
                  "never evaluated as code.",
    "predictive": "linear extrapolation over lookback_seconds: fires when the metric would reach limit within "
                  "horizon_seconds.",
}
RULE_COLUMNS = [("name", "name", 190, {}), ("kind", "kind", 100, {}), ("severity", "severity", 105, {}),
                ("enabled_text", "enabled_text", 90, {}), ("pending_seconds", "pending_seconds", 110, {}),
                ("keep_firing_seconds", "keep_firing_seconds", 120, {}), ("labels_text", "alert_labels", 180, {}),
                ("builtin_text", "builtin_text", 90, {}), ("version", "version", 80, {}),
                ("updated_by", "updated_by", 110, {})]
CP_COLUMNS = [("name", "name", 150, {}), ("kind", "kind", 100, {}), ("enabled_text", "enabled_text", 90, {}),
              ("settings_text", "settings_text", 300, {"tooltipField": "settings_text"})]
SILENCE_COLUMNS = [("matchers_text", "matchers_text", 220, {}), ("starts_at", "starts_at", 165, {}),
                   ("ends_at", "ends_at", 165, {}), ("status", "status", 100, {}), ("comment", "comment", 200, {}),
                   ("created_by", "created_by", 110, {})]
INHIBITION_COLUMNS = [("source_text", "source_text", 200, {}), ("target_text", "target_text", 200, {}),
                      ("equal_text", "equal_text", 140, {}), ("comment", "comment", 200, {})]
TIMING_COLUMNS = [("name", "name", 160, {}), ("spec_text", "spec_text", 360, {"tooltipField": "spec_text"})]
LOG_COLUMNS = [("created_at", "created_at", 165, {}), ("event", "event", 100, {}), ("status", "status", 105, {}),
               ("reason", "reason", 130, {}), ("contact_point", "contact_point", 140, {}), ("rule", "rule", 150, {}),
               ("alert_id", "alert_id", 80, {}), ("attempts", "attempts", 90, {}),
               ("last_error", "last_error", 220, {"tooltipField": "last_error"})]
EDIT_WHAT = [("policy", "Notification policy"), ("contact_point", "Contact point"), ("inhibition", "Inhibition rule"),
             ("timing", "Mute/active timing")]
EDIT_EXAMPLES = {
    "policy": {"name": "risk desk", "parent_id": 1, "matchers": "team=risk", "contact_point": "Cockpit inbox",
               "group_by": ["alertname"], "group_wait_seconds": 30, "group_interval_seconds": 300,
               "repeat_interval_seconds": 14400, "mute_timings": [], "escalation": []},
    "contact_point": {"name": "desk-webhook", "kind": "webhook", "settings": {"url": "https://hooks.example.com/x"},
                      "enabled": True},
    "inhibition": {"source_matchers": "alertname=engine_down", "target_matchers": "team=execution",
                   "equal": ["engine_id"], "comment": "an engine that is down explains its execution alerts"},
    "timing": {"name": "outside-nyse-hours", "spec": {"calendar": "XNYS", "when": "closed"}},
}


def example(kind: str) -> str:
    return json.dumps(SPEC_EXAMPLES.get(kind, {}), indent=2)


def rules_tab(can_edit: bool) -> html.Div:
    return html.Div([
        dcc.Store(id=A.R_CHANGED),
        grid(A.R_GRID, RULE_COLUMNS, "No alert rules yet.", 300),
        rule_form() if can_edit else html.Div(
            "You can read the rules; writing them needs the risk or admin role.",
            className="small text-body-secondary mt-2", id="al-rules-read-only"),
    ], className="pt-3")


def rule_form() -> dbc.Card:
    kinds = [{"label": k, "value": k} for k in KINDS]
    return dbc.Card([
        dbc.CardHeader(dbc.Row([
            dbc.Col([html.Span("New or selected rule", className="fw-semibold me-2"),
                     html.Small("Editing: none (a new rule)", id=A.R_SELECTED, className="text-body-secondary")]),
            dbc.Col(dbc.Button("Clear form", id=A.R_CLEAR, size="sm", color="link", className="p-0"), width="auto"),
        ], className="align-items-center")),
        dbc.CardBody([
            dbc.Row([
                field("Name", dbc.Input(id=A.R_NAME, maxLength=80, autoComplete="off",
                                        placeholder="e.g. reject_burst_xnas"), md=3),
                field("Kind", dbc.Select(id=A.R_KIND, options=kinds, value="threshold"), md=2),
                field("Severity", dbc.Select(id=A.R_SEVERITY, options=[{"label": s, "value": s} for s in SEVERITIES],
                                             value="warning"), md=2),
                field("Pending (s)", dbc.Input(id=A.R_PENDING, type="number", min=0, max=2592000, value=0), md=2),
                field("Keep firing (s)", dbc.Input(id=A.R_KEEP, type="number", min=0, max=2592000, value=0), md=3),
            ], className="g-2"),
            dbc.Row([
                field("Labels", dbc.Input(id=A.R_LABELS, placeholder="team=risk, desk=macro", maxLength=1000,
                                          autoComplete="off"), md=4),
                field("Description", dbc.Input(id=A.R_DESCRIPTION, maxLength=500, autoComplete="off"), md=5),
                field("Runbook", dbc.Input(id=A.R_RUNBOOK, maxLength=80, placeholder="slug", autoComplete="off"), md=3),
            ], className="g-2"),
            field("Spec (JSON, fields of the kind)", dbc.Textarea(id=A.R_SPEC, value=example("threshold"), rows=7,
                                                                  className="font-monospace small")),
            html.Div(KIND_HELP["threshold"], id=A.R_KIND_HELP, className="small text-body-secondary mb-2"),
            html.Div(id=A.R_MESSAGE),
            html.Div(id=A.R_PREVIEW_RESULT),
            html.Div([
                dbc.Button("Preview this week", id=A.R_PREVIEW, color="info", outline=True, size="sm"),
                dbc.Button("Create rule", id=A.R_CREATE, color="primary", size="sm"),
                dbc.Button("Save changes", id=A.R_SAVE, color="primary", outline=True, size="sm"),
                dbc.Button("Enable", id=A.R_ENABLE, color="success", outline=True, size="sm"),
                dbc.Button("Disable", id=A.R_DISABLE, color="warning", outline=True, size="sm"),
                dcc.ConfirmDialogProvider(dbc.Button("Delete", id="al-r-delete-button", color="danger", outline=True,
                                                     size="sm"),
                                          id=A.R_DELETE, message="Delete the selected rule and its alert history?"),
            ], className="d-flex flex-wrap gap-1"),
        ]),
    ], id=A.R_FORM, className="mt-3")


def _card(title: str, *children, card_id: str | None = None) -> dbc.Card:
    props = {"id": card_id} if card_id else {}
    return dbc.Card([dbc.CardHeader(title, className="fw-semibold"), dbc.CardBody(list(children))],
                    className="mb-3", **props)


def notifications_tab(can_edit: bool, can_act: bool) -> html.Div:
    return html.Div([
        dcc.Store(id=A.N_CHANGED),
        html.Div(id=A.N_MESSAGE),
        dbc.Row([
            dbc.Col(_card("Routing tree (policies)", html.Div(id=A.N_TREE, className="small")), md=5),
            dbc.Col(_card("Contact points", grid(A.N_CP_GRID, CP_COLUMNS, "No contact points.", 160)), md=7),
        ], className="g-3"),
        _card("Silences", silence_form() if can_act else None,
              grid(A.N_SIL_GRID, SILENCE_COLUMNS, "No silences active or planned.", 200)),
        dbc.Row([
            dbc.Col(_card("Inhibition rules", grid(A.N_INH_GRID, INHIBITION_COLUMNS, "No inhibition rules.", 180)),
                    md=6),
            dbc.Col(_card("Mute / active timings", grid(A.N_TIM_GRID, TIMING_COLUMNS, "No timings.", 180)), md=6),
        ], className="g-3"),
        edit_form() if can_edit else html.Div(
            "Editing policies, contact points, inhibition and timings needs the risk or admin role.",
            className="small text-body-secondary mb-3", id="al-notify-read-only"),
        _card("Notification log (sent, retried, failed, and not sent with the reason)",
              dbc.Select(id=A.N_LOG_STATUS, value="any", size="sm", className="mb-2 w-auto", options=[
                  {"label": "every status", "value": "any"},
                  *[{"label": s, "value": s} for s in ("sent", "suppressed", "retrying", "failed", "queued")]]),
              grid(A.N_LOG_GRID, LOG_COLUMNS, "No notifications yet.", 320)),
    ], className="pt-3")


def silence_form() -> html.Div:
    return html.Div([
        dbc.Row([
            field("Matchers", dbc.Input(id=A.N_SIL_MATCHERS, placeholder="alertname=slippage_high, venue=XNAS",
                                        maxLength=1000, autoComplete="off"), md=4),
            field("For (hours)", dbc.Input(id=A.N_SIL_HOURS, type="number", min=1, max=24 * 30, value=2), md=2),
            field("Comment", dbc.Input(id=A.N_SIL_COMMENT, maxLength=300, autoComplete="off",
                                       placeholder="why"), md=3),
            dbc.Col([dbc.Button("Create silence", id=A.N_SIL_CREATE, size="sm", color="primary", className="me-1"),
                     dbc.Button("Expire selected", id=A.N_SIL_EXPIRE, size="sm", color="secondary", outline=True)],
                    md=3, className="d-flex align-items-end mb-2"),
        ], className="g-2"),
    ], id=A.N_SIL_FORM, className="mb-2")


def edit_form() -> dbc.Card:
    return _card("Edit a policy, contact point, inhibition rule or timing", dbc.Row([
        field("What", dbc.Select(id=A.N_WHAT, value="policy", options=[{"label": t, "value": v} for v, t in EDIT_WHAT]),
              md=3),
        field("Id (empty = new)", dbc.Input(id=A.N_EDIT_ID, type="number", min=1, autoComplete="off"), md=2),
        dbc.Col(html.Div("Click a row above to load it here.", id=A.N_EDIT_HELP,
                         className="small text-body-secondary mt-4"), md=7),
    ], className="g-2"), dbc.Textarea(id=A.N_EDIT_JSON, rows=8, className="font-monospace small mb-2",
                                      value=json.dumps(EDIT_EXAMPLES["policy"], indent=2)),
        html.Div([dbc.Button("Save", id=A.N_EDIT_SAVE, size="sm", color="primary"),
                  dcc.ConfirmDialogProvider(dbc.Button("Delete", size="sm", color="danger", outline=True),
                                            id=A.N_EDIT_DELETE, message="Delete this object?")],
                 className="d-flex gap-1"),
        card_id=A.N_EDIT_FORM)
