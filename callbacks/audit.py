"""Audit callbacks: query the trail with the filters, and verify the whole chain on demand."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import audit, preferences
from layouts.audit import MAX_ROWS
from layouts.ids import Audit, Shell


def record_rows(records) -> list[dict]:
    return [{"id": r.id, "time": r.created_at.strftime("%Y-%m-%d %H:%M:%S"), "actor": r.actor, "action": r.action,
             "target": r.target, "outcome": r.outcome, "details": "" if r.details == "{}" else r.details}
            for r in records]


def action_options(actions: list[str]) -> list[dict]:
    """Each family ("user.") first, then each exact action; the query matches by prefix."""
    families = sorted({action.split(".", 1)[0] + "." for action in actions if "." in action})
    return ([{"label": f"{family}* (all)", "value": family} for family in families]
            + [{"label": action, "value": action} for action in actions])


def count_text(shown: int) -> str:
    text = f"{shown} record{'s' if shown != 1 else ''} shown, newest first."
    if shown >= MAX_ROWS:
        text += f" Only the newest {MAX_ROWS} are listed: narrow the filters to reach older ones."
    return text


def verify_alert(result: audit.VerifyResult) -> dbc.Alert:
    if result.ok:
        return dbc.Alert([html.Strong("OK: "), f"the audit chain verifies — {result.checked} records, "
                          "every link, hash and signature checked, and its end matches the signed checkpoint."],
                         color="success", dismissable=True)
    if result.missing:  # the newest records were deleted: say how many, and where the gap is
        return dbc.Alert([html.Strong(f"BROKEN: {result.gap}. "), result.reason,
                          f". {result.checked} records present verify."], color="danger", dismissable=True,
                         id="audit-gap")
    if result.broken_id is None:
        return dbc.Alert([html.Strong("BROKEN: "), result.reason, f". {result.checked} records verify."],
                         color="danger", dismissable=True)
    return dbc.Alert([html.Strong(f"BROKEN at record {result.broken_id}: "), result.reason,
                      f". {result.checked} records before it verify."], color="danger", dismissable=True)


def register() -> None:
    @guarded_callback(Perm.VIEW_AUDIT, Output(Audit.GRID, "rowData"), Output(Audit.COUNT, "children"),
                      Output(Audit.ACTION, "options"),
                      Input(Audit.APPLY, "n_clicks"), Input(Audit.ACTOR, "n_submit"), Input(Audit.TEXT, "n_submit"),
                      Input(Shell.TIME_RANGE, "value"),
                      State(Audit.ACTOR, "value"), State(Audit.ACTION, "value"), State(Audit.TEXT, "value"))
    def apply_filters(_n, _actor_enter, _text_enter, time_range, actor, action, text):
        records = audit.query(actor=(actor or "").strip() or None, action=action or None,
                              text=(text or "").strip() or None, since=preferences.window_start(time_range),
                              limit=MAX_ROWS)
        return record_rows(records), count_text(len(records)), action_options(audit.distinct_actions())

    @guarded_callback(Perm.VIEW_AUDIT, Output(Audit.VERIFY_RESULT, "children"),
                      Input(Audit.VERIFY, "n_clicks"), prevent_initial_call=True)
    def verify(_n):
        return verify_alert(audit.verify_chain())
