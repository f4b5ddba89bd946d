"""The shell: theme switch (applied in the browser, remembered per user on the server)."""
from dash import ClientsideFunction, Input, Output, clientside_callback
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import users
from layouts.ids import Shell


def register() -> None:
    clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="applyTheme"),
        Output(Shell.THEME_SINK, "children"),
        Input(Shell.THEME_SWITCH, "value"),
    )

    clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="startLive"),
        Output(Shell.LIVE_SINK, "children"),
        Input(Shell.URL, "pathname"),
    )

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Shell.THEME_STATUS, "children"),
                      Input(Shell.THEME_SWITCH, "value"), prevent_initial_call=True)
    def remember_theme(dark):
        users.set_theme(current_user.id, "dark" if dark else "light")
        return "dark" if dark else "light"
