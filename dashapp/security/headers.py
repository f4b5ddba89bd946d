"""Browser-facing security headers: Content-Security-Policy, HSTS, framing, caching.

flask-talisman sets them (DECISIONS D28). The policy is the narrowest one that the cockpit's pages
were seen to work under in headless Chromium with an empty console (tests/browser/test_csp.py):

* scripts only from this origin, plus the hashes of Dash's own inline scripts (`app.csp_hashes()`:
  the renderer bootstrap and any inline clientside callback), so no 'unsafe-inline' and no
  'unsafe-eval' for scripts; Dash's config block is `type="application/json"`, which is data;
* styles from this origin plus inline ones: Dash components, plotly and ag-grid set `style`
  attributes and inject <style> elements at run time (there is no hash for those);
* images also as data: and blob: URLs (plotly's icons, "download plot as png");
* no framing, no plugins, no <base> elsewhere, forms post back here only.

HSTS only outside dev (`settings.env != "dev"`); Talisman sends it on HTTPS requests (directly or
behind a proxy that sets X-Forwarded-Proto). The redirect to HTTPS is left to that proxy: the
cockpit itself also runs on plain loopback HTTP in dev and in tests.

Every response except static files is `Cache-Control: no-store`: pages, callbacks and API answers
carry desk data or a CSRF token and must not be kept by a browser or a shared proxy. Static files
(`/assets/`, Dash's component bundles, the favicon) keep their caching.
"""
from __future__ import annotations

from flask import Flask, request
from flask_talisman import DENY, Talisman

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")


def content_security_policy(script_hashes: list[str]) -> dict:
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *script_hashes],  # Dash quotes them: "'sha256-...'"
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
    }


def install(server: Flask, dash_app) -> Talisman:
    """Call once all pages and callbacks are registered (the hashes cover every inline script)."""
    settings = server.config["COCKPIT_SETTINGS"]
    production = settings.env != "dev"
    talisman = Talisman(
        server,
        force_https=False,
        strict_transport_security=production,
        strict_transport_security_include_subdomains=False,  # the desk's domain hosts other services
        content_security_policy=content_security_policy(dash_app.csp_hashes()),
        frame_options=DENY,
        referrer_policy="same-origin",
        session_cookie_secure=server.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite=server.config["SESSION_COOKIE_SAMESITE"],
        x_content_type_options=True,
    )

    hashed = {"after_first_request": False}

    @server.before_request
    def _hash_late_inline_scripts():
        # Dash Pages registers its router, with an inline clientside callback (the page title), in
        # a before_request hook of its own on the first request (it runs before this one): hash again
        # then, or that script is blocked on every page.
        if not hashed["after_first_request"]:
            talisman.content_security_policy["script-src"] = ["'self'", *dash_app.csp_hashes()]
            hashed["after_first_request"] = True

    @server.after_request
    def _no_store(response):
        if not request.path.startswith(STATIC_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response

    return talisman
