"""Small building blocks shared by page layouts."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def page_header(title: str, subtitle: str = "") -> html.Div:
    return html.Div(
        [html.H2(title, className="h4 mb-0"), html.Small(subtitle, className="text-body-secondary")],
        className="mb-3",
    )


def forbidden(title: str, roles: list[str], not_found: bool = False) -> html.Div:
    """The refusal a role sees when it opens a page by URL that it may not open."""
    if not_found:
        return html.Div([page_header("Page not found"), dbc.Alert("There is no page at this address.", color="warning")],
                        id="page-not-found")
    who = ", ".join(roles) if roles else "no role"
    return html.Div(
        [page_header(title),
         dbc.Alert([html.Strong("403 — not allowed. "), f"Your role may not open {title}. Roles that may: {who}."],
                   color="danger", id="page-forbidden")],
    )


def empty_state(text: str, element_id: str | None = None) -> html.Div:
    props = {"id": element_id} if element_id else {}
    return html.Div(text, className="text-body-secondary fst-italic py-4 text-center", **props)
