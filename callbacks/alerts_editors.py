"""Alerts page, Rules and Notifications tabs. Reading needs VIEW_ALERTS; rules, policies, contact points,
inhibition and timings need ALERT_RULES_EDIT (risk, admin), silences ALERTS_ACT (trader, risk, admin),
each checked by guarded_callback on the server. The owners' services (rules.py, preview.py, policies.py,
contact_points.py, silences.py, inhibition.py, timings.py) validate and audit; their errors become
in-page messages naming the field."""
from __future__ import annotations

import json
import uuid

from dash import Input, Output, State, ctx, html, no_update

from dashapp.security.guards import current_username, guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.alerts import inbox, notify_view
from dashapp.services.errors import ServiceError, ValidationError
from layouts.alerts_editors import EDIT_EXAMPLES, KIND_HELP, SPEC_EXAMPLES, example
from layouts.alerts_ids import AlertsPage as A
from layouts.alerts_parts import notice

RULE_FORM = [State(A.R_NAME, "value"), State(A.R_KIND, "value"), State(A.R_SEVERITY, "value"),
             State(A.R_PENDING, "value"), State(A.R_KEEP, "value"), State(A.R_LABELS, "value"),
             State(A.R_DESCRIPTION, "value"), State(A.R_RUNBOOK, "value"), State(A.R_SPEC, "value")]
EMPTY_RULE = ("Editing: none (a new rule)", "", "threshold", "warning", 0, 0, "", "", "", example("threshold"))
MAX_JSON = 16 * 1024


def parse_json(text, field: str) -> dict:
    if not isinstance(text, str) or len(text) > MAX_JSON:
        raise ValidationError(f"{field}: JSON text of at most {MAX_JSON} characters", field=field)
    try:
        value = json.loads(text or "{}")
    except ValueError as err:
        raise ValidationError(f"{field}: not valid JSON ({err.msg} at line {err.lineno})", field=field) from None
    if not isinstance(value, dict):
        raise ValidationError(f"{field}: must be a JSON object", field=field)
    return value


def parse_labels(text) -> dict:
    matchers = inbox.parse_matchers(text, "labels")
    if any(m.op != "=" for m in matchers):
        raise ValidationError("labels: write them as name=value, separated by commas", field="labels")
    return {m.label: m.value for m in matchers}


