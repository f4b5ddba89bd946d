"""Mounts the Dash app on the Flask server: pages, the shell, callbacks, guards, CSRF cookie, headers."""
from __future__ import annotations

import dash
from flask import Flask, redirect
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from dashapp import PACKAGE_DIR, assets_serving
from dashapp.pages import register_pages, visible_pages
from dashapp.security import capacity, guards, headers
from dashapp.services import app_settings, preferences
from layouts import shell


def _shell_layout():
    """Runs per page load (on the server, with the user's session): the navbar fits the role."""
    if not current_user.is_authenticated:
        return shell.layout([], "anonymous", "-", "dev", "paper", False)  # Dash's own start-up check
    settings = dash.get_app().server.config["COCKPIT_SETTINGS"]
    pages = [(page.title, page.path) for page in visible_pages()]
    return shell.layout(pages, current_user.username, current_user.role_name, settings.env,
                        app_settings.get("trading_mode") or "paper", current_user.theme == "dark",
                        preferences.for_user(current_user.id))


def build_dash(server: Flask) -> dash.Dash:
    dash.page_registry.clear()  # a process may build several apps (tests); pages belong to this one
    app = dash.Dash(
        "dashapp",
        server=server,
        use_pages=True,
        pages_folder="",
        assets_folder=str(PACKAGE_DIR / "assets"),
        suppress_callback_exceptions=True,  # page content arrives later than the shell
        title="Trading Desk Cockpit",
        update_title=None,
        serve_locally=True,
    )
    # plotly.js as a fingerprinted script in the page: no graph waits for a lazily injected,
    # unversioned plotly.min.js (the cause of the ~50 s stalls; see dashapp.assets_serving).
    assets_serving.load_plotly_with_the_page()
    register_pages()
    app.layout = _shell_layout

    from callbacks import register_all

    register_all()
    guards.install(server, app)
    capacity.attach_dash(server, app)  # the gate lets the control callbacks through when pages are refused
    # Browsers ask for /favicon.ico on pages that name no icon (the login page): Dash serves its
    # icon at /_favicon.ico.
    server.add_url_rule("/favicon.ico", "favicon", lambda: redirect("/_favicon.ico", code=301))
    # Last: the policy's script hashes must cover every inline script the pages and callbacks added.
    headers.install(server, app)
    assets_serving.install(server)  # compression + long cache for versioned files

    @server.after_request
    def _csrf_cookie(response):
        # Dash's renderer echoes this cookie back as the X-CSRFToken header on every callback POST.
        if current_user.is_authenticated or response.status_code < 400:
            response.set_cookie("_csrf_token", generate_csrf(), samesite="Lax",
                                secure=server.config["SESSION_COOKIE_SECURE"], httponly=False)
        return response

    return app
