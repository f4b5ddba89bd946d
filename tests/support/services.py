"""Find the real servers the suite talks to. Outside CI a missing server skips the test with the
reason printed; with CI=true a missing server fails it, so CI can never skip them silently."""
from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return None
    except OSError as exc:
        return f"{parts.hostname}:{parts.port}: {exc}"


def missing(what: str, why: str):
    message = f"{what} not reachable ({why})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(f"{message}; start it or set the TEST_* URL to run this test")


def postgres_url() -> str:
    problem = _reachable(POSTGRES_URL)
    if problem:
        missing("PostgreSQL", problem)
    return POSTGRES_URL


def redis_url() -> str:
    problem = _reachable(REDIS_URL)
    if problem:
        missing("Redis", problem)
    return REDIS_URL
