"""The step-up prompt: a modal in the shell that asks for an authenticator code when an action
answered MfaRequired. A page shows the refusal with `refusal(err)`; its "Enter code" button (a
pattern-matching id) opens the prompt at once, and a good code makes the session fresh for the
window (callbacks/mfa_prompt.py). The page's own action is then simply repeated."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.ids_governance import MfaPrompt

STEP_UP = "mfa-step-up"  # pattern-matching button type inside a refusal


def shell_parts() -> list:
    return [
        dcc.Store(id=MfaPrompt.VERIFIED),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Two-factor code")),
            dbc.ModalBody([
                html.P(id=MfaPrompt.TEXT, className="small"),
                dbc.Label("Code from your authenticator app (or a recovery code)", html_for=MfaPrompt.CODE,
                          className="small"),
                dbc.Input(id=MfaPrompt.CODE, inputMode="numeric", autoComplete="one-time-code", maxLength=16,
                          debounce=False),
                html.Div(id=MfaPrompt.MESSAGE, className="mt-2"),
            ]),
            dbc.ModalFooter([dbc.Button("Cancel", id=MfaPrompt.CANCEL, color="secondary"),
                             dbc.Button("Verify", id=MfaPrompt.VERIFY, color="primary")]),
        ], id=MfaPrompt.MODAL, is_open=False, backdrop="static"),
    ]


def refusal(err, alert_id: str | None = None) -> dbc.Alert:
    """The alert for a refused action; for MfaRequired it carries the button that opens the prompt."""
    from dashapp.services.mfa import MfaRequired

    props = {"id": alert_id} if alert_id else {}
    if isinstance(err, MfaRequired) and err.why == "stale":
        return dbc.Alert([html.Span(err.message, className="me-2"),
                          dbc.Button("Enter code", id={"type": STEP_UP, "action": (err.action or "action")[:60]},
                                     size="sm", color="warning", className="mfa-step-up")],
                         color="warning", className="py-1 mb-0 mfa-required", **props)
    if isinstance(err, MfaRequired) and err.why == "not_enrolled":
        return dbc.Alert([html.Span(err.message, className="me-2"), html.A("Set up on Account", href="/account")],
                         color="warning", className="py-1 mb-0 mfa-required", **props)
    return dbc.Alert(err.message, color="danger", className="py-1 mb-0", **props)
