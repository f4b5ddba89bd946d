"""The frame around every page: navbar (only the pages the role may open), badges, theme switch."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.ids import Shell


def navbar(pages: list[tuple[str, str]], username: str, role: str, env: str, trading_mode: str,
           dark: bool) -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(title, href=path, active="exact", id=f"nav-{path.strip('/') or 'home'}"))
             for title, path in pages]
    mode_colour = "danger" if trading_mode == "live" else "success"
    env_colour = {"prod": "danger", "staging": "warning"}.get(env, "info")
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("Cockpit", href="/", className="fw-semibold"),
                dbc.Nav(links, id=Shell.NAV, navbar=True, className="me-auto flex-wrap"),
                html.Div(
                    [
                        dbc.Badge("POLLING", color="secondary", id=Shell.LIVE_BADGE, className="me-1",
                                  title="Live updates: LIVE = pushed by the server, POLLING = refreshed periodically"),
                        dbc.Badge(trading_mode.upper(), color=mode_colour, id=Shell.MODE_BADGE, className="me-1",
                                  title="Trading mode"),
                        dbc.Badge(env.upper(), color=env_colour, id=Shell.ENV_BADGE, className="me-3",
                                  title="COCKPIT_ENV"),
                        dbc.Switch(id=Shell.THEME_SWITCH, label="Dark", value=dark, className="me-3 mb-0"),
                        html.Span([html.Strong(username), f" · {role}"], id=Shell.USER, className="me-3 small"),
                        html.A("Log out", href="/logout", className="btn btn-sm btn-light",
                               id="shell-logout"),
                    ],
                    className="d-flex align-items-center",
                ),
            ],
            fluid=True,
        ),
        className="mb-3 border-bottom",
    )


def layout(pages, username, role, env, trading_mode, dark) -> html.Div:
    return html.Div(
        [
            dcc.Location(id=Shell.URL),
            html.Div(id=Shell.THEME_SINK, style={"display": "none"}),
            html.Div(id=Shell.THEME_STATUS, style={"display": "none"}),
            html.Div(id=Shell.LIVE_SINK, style={"display": "none"}),
            dcc.Store(id=Shell.LIVE_EVENTS),
            navbar(pages, username, role, env, trading_mode, dark),
            dbc.Container(dash.page_container, fluid=True, id="page-body"),
        ]
    )
