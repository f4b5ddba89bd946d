"""The `dashapp` command: one entry point for operators (see `dashapp --help`).

Commands that touch the database run inside an app context built from the environment
(DATABASE_URL, COCKPIT_INSTANCE_DIR, SECRET_KEY, ...). Service errors are printed as one line
naming what is wrong, with exit code 1; nothing is half-written because services are atomic.
"""
from __future__ import annotations

import contextlib
import getpass
import logging
import os
import shlex
import signal
import sys
import threading

import click
from flask.cli import AppGroup, FlaskGroup, NoAppException
from flask_migrate.cli import db as db_group

from dashapp.cli_commands import register as register_extra_commands
from dashapp.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _create_server():
    from dashapp import create_server
    from dashapp.extensions import db

    try:
        server = create_server()
    except ConfigError as exc:
        raise NoAppException(str(exc)) from exc

    @server.teardown_appcontext
    def _close_connections(_exc):
        db.engine.dispose()  # a command is one app context: leave no pooled connection behind

    return server


@click.group(cls=FlaskGroup, create_app=_create_server, add_default_commands=False, add_version_option=False)
def main():
    """Trading Desk Cockpit: run, migrate, administer and verify the cockpit.

    Start everything on this machine with `dashapp up`; configuration comes from the environment
    (or a .env file): DATABASE_URL, REDIS_URL, SECRET_KEY, PORT, COCKPIT_INSTANCE_DIR, ...
    """


# `--app` and `--debug` belong to `flask run`; this command always builds the cockpit.
main.params = [param for param in main.params if param.name not in ("app", "debug")]
main.add_command(db_group, "db")
register_extra_commands(main)  # alerts, ops, models, governance: dashapp/cli_commands/


def _actor() -> str:
    """Who did it, for the audit trail: the operating-system user running the command."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        who = f"uid{os.getuid()}"
    return f"cli:{who}"[:64]


@contextlib.contextmanager
def _service_errors():
    """Turn a service's typed error into a one-line message and exit code 1."""
    from dashapp.services.errors import ServiceError

    try:
        yield
    except ServiceError as exc:
        field = f" [{exc.field}]" if exc.field else ""
        raise click.ClickException(f"{exc.message}{field}") from exc


def _user_named(username: str):
    from dashapp.services import users
    from dashapp.services.errors import NotFound

    user = users.find_by_username(username)
    if user is None:
        raise NotFound(f"no user named {username!r}", field="username")
    return user


def _new_password(password: str | None, generate: bool) -> tuple[str, bool]:
    """(password, was generated). Prompts (hidden, twice) when neither option is given."""
    from dashapp.services import users

    if password and generate:
        raise click.UsageError("give --password or --generate, not both")
    if generate:
        return users.generate_password(), True
    if password:
        return password, False
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


