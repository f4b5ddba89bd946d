"""`dashapp alerts ...`: run the alerter, evaluate once, list the rules (and seed the built-in ones)."""
from __future__ import annotations

import json
import logging
import signal

import click
from flask.cli import AppGroup


@click.group(cls=AppGroup)
def group():
    """Alert rules and their evaluation (the alerter process runs `dashapp alerts run`)."""


@group.command("run", with_appcontext=False)
@click.option("--tick", type=float, default=None, help="Seconds between passes (default $COCKPIT_ALERTS_TICK_SECONDS "
                                                       "or 1.0).")
def run(tick):
    """Evaluate due rules every tick (and at once on breaches and faults), then dispatch notifications.
    Runs until SIGTERM or Ctrl-C."""
    from dashapp import create_server
    from dashapp.config import ConfigError, Settings
    from dashapp.kernels import anomaly
    from dashapp.services.alerts.runner import AlertRunner

    try:
        server = create_server(Settings.from_env())  # also sets up the JSON logs
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    anomaly.warm_up()
    runner = AlertRunner(server, tick)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: (runner.stopping.set(), runner.wake.set()))
    logging.getLogger("cockpit.alerts.runner").info("alerter starting")
    runner.run_forever()


@group.command("evaluate")
@click.option("--once", is_flag=True, required=True, help="One pass now (every enabled rule), then exit.")
@click.option("--dispatch/--no-dispatch", default=True, show_default=True, help="Dispatch notifications after.")
def evaluate(once, dispatch):
    """Evaluate every enabled rule once now and print what changed (JSON)."""
    from dashapp.services.alerts import evaluation, runner
    from models import utcnow

    now = utcnow()
    report = evaluation.evaluate_all(now, force=True)
    out = {"evaluation": report.to_dict()}
    if dispatch:
        dispatched = runner._dispatch(now)
        out["dispatch"] = None if dispatched is None else {k: v for k, v in vars(dispatched).items()
                                                           if isinstance(v, (int, float, bool, str))}
    click.echo(json.dumps(out, indent=2, default=str))


@group.group("rules", cls=AppGroup, invoke_without_command=True)
@click.pass_context
def rules_group(ctx):
    """List the rules (`dashapp alerts rules`), or `rules seed` the built-in ones."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_rules)


@rules_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_rules(as_json=False):
    """Every rule: id, name, kind, severity, enabled, built in."""
    from dashapp.services.alerts import rules

    rows = [rules.as_dict(rule) for rule in rules.list_rules()]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("no alert rules (seed the built-in ones: `dashapp alerts rules seed`)")
    for row in rows:
        flags = ("" if row["enabled"] else " [disabled]") + (" [built-in]" if row["builtin"] else "")
        click.echo(f"{row['id']:>4}  {row['name']:<40} {row['kind']:<11} {row['severity']:<8}{flags}")


@rules_group.command("seed")
def seed():
    """Create (or refresh) the built-in rules: limit breach/warning, engine fault/heartbeat, job failed,
    quotes stale."""
    from dashapp.services.alerts import builtin_rules

    line = builtin_rules.ensure_builtin_rules()
    click.echo(line or "built-in alert rules already present")


@group.command("notify-test")
@click.argument("contact_point")
def notify_test(contact_point):
    """Send a test notification to CONTACT_POINT (its name) now, once; exit 1 if it failed."""
    from dashapp.services.alerts import probe
    from dashapp.services.errors import ServiceError

    try:
        row = probe.send_test("cli", contact_point)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    if row.status != "sent":
        raise click.ClickException(f"test notification {row.id} to {contact_point!r} failed: {row.last_error}")
    click.echo(f"test notification {row.id} sent to {contact_point!r}")
