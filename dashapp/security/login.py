"""The login and logout pages: a plain server-rendered form (CSRF-protected by flask-wtf)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template_string, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from dashapp.extensions import db, login_manager
from dashapp.services import audit, users
from models import User

bp = Blueprint("auth", __name__)

LOGIN_PAGE = """<!doctype html>
<html lang="en" data-bs-theme="dark"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Trading Desk Cockpit</title>
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="d-flex align-items-center min-vh-100 bg-body-tertiary">
<main class="container" style="max-width: 420px">
  <h1 class="h4 mb-1">Trading Desk Cockpit</h1>
  <p class="text-body-secondary mb-4">{{ env_label }}</p>
  {% if error %}<div class="alert alert-danger" id="login-error" role="alert">{{ error }}</div>{% endif %}
  {% if info %}<div class="alert alert-info" id="login-info" role="status">{{ info }}</div>{% endif %}
  <form method="post" action="{{ url_for('auth.login') }}" id="login-form">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <input type="hidden" name="next" value="{{ next_url }}">
    <div class="mb-3"><label class="form-label" for="username">User name</label>
      <input class="form-control" id="username" name="username" autocomplete="username" required autofocus value="{{ username }}"></div>
    <div class="mb-3"><label class="form-label" for="password">Password</label>
      <input class="form-control" id="password" name="password" type="password" autocomplete="current-password" required></div>
    <button class="btn btn-primary w-100" id="login-submit" type="submit">Sign in</button>
  </form>
</main></body></html>"""


@login_manager.user_loader
def load_user(user_id: str):
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot be used as an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _page(error: str = "", info: str = "", username: str = "", status: int = 200):
    settings = current_app.config["COCKPIT_SETTINGS"]
    html = render_template_string(
        LOGIN_PAGE, error=error, info=info, username=username, csrf_token=generate_csrf(),
        next_url=_safe_next(request.values.get("next")), env_label=f"{settings.env.upper()} environment",
    )
    return html, status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        return _page(info="You have been signed out." if request.args.get("bye") else "")
    username = (request.form.get("username") or "").strip()
    try:
        user = users.authenticate(username, request.form.get("password") or "", request.remote_addr or "")
    except users.LoginRefused as refused:
        return _page(error=str(refused), username=username, status=401)
    login_user(user)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if current_user.is_authenticated:
        audit.record(current_user.username, "auth.logout")
        db.session.commit()
    logout_user()
    return redirect(url_for("auth.login", bye=1))
