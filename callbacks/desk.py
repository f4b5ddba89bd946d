"""The desk's visual system: figure templates follow the theme, the grid freeze (both in the
browser, assets/desk.js: no server round trip, nothing to guard)."""
from dash import ClientsideFunction, Input, Output, clientside_callback

from layouts import desk


def register() -> None:
    clientside_callback(
        ClientsideFunction(namespace="desk", function_name="setTemplates"),
        Output(desk.TEMPLATES_SINK, "children"),
        Input(desk.TEMPLATES, "data"),
    )
    clientside_callback(
        ClientsideFunction(namespace="desk", function_name="setFrozen"),
        Output(desk.FREEZE_SINK, "children"),
        Input(desk.FREEZE, "value"),
    )
