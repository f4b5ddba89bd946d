"""Models page: the shadow comparison, drift heatmap and explanation views (read-only, VIEW_MODELS)."""
from __future__ import annotations

from dash import Input, Output, State, html

from dashapp.security.guards import guarded_callback
from dashapp.security.permissions import Perm
from dashapp.services.errors import ServiceError
from layouts import models_figures as figs
from layouts.models import ids


def register() -> None:
    @guarded_callback(Perm.VIEW_MODELS, Output(ids.SHADOW, "figure"), Output(ids.DRIFT, "figure"),
                      Output(ids.DRIFT_NOTE, "children"), Output(ids.IMPORTANCE, "figure"),
                      Output(ids.DECISION, "children"), Input(ids.MODEL, "data"), Input(ids.CHANGED, "data"),
                      State(ids.VERSION, "data"))
    def views(model, _changed, _version):
        from dashapp.services.models import drift, explain, shadow

        if not model:
            empty = figs.empty("Select a model.")
            return empty, empty, "", empty, html.Div()
        try:
            comparison = shadow.comparison(model)
            report = drift.report(model)
            importance = explain.importance(model)
            decision = explain.last_decision(model)
        except ServiceError as err:
            empty = figs.empty(err.message)
            return empty, empty, "", empty, html.Div(err.message)
        return (figs.shadow(comparison), figs.drift_heatmap(report), figs.drift_note(report),
                figs.importance(importance), figs.decision(decision))
