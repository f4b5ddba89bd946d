"""The step-up prompt's callback: opened by a refusal's "Enter code" button, verifies the code
(services/mfa.verify marks this server-side session fresh), closes itself."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, no_update
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import mfa
from dashapp.services.errors import ServiceError
from layouts.ids_governance import MfaPrompt
from layouts.mfa_prompt import STEP_UP


def register() -> None:
    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(MfaPrompt.MODAL, "is_open"), Output(MfaPrompt.TEXT, "children"),
                      Output(MfaPrompt.CODE, "value"), Output(MfaPrompt.MESSAGE, "children"),
                      Output(MfaPrompt.VERIFIED, "data"),
                      Input({"type": STEP_UP, "action": ALL}, "n_clicks"), Input(MfaPrompt.CANCEL, "n_clicks"),
                      Input(MfaPrompt.VERIFY, "n_clicks"), Input(MfaPrompt.CODE, "n_submit"),
                      State(MfaPrompt.CODE, "value"))
    def prompt(_step_ups, _cancel, _verify, _submit, code):
        trigger = ctx.triggered_id
        if isinstance(trigger, dict):  # a refusal with the button appeared (or was clicked): ask at once
            return (True, f"A fresh code is needed for {trigger.get('action', 'this action')}.", "", None, no_update)
        if trigger == MfaPrompt.CANCEL:
            return False, no_update, "", None, no_update
        if trigger in (MfaPrompt.VERIFY, MfaPrompt.CODE):
            try:
                mfa.verify(current_user, code)
            except ServiceError as err:
                return no_update, no_update, "", dbc.Alert(err.message, color="danger", className="py-1 mb-0",
                                                           id="mfa-prompt-error"), no_update
            minutes = mfa.fresh_minutes()
            return False, no_update, "", None, {"verified": True, "minutes": minutes}
        return no_update, no_update, no_update, no_update, no_update
