"""Login throttling: a per-address rate limit (Flask-Limiter) and backoff locks per account.

The model (docs/DECISIONS.md D29, docs/OPERATIONS.md "Sign-in throttling"):

* per client address: failed POST /login count against `login_rate_per_address`; over it the
  address gets 429 with Retry-After whatever name it tries (password spraying);
* per (account, address): after `login_max_failures` failures that pair is locked for
  `login_backoff_seconds`, doubling with each further lock and capped at `login_lockout_minutes`.
  Only that address is locked out, so an anonymous client cannot lock the admin out of the desk;
* per account from every address: the atomic `users.failed_logins` counter locks the account only
  at `login_account_max_failures` (same backoff). One address needs a quarter of an hour of pair locks
  to get there, so that lock costs an attacker many addresses or much time.

Keys are the typed name, whether or not such a user exists (unknown names are counted here the way
`users.failed_logins` counts real ones), so no lock or message tells which names exist. Counters live
in the limiter's storage: Redis when REDIS_URL is set (shared by every web process), else this
process's memory (the embedded default runs one web process). A storage outage fails open: logins
go on, and the database-held account lock still applies.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import time

from flask import Flask, current_app

from dashapp.extensions import limiter

log = logging.getLogger(__name__)

# Failures of one name from one address are remembered this long after the first (a success clears them).
FAILURE_MEMORY_SECONDS = 24 * 3600


def install(app: Flask) -> None:
    """Bind the limiter to this app: Redis (with the deployment's key prefix) or memory."""
    settings = app.config["COCKPIT_SETTINGS"]
    # Off: the login view sets Retry-After itself, for whichever rule refused (address, pair, account).
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # a Redis outage must not stop sign-in
    if settings.redis_url:
        # The same prefix Celery uses (workers.celery_app), so cockpits sharing one Redis keep apart.
        prefix = str(settings.extra.get("redis_key_prefix") or os.environ.get("COCKPIT_REDIS_KEY_PREFIX") or "")
        app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url)
        # Bounded Redis calls: a stuck Redis costs a sign-in two seconds (then the limit is skipped), not a thread.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"key_prefix": f"{prefix}LIMITS", "socket_timeout": 2,
                                                            "socket_connect_timeout": 2})
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)


def address_limit() -> str:
    return current_app.config["COCKPIT_SETTINGS"].login_rate_per_address


def backoff_seconds(strikes: int) -> int:
    """Length of the `strikes`-th lock: the base, doubling each time, capped."""
    settings = current_app.config["COCKPIT_SETTINGS"]
    cap = settings.login_lockout_minutes * 60
    return int(min(settings.login_backoff_seconds * 2 ** min(max(strikes - 1, 0), 30), cap))


def _key(kind: str, *parts: str) -> str:
    # Hashed: typed names may be long or hold any character; the key stays short and inert.
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()[:40]
    return f"cockpit-login:{kind}:{digest}"


def _remaining(lock_key: str) -> int:
    storage = limiter.storage
    if storage.get(lock_key) <= 0:
        return 0
    return max(1, math.ceil(storage.get_expiry(lock_key) - time.time()))


def _count(count_key: str, lock_key: str, threshold: int) -> int:
    """Count one failure; every `threshold`-th one starts a lock. Returns the lock's seconds (or 0)."""
    storage = limiter.storage
    failures = storage.incr(count_key, FAILURE_MEMORY_SECONDS)
    if threshold <= 0 or failures % threshold:
        return 0
    seconds = backoff_seconds(failures // threshold)
    storage.clear(lock_key)
    storage.incr(lock_key, seconds)
    return seconds


def _fail_open(what: str, default: int = 0):
    def decorator(func):
        def guarded(*args):
            try:
                return func(*args)
            except Exception:  # noqa: BLE001  (any storage error: sign-in must go on)
                log.warning("login throttle storage unavailable (%s); not throttling", what, exc_info=True)
                return default
        guarded.__doc__ = func.__doc__
        return guarded
    return decorator


@_fail_open("pair check")
def pair_locked_for(account: str, address: str) -> int:
    """Seconds left on the lock of this name from this address (0 = not locked)."""
    return _remaining(_key("pair-lock", account, address))


@_fail_open("pair count")
def count_pair_failure(account: str, address: str) -> int:
    threshold = current_app.config["COCKPIT_SETTINGS"].login_max_failures
    return _count(_key("pair-fail", account, address), _key("pair-lock", account, address), threshold)


@_fail_open("unknown-name check")
def unknown_account_locked_for(account: str) -> int:
    """For names with no user: the lock a real account would have by now (so locks reveal nothing)."""
    return _remaining(_key("name-lock", account))


@_fail_open("unknown-name count")
def count_unknown_account_failure(account: str) -> int:
    threshold = current_app.config["COCKPIT_SETTINGS"].login_account_max_failures
    return _count(_key("name-fail", account), _key("name-lock", account), threshold)


@_fail_open("clear")
def clear_pair(account: str, address: str) -> int:
    """A correct password from this address forgets its failures there."""
    limiter.storage.clear(_key("pair-fail", account, address))
    limiter.storage.clear(_key("pair-lock", account, address))
    return 0
