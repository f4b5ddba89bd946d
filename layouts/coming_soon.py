"""The honest placeholder for a page whose capability is not built yet: no fake data."""
import dash_bootstrap_components as dbc
from dash import html

from layouts.common import page_header


def layout(title: str, what: str, issue: str) -> html.Div:
    return html.Div(
        [page_header(title, "not built yet"),
         dbc.Alert([html.Strong("Coming with " + issue + ". "), what,
                    html.Div("Nothing on this page is live yet, so nothing here is shown as if it were.",
                             className="small mt-2")],
                   color="secondary", id="page-coming-soon")],
    )
