"""The shell: theme switch (applied in the browser, remembered per user on the server), the
trading-mode badge kept current, and the auto-refresh / time-range choices remembered per user."""
from dash import ClientsideFunction, Input, Output, State, clientside_callback, no_update
from flask_login import current_user

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services import app_settings, preferences, snapshots, users
from layouts import refresh
from layouts.ids import Shell
from layouts.shell import mode_badge_parts

MODE_PERIOD = 1.0  # seconds: one read of the trading mode per period for every session together


def build_mode() -> tuple:
    return mode_badge_parts(app_settings.get("trading_mode") or "paper")


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

    # The badge was drawn once per page load, so a mode change showed only after a reload. It is read
    # again on every pushed event and every few seconds (the store is the truth, not the click).
    @guarded_callback(Perm.VIEW_COMMAND_CENTER, Output(Shell.MODE_BADGE, "children"),
                      Output(Shell.MODE_BADGE, "color"), Input(Shell.STATUS_INTERVAL, "n_intervals"),
                      Input(Shell.LIVE_EVENTS, "data"), prevent_initial_call=True)
    def refresh_mode(_n, _event):
        return tuple(snapshots.shared("shell.trading_mode", build_mode, MODE_PERIOD))

    clientside_callback(
        ClientsideFunction(namespace="cockpitRefresh", function_name="choiceForPage"),
        Output(Shell.REFRESH, "value"), Output(Shell.REFRESH, "disabled"),
        Input("_pages_content", "children"), Input(Shell.URL, "pathname"),
        State(Shell.PREFS, "data"), State(Shell.REFRESH_MAP, "data"),
    )

    clientside_callback(
        ClientsideFunction(namespace="cockpitRefresh", function_name="apply"),
        Output(Shell.REFRESH_APPLIED, "children"),
        Input(Shell.REFRESH, "value"), State(Shell.URL, "pathname"), State(Shell.REFRESH_MAP, "data"),
    )

    clientside_callback(
        ClientsideFunction(namespace="cockpitRefresh", function_name="now"),
        Output(Shell.REFRESH_APPLIED, "children", allow_duplicate=True),
        Input(Shell.REFRESH_NOW, "n_clicks"), State(Shell.URL, "pathname"), State(Shell.REFRESH_MAP, "data"),
        prevent_initial_call=True,
    )

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Shell.PREFS_STATUS, "children"),
                      Input(Shell.REFRESH, "value"), State(Shell.URL, "pathname"), prevent_initial_call=True)
    def remember_refresh(choice, pathname):
        page = refresh.page_key(pathname)
        # The select is also set when a page opens (to the stored choice): only a change is written.
        if page is None or choice == preferences.refresh_for(preferences.for_user(current_user.id), page):
            return no_update
        preferences.set_refresh(current_user.id, page, choice)
        return f"refresh:{page}={choice}"

    @guarded_callback(Perm.EDIT_OWN_PREFERENCES, Output(Shell.PREFS_STATUS, "children", allow_duplicate=True),
                      Input(Shell.TIME_RANGE, "value"), prevent_initial_call=True)
    def remember_time_range(value):
        if value == preferences.for_user(current_user.id)["time_range"]:
            return no_update
        preferences.set_time_range(current_user.id, value)
        return f"time_range={value}"
