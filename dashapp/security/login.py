"""The login page (a plain server-rendered form, CSRF-protected by flask-wtf) and POST /logout.

A session names its user as "<id>.<session epoch>" (User.get_id); the loader refuses a session
whose epoch is not the user's current one, so bumping the epoch (logout, password change or reset,
role change, disabling) ends every session of that user at once, in every browser.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template_string, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from dashapp.extensions import db, limiter, login_manager
from dashapp.security import ratelimit
from dashapp.services import mfa, sessions, users
from dashapp.services.errors import ServiceError
from models import User

bp = Blueprint("auth", __name__)
bp.record_once(lambda state: ratelimit.install(state.app))

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

LOGIN_MFA_PAGE = """<!doctype html>
<html lang="en" data-bs-theme="dark"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Two-factor code · Trading Desk Cockpit</title>
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="d-flex align-items-center min-vh-100 bg-body-tertiary">
<main class="container" style="max-width: 420px">
  <h1 class="h4 mb-3">Two-factor code</h1>
  {% if error %}<div class="alert alert-danger" id="login-error" role="alert">{{ error }}</div>{% endif %}
  <p class="text-body-secondary">Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
  <form method="post" action="{{ url_for('auth.login') }}" id="login-mfa-form">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <input type="hidden" name="step" value="mfa">
    <div class="mb-3"><label class="form-label" for="mfa_code">Code</label>
      <input class="form-control" id="mfa_code" name="mfa_code" autocomplete="one-time-code" inputmode="numeric"
             maxlength="16" required autofocus></div>
    <button class="btn btn-primary w-100" id="login-mfa-submit" type="submit">Verify</button>
  </form>
</main></body></html>"""


@login_manager.user_loader
def load_user(session_id: str):
    user_id, _, epoch = session_id.partition(".")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None  # forged, or a session from before epochs: sign in again
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    if not sessions.check(session.get(mfa.SESSION_KEY), user.id):
        return None  # revoked on its own (Account / Security page), or a cookie from before server sessions
    return user


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot be used as an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _page(error: str = "", info: str = "", username: str = "", status: int = 200, retry_after: int = 0):
    settings = current_app.config["COCKPIT_SETTINGS"]
    html = render_template_string(
        LOGIN_PAGE, error=error, info=info, username=username, csrf_token=generate_csrf(),
        next_url=_safe_next(request.values.get("next")), env_label=f"{settings.env.upper()} environment",
    )
    return html, status, ({"Retry-After": str(retry_after)} if retry_after else {})


def _address_over_limit(limit):
    """Too many failed sign-ins from this address (whatever names it tried)."""
    wait = max(1, limit.reset_at - int(time.time()))
    return current_app.make_response(_page(
        error=f"Too many failed sign-in attempts from this address: try again in {wait} seconds.",
        username=(request.form.get("username") or "").strip()[:64], status=429, retry_after=wait))


# Only failures count, so a desk behind one NAT address can sign in as often as it needs to.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ratelimit.address_limit, methods=["POST"], deduct_when=lambda response: response.status_code >= 400,
               on_breach=_address_over_limit)
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        return _page(info="You have been signed out." if request.args.get("bye") else "")
    if request.form.get("step") == "mfa":
        return _second_step()
    session.pop(MFA_PENDING, None)
    username = (request.form.get("username") or "").strip()
    try:
        user = users.authenticate(username, request.form.get("password") or "", request.remote_addr or "")
    except users.LoginRefused as refused:
        sessions.record_login(username, "failure", *_client(), reason=refused.reason)
        return _page(error=str(refused), username=username[:64], status=429 if refused.retry_after else 401,
                     retry_after=refused.retry_after)
    if mfa.is_enrolled(user):  # second step: the password alone does not sign in
        session[MFA_PENDING] = {"uid": user.id, "epoch": user.session_epoch, "at": int(time.time()), "tries": 0,
                                "next": _safe_next(request.form.get("next"))}
        sessions.record_login(user.username, "mfa_required", *_client(), user_id=user.id)
        return _mfa_page()
    return _finish(user, False, _safe_next(request.form.get("next")))


MFA_PENDING = "mfa_pending"
MFA_STEP_SECONDS = 300
MFA_STEP_TRIES = 5


def _client() -> tuple[str, str]:
    return request.remote_addr or "", request.headers.get("User-Agent", "")


def _finish(user: User, mfa_verified: bool, next_url: str):
    """Sign in: the flask-login cookie plus a server-side session row (revocable on its own)."""
    session.pop(mfa.SESSION_KEY, None)
    login_user(user)
    session[mfa.SESSION_KEY] = sessions.start(user, *_client(), mfa_verified=mfa_verified)
    sessions.record_login(user.username, "success", *_client(), reason="with two-factor code" if mfa_verified else "",
                          user_id=user.id)
    return redirect(next_url)


def _mfa_page(error: str = "", status: int = 200):
    return render_template_string(LOGIN_MFA_PAGE, error=error, csrf_token=generate_csrf()), status


def _second_step():
    pending = session.get(MFA_PENDING)
    user = db.session.get(User, pending["uid"]) if isinstance(pending, dict) else None
    if (user is None or not user.active or user.session_epoch != pending.get("epoch")
            or time.time() - pending.get("at", 0) > MFA_STEP_SECONDS):
        session.pop(MFA_PENDING, None)
        return _page(error="The sign-in took too long: enter your password again.", status=401)
    try:
        mfa.verify(user, request.form.get("mfa_code"), session_id="-")
    except ServiceError as err:
        pending["tries"] = pending.get("tries", 0) + 1
        if pending["tries"] >= MFA_STEP_TRIES:
            session.pop(MFA_PENDING, None)
        else:
            session[MFA_PENDING] = pending
        sessions.record_login(user.username, "mfa_failure", *_client(), reason=err.message, user_id=user.id)
        if MFA_PENDING not in session:
            return _page(error="Too many wrong codes: enter your password again.", status=401)
        return _mfa_page(error=err.message, status=401)
    session.pop(MFA_PENDING, None)
    return _finish(user, True, _safe_next(pending.get("next")))


LOGOUT_GET_PAGE = """<!doctype html>
<html lang="en" data-bs-theme="dark"><head><meta charset="utf-8"><title>Sign out · Trading Desk Cockpit</title>
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="container py-5" style="max-width: 420px"><p>Signing out takes a button press, not a link.</p>
<form method="post" action="{{ url_for('auth.logout') }}"><input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button class="btn btn-primary" id="logout-confirm" type="submit">Sign out</button></form></body></html>"""


@bp.route("/logout", methods=["GET"])
def logout_get():
    """405 (a link or image on another site cannot sign anyone out), with a button that can."""
    return render_template_string(LOGOUT_GET_PAGE, csrf_token=generate_csrf()), 405, {"Allow": "POST"}


# POST only, with the CSRF token.
@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        users.sign_out(current_user, request.remote_addr or "")
        sessions.end(session.get(mfa.SESSION_KEY))
        sessions.record_login(current_user.username, "logout", *_client(), user_id=current_user.id)
    session.pop(mfa.SESSION_KEY, None)
    logout_user()
    return redirect(url_for("auth.login", bye=1))