@main.group(cls=AppGroup)
def users():
    """Create, list and change cockpit users."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, help="viewer, trader, risk or admin.")
@click.option("--password", help="The new password (prompted, hidden, when omitted).")
@click.option("--generate", is_flag=True, help="Generate a strong password and print it once.")
@click.option("--display-name", default="", help="Name shown in the cockpit (default: the user name).")
def users_create(username, role, password, generate, display_name):
    """Create USERNAME with a role and a password."""
    from dashapp.services import users as svc

    with _service_errors():
        password, generated = _new_password(password, generate)
        user = svc.create_user(_actor(), username, password, role, display_name)
    click.echo(f"created {user.username} ({user.role_name})")
    if generated:
        click.echo(f"password: {password}   (shown once)")


@users.command("list")
def users_list():
    """List every user with role, state and last login."""
    from dashapp.services import users as svc

    rows = [("USER", "ROLE", "ACTIVE", "LAST LOGIN (UTC)", "NAME")]
    for user in svc.list_users():
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "-"
        rows.append((user.username, user.role_name, "yes" if user.active else "no", last, user.display_name))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


@users.command("set-role")
@click.argument("username")
@click.argument("role")
def users_set_role(username, role):
    """Give USERNAME the role ROLE (viewer, trader, risk, admin)."""
    from dashapp.services import users as svc

    with _service_errors():
        user = svc.set_role(_actor(), _user_named(username).id, role)
    click.echo(f"{user.username} is now {user.role_name}")


@users.command("disable")
@click.argument("username")
def users_disable(username):
    """Disable USERNAME: it can no longer log in (the last active admin cannot be disabled)."""
    from dashapp.services import users as svc

    with _service_errors():
        user = svc.set_active(_actor(), _user_named(username).id, False)
    click.echo(f"{user.username} is disabled")


@users.command("enable")
@click.argument("username")
def users_enable(username):
    """Enable USERNAME again (and clear a login lockout)."""
    from dashapp.services import users as svc

    with _service_errors():
        user = svc.set_active(_actor(), _user_named(username).id, True)
    click.echo(f"{user.username} is enabled")


@users.command("reset-password")
@click.argument("username")
@click.option("--password", help="The new password (prompted, hidden, when omitted).")
@click.option("--generate", is_flag=True, help="Generate a strong password and print it once.")
def users_reset_password(username, password, generate):
    """Set a new password for USERNAME and unlock it."""
    from dashapp.services import users as svc

    with _service_errors():
        password, generated = _new_password(password, generate)
        user, _ = svc.reset_password(_actor(), _user_named(username).id, password)
    click.echo(f"password of {user.username} changed")
    if generated:
        click.echo(f"password: {password}   (shown once)")


# ---------------------------------------------------------------------------------------- audit
@main.group(cls=AppGroup)
def audit():
    """Check the tamper-evident audit trail."""


@audit.command("verify")
def audit_verify():
    """Walk the whole audit chain and hold its end against the signed checkpoint; exit 1 and name the
    first broken record, or how many records are missing from the end, when it is broken."""
    from dashapp.services.audit import verify_chain

    result = verify_chain()
    click.echo(str(result))
    if not result.ok:
        sys.exit(1)


@main.command("data-quality")
def data_quality_check():
    """List stored rows outside the domain bounds (per kind and rule, with sample ids); exit 1 when any."""
    from dashapp.services import data_quality

    report = data_quality.check()
    for row in report.rows():
        click.echo(f"{row['kind']}: {row['rule']}: {row['rows']} rows (e.g. ids {row['sample_ids']})")
    click.echo(f"{len(report.findings)} findings from {report.rules_checked} rules")
    sys.exit(0 if report.clean else 1)


# ----------------------------------------------------------------------------------------- demo
@main.command("demo")
def demo():
    """Seed demo data (users trader, risk, viewer; the paper engine's API token). Idempotent.

    New demo users get COCKPIT_DEMO_PASSWORD, or each a generated password printed once. The paper
    engine's token (user paper-engine) goes to <instance>/engine-token, mode 0600, never to the
    output; a token that no longer works is replaced.
    """
    from dashapp.supervisor import bootstrap

    settings = _settings()
    with _service_errors():
        for line in bootstrap.seed_demo(settings):
            click.echo(line)
    click.echo(bootstrap.engine_line(settings))


# ------------------------------------------------------------------------------------- warmup
@main.command("warmup", with_appcontext=False)
@click.option("--background", is_flag=True, help="After the engine's kernel, run at the lowest CPU priority.")
def warmup(background):
    """Compile every numba kernel into its on-disk cache (dashapp/**/__pycache__).

    The first process after a fresh clone or a kernel change compiles for a minute or two; later
    processes load the cache in about a second. `dashapp up` runs this in the background as it
    starts, and `make test` before the suite. One process compiles at a time (a file lock); web and
    worker processes wait for it and then load.
    """
    from dashapp.warmup import warm_all

    click.echo(f"numba kernels ready in {warm_all(then_yield_cpu=background):.1f} s")


# --------------------------------------------------------------------------------------- engine
@main.group(cls=AppGroup)
def engine():
    """Run the paper trading engine and its supervisor (both run under `dashapp up`)."""


def _on_stop_signals(handler) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: handler())


def _wait_for_cockpit(paper, stopping: threading.Event) -> bool:
    """Ask the cockpit for this engine's control state until it answers (the web process may still be
    starting); False when asked to stop meanwhile. A refused token ends the process with a message."""
    import requests

    from dashapp.client import IngestRefused

    log = logging.getLogger("cockpit.engine")
    waiting = False
    while not stopping.is_set():
        try:
            paper.client.control()
            return True
        except IngestRefused as exc:
            raise click.ClickException(f"the cockpit at {paper.config.base_url} refuses the engine: {exc}") from exc
        except requests.RequestException as exc:
            if not waiting:
                log.warning("waiting for the cockpit at %s: %s", paper.config.base_url, exc)
            waiting = True
            stopping.wait(1.0)
    return False


@engine.command("run", with_appcontext=False)
def engine_run():
    """Run the paper engine until SIGTERM or Ctrl-C (it then cancels its working orders, reports
    "stopped" and exits 0). Logs are JSON lines on stderr.

    It reports to $COCKPIT_URL (default http://127.0.0.1:$PORT) with the API token in
    $COCKPIT_ENGINE_TOKEN, else the one `dashapp demo` keeps in <instance>/engine-token. It follows the
    desired state in the cockpit: it exits when asked to stop or restart (the engine supervisor
    starts it again). Also: COCKPIT_ENGINE_ID (paper-1), COCKPIT_ENGINE_TICK (seconds, 1.0),
    COCKPIT_ENGINE_SEED (7).
    """
    from dashapp.engine.runner import PaperEngine, config_from_env
    from dashapp.observability import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.instance_dir)
    stopping = threading.Event()
    _on_stop_signals(stopping.set)  # until the engine's own loop takes the signals over
    config = config_from_env(settings.instance_dir)
    paper = PaperEngine(config)
    log = logging.getLogger("cockpit.engine")
    log.info("engine %s starting (pid %s), reporting to %s", config.engine_id, os.getpid(), config.base_url)
    paper.prepare()  # while the web process starts
    if not _wait_for_cockpit(paper, stopping):
        log.info("engine %s stopped before it started", config.engine_id)
        return
    code = paper.run()
    log.info("engine %s stopped", config.engine_id)
    sys.exit(code)


@engine.command("supervise", with_appcontext=False)
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between reconciliations.")
def engine_supervise(interval):
    """Keep the paper engine's process (supervisord program `engine`) in step with its desired state
    in the store: start it, stop it, restart it on request, start it again after a crash, and record
    "stopped" / "crashed" when the engine cannot report itself. Runs until SIGTERM or Ctrl-C; waits
    while supervisord (`dashapp up`) does not answer.
    """
    from dashapp import create_server, supervisor
    from dashapp.engine.supervisor import EngineSupervisor
    from dashapp.supervisor.programs import ENGINE_STOP_WAIT

    settings = _settings()
    try:
        server = create_server(settings)  # also sets up the JSON logs
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    # A stop waits for the engine's own stop wait, so each call may take that long.
    processes = supervisor.client(settings.instance_dir, timeout=ENGINE_STOP_WAIT + 10)
    runner = EngineSupervisor(server, processes, engine_id=os.environ.get("COCKPIT_ENGINE_ID", "paper-1"))
    _on_stop_signals(runner.stopping.set)
    logging.getLogger("cockpit.engine.supervisor").info(
        "supervising engine %s through supervisord at %s", runner.engine_id, processes.paths.socket)
    runner.run_forever(interval)


# ------------------------------------------------------------------------------------ processes
def _exec(argv: list[str], dry_run: bool) -> None:
    if dry_run:
        click.echo(shlex.join(argv))
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(argv[0], argv)  # become the process, so supervisord's signals reach it directly


_PASS_THROUGH = dict(ignore_unknown_options=True, allow_extra_args=True)


@main.command("web", with_appcontext=False, context_settings=_PASS_THROUGH)
@click.option("--threads", default=32, show_default=True, envvar="WEB_THREADS", help="Threads of the one worker.")
@click.option("--port", type=int, default=None, help="Port to listen on (default: $PORT or 8050).")
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def web(threads, port, dry_run, gunicorn_args):
    """Serve the cockpit with Gunicorn on 0.0.0.0:$PORT (one gthread worker process).

    One process keeps the Prometheus metrics whole; threads serve the concurrent requests, and
    each open page's live stream (/events/stream) holds one; a quarter of them at most, and page
    traffic leaves a reserve for control actions and probes (D37). Extra arguments go to gunicorn.
    """
    from dashapp import PROJECT_DIR

    if not dry_run:  # the app sizes its admission gates from the same count (exec keeps the environment)
        os.environ["WEB_THREADS"] = str(threads)
    settings = _settings()
    argv = [sys.executable, "-m", "gunicorn", "wsgi:app", "--chdir", str(PROJECT_DIR),
            "--worker-class", "gthread", "--workers", "1", "--threads", str(threads),
            "--bind", f"0.0.0.0:{port or settings.port}", "--timeout", "120", "--graceful-timeout", "20",
            # Workers die with their master (PR_SET_PDEATHSIG), so a killed master frees the port at once.
            "--config", "python:dashapp.supervisor.gunicorn_conf",
            "--log-level", settings.log_level.lower(), *gunicorn_args]
    _exec(argv, dry_run)


@main.command("worker", with_appcontext=False, context_settings=_PASS_THROUGH)
@click.option("--queues", "-Q", default=None, help="Comma-separated queues (default: all of them).")
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(queues, dry_run, celery_args):
    """Run a Celery worker on the cockpit's queues. Extra arguments go to `celery worker`."""
    from workers.celery_app import QUEUES

    settings = _settings()
    argv = [sys.executable, "-m", "celery", "-A", "workers.main:celery", "worker", "-Q", queues or ",".join(QUEUES),
            "--loglevel", settings.log_level.upper(), *celery_args]
    _exec(argv, dry_run)


@main.command("beat", with_appcontext=False, context_settings=_PASS_THROUGH)
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(dry_run, celery_args):
    """Run Celery beat (the scheduler; run exactly one). Extra arguments go to `celery beat`."""
    settings = _settings()
    argv = [sys.executable, "-m", "celery", "-A", "workers.main:celery", "beat",
            "-s", str(settings.instance_dir / "celerybeat-schedule"), "--loglevel", settings.log_level.upper(),
            *celery_args]
    _exec(argv, dry_run)


@main.command("up", with_appcontext=False)
@click.option("--port", type=int, default=None, help="Port of the web server (default: $PORT or 8050).")
@click.option("--interval", type=float, default=5.0, show_default=True, help="Seconds between health lines.")
@click.option("--demo/--no-demo", default=None,
              help="Seed demo data (default: yes, except when COCKPIT_ENV=prod).")
@click.option("--web", "web_count", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Web processes, on consecutive ports from --port (put a load balancer in front).")
@click.option("--workers", "worker_count", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Celery worker processes (each with its own pool).")
def up(port, interval, demo, web_count, worker_count):
    """Run everything on this machine: migrate, ensure the first admin, seed the demo (with the
    paper engine's API token), then web, worker, beat, the paper engine and its supervisor under
    supervisord, with a health line every few seconds. Ctrl-C stops all.

    Embedded defaults (SQLite file, filesystem broker in the instance directory) need no server;
    set DATABASE_URL / REDIS_URL to use PostgreSQL / Redis. With COCKPIT_ENV=prod there is no demo:
    set COCKPIT_ENGINE_TOKEN to the API token of a trader user for the paper engine.
    """
    from dashapp.supervisor import bootstrap
    from dashapp.supervisor.run import Up

    if port is not None:
        os.environ["PORT"] = str(port)  # the children read it too
    settings = _settings()
    runner = Up(settings, interval=interval, web=web_count, workers=worker_count)
    problem = runner.problems()
    if problem:
        raise click.ClickException(problem)
    with_demo = demo if demo is not None else settings.env != "prod"
    click.echo(f"preparing: database migrations, first admin{', demo data' if with_demo else ''} ...")
    with _service_errors():
        banner = bootstrap.prepare(settings, with_demo) + [bootstrap.engine_line(settings)]
    sys.exit(runner.run(banner))

if __name__ == "__main__":  # `python -m dashapp.cli` (how supervisord starts the children)
    main(prog_name="dashapp")