def _seconds(value, field: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValidationError(f"{field}: a whole number of seconds", field=field)
    return int(value)


def rule_data(name, kind, severity, pending, keep, labels, description, runbook, spec) -> dict:
    return {"name": name or "", "kind": kind, "severity": severity,
            "pending_seconds": _seconds(pending, "pending_seconds"),
            "keep_firing_seconds": _seconds(keep, "keep_firing_seconds"), "labels": parse_labels(labels),
            "description": description or "", "runbook": runbook or "", "spec": parse_json(spec, "spec")}


def rule_action(action: str, rows, form: list) -> tuple[str, str | None]:
    """(message, preview text) for one rule button."""
    from dashapp.services.alerts import preview, rules

    actor = current_username()
    selected = rows[0]["id"] if rows and isinstance(rows, list) and isinstance(rows[0], dict) else None
    if action in (A.R_CREATE, A.R_SAVE, A.R_PREVIEW):
        data = rule_data(*form)
        if action == A.R_PREVIEW:
            result = preview.preview(data["kind"], data["spec"], name=data["name"] or "preview", labels=data["labels"],
                                     pending_seconds=data["pending_seconds"],
                                     keep_firing_seconds=data["keep_firing_seconds"], days=7)
            return "", f"Preview: {result.note}." + (
                f" Longest series step {result.step_seconds} s." if getattr(result, "step_seconds", None) else "")
        if action == A.R_CREATE:
            rule = rules.create_rule(actor, {**data, "enabled": False})
            return f"Rule {rule.name!r} created, disabled: preview it, then Enable.", None
        if selected is None:
            raise ValidationError("no rule selected: click a row in the rules grid first", field="rule_id")
        current = rules.get_rule(selected)
        rule = rules.update_rule(selected, actor, {**data, "enabled": current.enabled})
        return f"Rule {rule.name!r} saved (version {rule.version}).", None
    if selected is None:
        raise ValidationError("no rule selected: click a row in the rules grid first", field="rule_id")
    if action in (A.R_ENABLE, A.R_DISABLE):
        rule = rules.set_enabled(selected, actor, action == A.R_ENABLE)
        return f"Rule {rule.name!r} {'enabled' if rule.enabled else 'disabled'}.", None
    if action == A.R_DELETE:
        rules.delete_rule(selected, actor)
        return "Rule deleted with its alerts and their history.", None
    raise ValidationError("unknown action", field="action")


def save_object(what: str, ident, data: dict, delete: bool = False) -> str:
    from dashapp.services.alerts import contact_points, inhibition, policies, timings

    actor = current_username()
    if ident not in (None, "") and (isinstance(ident, bool) or not isinstance(ident, int) or ident < 1):
        raise ValidationError("id: a positive whole number, or empty for a new one", field="id")
    ident = ident or None
    if delete:
        if ident is None:
            raise ValidationError("id: say which one to delete", field="id")
        {"policy": lambda: policies.delete_policy(actor, ident),
         "contact_point": lambda: contact_points.delete_contact_point(ident, actor),
         "inhibition": lambda: inhibition.delete_rule(actor, ident),
         "timing": lambda: timings.delete_interval(actor, ident)}[what]()
        return f"{what.replace('_', ' ')} {ident} deleted."
    if what == "policy":
        row = policies.save_policy(actor, data, ident)
    elif what == "contact_point":
        if ident is not None:
            data = {**data, "settings": notify_view.unredact(ident, data.get("settings"))}
        row = (contact_points.update_contact_point(ident, actor, data) if ident
               else contact_points.create_contact_point(actor, data))
    elif what == "inhibition":
        row = inhibition.save_rule(actor, data, ident)
    elif what == "timing":
        row = timings.save_interval(actor, data, ident)
    else:
        raise ValidationError("what: policy, contact_point, inhibition or timing", field="what")
    return f"{what.replace('_', ' ')} {row.id} saved."


def tree(nodes: list[dict]):
    if not nodes:
        return html.Span("No routing tree yet: every alert shows in the inbox only.", className="fst-italic")
    return html.Ul([html.Li([html.Strong(n["name"]), f" · {n['matchers']} → {n['contact_point']}",
                             html.Div(f"{n['timings']}" + (f" · group by {n['group_by']}" if n["group_by"] else "")
                                      + (f" · muted: {n['mute']}" if n["mute"] else ""),
                                      className="text-body-secondary"),
                             html.Div(n["problem"], className="text-danger") if n["problem"] else None],
                            style={"marginLeft": f"{n['depth'] * 1.2}rem"}, className="mb-1", id=f"al-policy-{n['id']}")
                    for n in nodes], className="list-unstyled mb-0", id="al-policy-tree")


def register() -> None:
    @guarded_callback(Perm.VIEW_ALERTS, Output(A.R_GRID, "rowData"), Input(A.R_CHANGED, "data"),
                      Input(A.TABS, "active_tab"))
    def refresh_rules(_changed, tab):
        return notify_view.rule_rows() if tab == "rules" else no_update

    @guarded_callback(Perm.ALERT_RULES_EDIT, Output(A.R_SELECTED, "children"),
                      *[Output(s.component_id, s.component_property) for s in RULE_FORM],
                      Input(A.R_GRID, "selectedRows"), Input(A.R_CLEAR, "n_clicks"), prevent_initial_call=True)
    def fill_rule_form(rows, _clear):
        if ctx.triggered_id == A.R_CLEAR or not rows or not isinstance(rows[0], dict):
            return EMPTY_RULE
        r = rows[0]
        return (f"Editing: {r.get('name')} (id {r.get('id')})", r.get("name"), r.get("kind"), r.get("severity"),
                r.get("pending_seconds"), r.get("keep_firing_seconds"), r.get("labels_text"), r.get("description"),
                r.get("runbook"), r.get("spec_json"))

    @guarded_callback(Perm.ALERT_RULES_EDIT, Output(A.R_KIND_HELP, "children"), Output(A.R_SPEC, "value"),
                      Input(A.R_KIND, "value"), State(A.R_SPEC, "value"), prevent_initial_call=True)
    def kind_changed(kind, spec):
        untouched = not spec or spec.strip() in {example(k) for k in SPEC_EXAMPLES}
        return KIND_HELP.get(kind, ""), example(kind) if untouched else no_update

    @guarded_callback(Perm.ALERT_RULES_EDIT, Output(A.R_MESSAGE, "children"), Output(A.R_PREVIEW_RESULT, "children"),
                      Output(A.R_CHANGED, "data"),
                      Input(A.R_PREVIEW, "n_clicks"), Input(A.R_CREATE, "n_clicks"), Input(A.R_SAVE, "n_clicks"),
                      Input(A.R_ENABLE, "n_clicks"), Input(A.R_DISABLE, "n_clicks"),
                      Input(A.R_DELETE, "submit_n_clicks"), State(A.R_GRID, "selectedRows"), *RULE_FORM,
                      prevent_initial_call=True)
    def act_on_rule(*args):
        try:
            text, preview_text = rule_action(ctx.triggered_id, args[6], list(args[7:16]))
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="al-r-error"), None, no_update
        if preview_text is not None:
            return None, html.Div(preview_text, className="alert alert-info py-2 small", id="al-r-preview-text"), \
                no_update
        return notice(text, element_id="al-r-ok"), None, uuid.uuid4().hex

    @guarded_callback(Perm.VIEW_ALERTS, Output(A.N_TREE, "children"), Output(A.N_CP_GRID, "rowData"),
                      Output(A.N_SIL_GRID, "rowData"), Output(A.N_INH_GRID, "rowData"), Output(A.N_TIM_GRID, "rowData"),
                      Output(A.N_LOG_GRID, "rowData"), Input(A.N_CHANGED, "data"), Input(A.TABS, "active_tab"),
                      Input(A.N_LOG_STATUS, "value"), Input(A.INTERVAL, "n_intervals"))
    def refresh_notifications(_changed, tab, status, _n):
        if tab != "notifications":
            return (no_update,) * 6
        return (tree(notify_view.policy_tree()), notify_view.contact_point_rows(), notify_view.silence_rows(),
                notify_view.inhibition_rows(), notify_view.timing_rows(),
                notify_view.notification_log(status if isinstance(status, str) and status != "any" else None))

    @guarded_callback(Perm.ALERTS_ACT, Output(A.N_MESSAGE, "children"), Output(A.N_CHANGED, "data"),
                      Input(A.N_SIL_CREATE, "n_clicks"), Input(A.N_SIL_EXPIRE, "n_clicks"),
                      State(A.N_SIL_MATCHERS, "value"), State(A.N_SIL_HOURS, "value"), State(A.N_SIL_COMMENT, "value"),
                      State(A.N_SIL_GRID, "selectedRows"), prevent_initial_call=True)
    def act_on_silence(_create, _expire, matchers, hours, comment, rows):
        from dashapp.services.alerts import silences

        try:
            if ctx.triggered_id == A.N_SIL_EXPIRE:
                if not rows or not isinstance(rows[0], dict):
                    raise ValidationError("no silence selected: click a row first", field="silence_id")
                row = silences.expire_silence(current_username(), rows[0].get("id"))
                return notice(f"Silence {row.id} expired.", element_id="al-n-ok"), uuid.uuid4().hex
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 30:
                raise ValidationError("hours: 1 to 720", field="duration")
            row = silences.create_silence(current_username(), {"matchers": matchers or "", "comment": comment or "",
                                                               "duration_minutes": int(hours * 60)})
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="al-n-error"), no_update
        return notice(f"Silence {row.id} created until {row.ends_at:%Y-%m-%d %H:%M} UTC.",
                      element_id="al-n-ok"), uuid.uuid4().hex

    @guarded_callback(Perm.ALERT_RULES_EDIT, Output(A.N_WHAT, "value"), Output(A.N_EDIT_ID, "value"),
                      Output(A.N_EDIT_JSON, "value"), Output(A.N_EDIT_HELP, "children"),
                      Input(A.N_CP_GRID, "selectedRows"), Input(A.N_INH_GRID, "selectedRows"),
                      Input(A.N_TIM_GRID, "selectedRows"), Input(A.N_WHAT, "value"), Input(A.N_EDIT_ID, "value"),
                      prevent_initial_call=True)
    def load_object(cp_rows, inh_rows, tim_rows, what, ident):
        picked = {A.N_CP_GRID: ("contact_point", cp_rows), A.N_INH_GRID: ("inhibition", inh_rows),
                  A.N_TIM_GRID: ("timing", tim_rows)}.get(ctx.triggered_id)
        if picked and picked[1] and isinstance(picked[1][0], dict):
            kind, row = picked[0], picked[1][0]
            return kind, row.get("id"), json.dumps(row.get("edit", {}), indent=2), f"Editing {kind} {row.get('id')}."
        if ctx.triggered_id == A.N_EDIT_ID and what == "policy" and isinstance(ident, int):
            node = notify_view.policy_edit(ident)
            if node is not None:
                return no_update, no_update, json.dumps(node, indent=2), f"Editing policy {ident}."
            return no_update, no_update, no_update, f"No policy {ident}: saving creates a new one."
        if ctx.triggered_id == A.N_WHAT and what in EDIT_EXAMPLES:
            return no_update, None, json.dumps(EDIT_EXAMPLES[what], indent=2), "A new one (example shown)."
        return no_update, no_update, no_update, no_update

    @guarded_callback(Perm.ALERT_RULES_EDIT, Output(A.N_MESSAGE, "children", allow_duplicate=True),
                      Output(A.N_CHANGED, "data", allow_duplicate=True), Input(A.N_EDIT_SAVE, "n_clicks"),
                      Input(A.N_EDIT_DELETE, "submit_n_clicks"), State(A.N_WHAT, "value"), State(A.N_EDIT_ID, "value"),
                      State(A.N_EDIT_JSON, "value"), prevent_initial_call=True)
    def save_notification_object(_save, _delete, what, ident, text):
        try:
            if what not in EDIT_EXAMPLES:
                raise ValidationError("what: policy, contact_point, inhibition or timing", field="what")
            delete = ctx.triggered_id == A.N_EDIT_DELETE
            message = save_object(what, ident, {} if delete else parse_json(text, "json"), delete)
        except ServiceError as err:
            return notice(err.message, ok=False, element_id="al-n-error"), no_update
        return notice(message, element_id="al-n-ok"), uuid.uuid4().hex
