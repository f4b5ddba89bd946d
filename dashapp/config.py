"""Settings from the environment (and an optional `.env`), with defaults that run on a bare machine.

Nothing here is read at import time: `Settings.from_env()` is called by the app factory, the CLI,
the Celery app and the engine, so tests can build as many differently configured apps as they like.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

ENVIRONMENTS = ("dev", "staging", "prod")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


def _instance_dir() -> Path:
    path = Path(os.environ.get("COCKPIT_INSTANCE_DIR", PROJECT_ROOT / "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path, env: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if env == "prod":
        raise ConfigError("SECRET_KEY must be set when COCKPIT_ENV=prod (refusing to start with a generated key)")
    # Generated once and kept, so every process on this machine (web, worker, beat, engine)
    # signs with the same key and sessions survive restarts.
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _int_env(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    if not text.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number, not {text!r}")
    return int(text)


def _smtp_from_env() -> dict:
    port = os.environ.get("SMTP_PORT", "587").strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"SMTP_PORT must be a port number, not {port!r}")
    starttls = os.environ.get("SMTP_STARTTLS", "true").strip().lower()
    if starttls not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ConfigError(f"SMTP_STARTTLS must be true or false, not {starttls!r}")
    return dict(smtp_host=os.environ.get("SMTP_HOST") or None, smtp_port=int(port),
                smtp_user=os.environ.get("SMTP_USER") or None, smtp_password=os.environ.get("SMTP_PASSWORD") or None,
                smtp_from=os.environ.get("SMTP_FROM") or "cockpit@localhost",
                smtp_starttls=starttls in ("1", "true", "yes", "on"))


@dataclass(frozen=True)
class Settings:
    env: str
    instance_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    admin_password: str | None
    port: int
    log_level: str = "INFO"
    # Login throttling (dashapp/security/ratelimit.py, docs/OPERATIONS.md): failures per (account,
    # client address) before that pair is locked, first lock in seconds (doubling), longest lock; a
    # far higher count locks the account from every address; failed POST /login per address.
    login_max_failures: int = 5
    login_backoff_seconds: int = 30
    login_lockout_minutes: int = 15
    login_account_max_failures: int = 50
    login_rate_per_address: str = "10 per minute"
    # Domain bounds of stored timestamps (dashapp/services/bounds.py): how far ahead of the server's
    # clock an engine may stamp a row, and the earliest date the desk's data can carry.
    max_future_seconds: int = 300
    data_epoch: str = "2000-01-01"
    # The largest request body any endpoint accepts (413 beyond it). Sized for the largest ingest
    # batch an engine sends (20,000 items of a few hundred bytes) with room to spare.
    max_body_bytes: int = 32 * 1024 * 1024
    # Capacity of one web process (dashapp/security/capacity.py, D37): its Gunicorn threads, live
    # streams per user and per process (0 = a quarter of the threads), and threads kept free of page
    # traffic for control actions, probes and ingest.
    web_threads: int = 32
    streams_per_user: int = 2
    streams_per_process: int = 0
    web_reserve_threads: int = 4
    extra: dict = field(default_factory=dict)
    # E-mail delivery of scheduled reports. No SMTP_HOST = delivery not configured: reports are
    # still produced and archived, and marked 'not_sent'.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "cockpit@localhost"
    smtp_starttls: bool = True

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        load_dotenv(PROJECT_ROOT / ".env", override=False)
        instance = Path(overrides.pop("instance_dir", None) or _instance_dir())
        instance.mkdir(parents=True, exist_ok=True)
        env = overrides.pop("env", None) or os.environ.get("COCKPIT_ENV", "dev")
        if env not in ENVIRONMENTS:
            raise ConfigError(f"COCKPIT_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        port_text = os.environ.get("PORT", "8050")
        if not port_text.isdigit():
            raise ConfigError(f"PORT must be a number, not {port_text!r}")
        values = dict(
            env=env,
            instance_dir=instance,
            database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'cockpit.sqlite'}",
            redis_url=os.environ.get("REDIS_URL") or None,
            secret_key=overrides.pop("secret_key", None) or _secret_key(instance, env),
            admin_password=os.environ.get("COCKPIT_ADMIN_PASSWORD") or None,
            port=int(port_text),
            log_level=os.environ.get("LOG_LEVEL", "INFO"),
            max_future_seconds=_int_env("COCKPIT_MAX_FUTURE_SECONDS", 300),
            data_epoch=os.environ.get("COCKPIT_DATA_EPOCH", "2000-01-01"),
            max_body_bytes=_int_env("COCKPIT_MAX_BODY_BYTES", 32 * 1024 * 1024),
            web_threads=_int_env("WEB_THREADS", 32),
            streams_per_user=_int_env("COCKPIT_STREAMS_PER_USER", 2),
            streams_per_process=_int_env("COCKPIT_STREAMS_PER_PROCESS", 0),
            web_reserve_threads=_int_env("COCKPIT_WEB_RESERVE_THREADS", 4),
            login_max_failures=_int_env("COCKPIT_LOGIN_MAX_FAILURES", 5),
            login_backoff_seconds=_int_env("COCKPIT_LOGIN_BACKOFF_SECONDS", 30),
            login_lockout_minutes=_int_env("COCKPIT_LOGIN_LOCKOUT_MINUTES", 15),
            login_account_max_failures=_int_env("COCKPIT_LOGIN_ACCOUNT_MAX_FAILURES", 50),
            login_rate_per_address=os.environ.get("COCKPIT_LOGIN_RATE_PER_ADDRESS") or "10 per minute",
            **_smtp_from_env(),
        )
        values.update(overrides)
        return cls(**values)

    @property
    def sqlalchemy_url(self) -> str:
        """Normalise `postgres://` and plain `postgresql://` to the psycopg 3 driver we ship."""
        url = self.database_url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def broker_kind(self) -> str:
        return "redis" if self.redis_url else "filesystem"
