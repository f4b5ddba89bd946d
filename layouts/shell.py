"""The frame around every page: navbar (only the pages the role may open), badges, theme switch."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import desk
from layouts import refresh
from layouts import mfa_prompt
from layouts.alerts_ids import AlertsBadge
from layouts.ids import Shell


MODE_COLOURS = {"live": "danger", "paper": "success"}
PUSH_TITLE = ("How this page gets updates. Push: connected = the server pushes changes as they happen; "
              "Push: polling = the page asks on its own schedule. It says nothing about the trading mode.")
STATUS_INTERVAL_MS = 5000  # the trading-mode badge is read again this often (and on every pushed event)


def mode_badge_parts(trading_mode: str) -> tuple[str, str]:
    """(text, colour) of the trading-mode badge."""
    mode = (trading_mode or "paper").lower()
    return f"{'LIVE TRADING' if mode == 'live' else mode.upper()}", MODE_COLOURS.get(mode, "secondary")


# Pages a desk opens all day stay in the bar; the rest are one click away under "More" (the bar with
# every page scrolled its last links out of sight at 1366 px).
PRIMARY_PATHS = ("/", "/trading", "/execution", "/risk", "/prices", "/jobs")


def _nav_id(path: str) -> str:
    return f"nav-{path.strip('/') or 'home'}"


def navbar(pages: list[tuple[str, str]], username: str, role: str, env: str, trading_mode: str,
           dark: bool, time_range: str | None = None) -> dbc.Navbar:
    primary = [(title, path) for title, path in pages if path in PRIMARY_PATHS]
    more = [(title, path) for title, path in pages if path not in PRIMARY_PATHS]
    links = [dbc.NavItem(dbc.NavLink(title, href=path, active="exact", id=_nav_id(path))) for title, path in primary]
    if more:
        # The less-used pages sit in one menu, so the bar never wraps or scrolls pages out of sight.
        links.append(dbc.DropdownMenu(
            [dbc.DropdownMenuItem(title, href=path, id=_nav_id(path)) for title, path in more],
            label="More", nav=True, in_navbar=True, align_end=True, id=Shell.NAV_MORE))
    mode_text, mode_colour = mode_badge_parts(trading_mode)
    env_colour = {"prod": "danger", "staging": "warning"}.get(env, "info")
    return dbc.Navbar(
        dbc.Container(
            [
                html.Div([dbc.NavbarBrand("Cockpit", href="/", className="fw-semibold me-0"), alerts_bubble()],
                         className="position-relative me-3"),
                dbc.Nav(links, id=Shell.NAV, navbar=True, className="me-auto flex-nowrap desk-nav"),
                html.Div(
                    [
                        refresh.controls(Shell.REFRESH, Shell.TIME_RANGE, time_range, Shell.REFRESH_NOW),
                        dbc.Badge("↻ Push: polling", color="secondary", id=Shell.LIVE_BADGE, className="me-1",
                                  title=PUSH_TITLE),
                        dbc.Badge(mode_text, color=mode_colour, id=Shell.MODE_BADGE, className="me-1",
                                  title="Trading mode (kept current without a reload)"),
                        dbc.Badge(env.upper(), color=env_colour, id=Shell.ENV_BADGE, className="me-3",
                                  title="COCKPIT_ENV"),
                        dbc.Switch(id=Shell.THEME_SWITCH, label="Dark", value=dark, className="me-3 mb-0"),
                        html.Span([html.Strong(username), f" · {role}"], id=Shell.USER, className="me-3 small"),
                        logout_form(),
                    ],
                    className="d-flex align-items-center",
                ),
            ],
            fluid=True,
        ),
        className="mb-3 border-bottom",
    )


def alerts_bubble() -> dbc.Badge:
    """Not-acknowledged / firing alerts, as a bubble on the brand (it takes no room from the links);
    callbacks/alerts.py keeps it current and hides it while nothing fires."""
    return dbc.Badge("", id=AlertsBadge.BADGE, href="/alerts", pill=True, color="danger",
                     className="position-absolute top-0 start-100 translate-middle text-decoration-none",
                     style={"display": "none", "fontSize": "0.65rem", "zIndex": 2}, title="")


def logout_form() -> html.Form:
    """Sign-out is a POST carrying the CSRF token (a plain link could be fired from another site)."""
    # The submit button carries the token itself (a submit button's name=value is part of the form).
    return html.Form(
        html.Button("Log out", type="submit", name="csrf_token", value=_csrf_token(),
                    className="btn btn-sm btn-light", id="shell-logout"),
        method="POST", action="/logout", className="mb-0", id="shell-logout-form",
    )


def _csrf_token() -> str:
    # The shell is built per page load inside the request; Dash's start-up check has no request.
    from flask import has_request_context
    from flask_wtf.csrf import generate_csrf

    return generate_csrf() if has_request_context() else ""


def layout(pages, username, role, env, trading_mode, dark, prefs: dict | None = None) -> html.Div:
    prefs = prefs or {}
    return html.Div(
        [
            dcc.Location(id=Shell.URL),
            *desk.shell_parts(),  # figure templates per theme (assets/desk.js applies them)
            *mfa_prompt.shell_parts(),  # the step-up two-factor prompt any page's refusal can open
            dcc.Store(id=Shell.PREFS, data=prefs),
            dcc.Store(id=Shell.REFRESH_MAP, data=refresh.interval_map()),
            html.Div(id=Shell.REFRESH_APPLIED, style={"display": "none"}),
            html.Div(id=Shell.PREFS_STATUS, style={"display": "none"}),
            dcc.Interval(id=Shell.STATUS_INTERVAL, interval=STATUS_INTERVAL_MS),
            html.Div(id=Shell.THEME_SINK, style={"display": "none"}),
            html.Div(id=Shell.THEME_STATUS, style={"display": "none"}),
            html.Div(id=Shell.LIVE_SINK, style={"display": "none"}),
            dcc.Store(id=Shell.LIVE_EVENTS),
            navbar(pages, username, role, env, trading_mode, dark, prefs.get("time_range")),
            dbc.Container(dash.page_container, fluid=True, id="page-body"),
        ]
    )
