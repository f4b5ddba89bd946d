"""The desk's visual system, the parts a page holds: the figure templates (one per mode, sent once
with the shell and applied in the browser by assets/desk.js) and the grid freeze switch."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import figures

TEMPLATES = "desk-figure-templates"
TEMPLATES_SINK = "desk-templates-sink"
FREEZE = "desk-freeze"
FREEZE_SINK = "desk-freeze-sink"


def shell_parts() -> list:
    return [dcc.Store(id=TEMPLATES, data=figures.templates_json()),
            html.Div(id=TEMPLATES_SINK, style={"display": "none"})]


def freeze_switch(label: str = "Freeze rows") -> html.Div:
    """Stops the live grid's rows moving while someone reads them; the held refresh runs on release."""
    return html.Div([
        dbc.Switch(id=FREEZE, label=label, value=False, className="mb-0"),
        html.Span(id=FREEZE_SINK, className="small text-warning ms-2"),
    ], className="d-flex align-items-center", title="Hold live updates of the blotter so rows do not move under the cursor")
