"""`dashapp models ...`: the registry from a terminal: list, versions, alias history, live-at, retrain in
this process (the same work as the `retrain` job, actor "cli"), and a shadow pass. Promotion and rollback
are a person's decision (MODELS_PROMOTE with a reason): the Models page or the REST API, not the CLI."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone

import click
from flask.cli import AppGroup


@contextmanager
def _service_errors():
    from dashapp.services.errors import ServiceError

    try:
        yield
    except ServiceError as exc:
        field = f" [{exc.field}]" if exc.field else ""
        raise click.ClickException(f"{exc.message}{field}") from exc


def _echo(value) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group(cls=AppGroup)
def group():
    """Model registry, retraining and shadow evaluation (docs/MODELS.md)."""


@group.command("list")
def list_models():
    """Registered models with their champion and challenger."""
    from dashapp.services.models import registry

    _echo(registry.list_models())


@group.command("versions")
@click.argument("name")
def versions(name):
    """A model's versions, newest first, with gate results."""
    from dashapp.services.models import registry

    with _service_errors():
        _echo(registry.versions(name))


@group.command("history")
@click.argument("name")
def history(name):
    """Every alias move of a model (who, when, why)."""
    from dashapp.services.models import registry

    with _service_errors():
        _echo(registry.history(name))


@group.command("live-at")
@click.argument("name")
@click.argument("at")
@click.option("--alias", type=click.Choice(["champion", "challenger"]), default="champion", show_default=True)
def live_at(name, at, alias):
    """Which version held ALIAS at AT (ISO 8601, UTC when no offset)."""
    from dashapp.services.models import registry

    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise click.ClickException("AT must be an ISO 8601 time") from exc
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    with _service_errors():
        _echo({"model": name, "alias": alias, "at": when.isoformat(), "version": registry.live_at(name, alias, when)})


@group.command("retrain")
@click.option("--model", "model_name", default="aapl-direction", show_default=True)
@click.option("--symbol", default="AAPL", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--min-dsr", type=float, default=0.5, show_default=True)
def retrain(model_name, symbol, seed, min_dsr):
    """Retrain here (stages printed); the new version becomes the challenger."""
    import pydantic

    from dashapp.services.models import training

    try:
        params = training.RetrainParams(model=model_name, symbol=symbol, seed=seed, min_dsr=min_dsr)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        raise click.ClickException(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    with _service_errors():
        out = training.retrain(params, actor="cli",
                               progress=lambda stage, pct, msg: click.echo(f"{pct:5.1f}% {stage}: {msg}", err=True))
    _echo(out)


@group.command("shadow")
@click.argument("name")
@click.option("--bars", type=click.IntRange(1, 2000), default=250, show_default=True)
def shadow_run(name, bars):
    """Evaluate champion and challenger on the newest BARS rows and record their signals."""
    from dashapp.services.models import shadow

    with _service_errors():
        _echo({"model": name, "recorded": shadow.run(name, bars)})
