"""`dashapp retention ...`: what the retention policies would delete now, a run on the host, the legal holds.
The daily beat job does the same runs; this is for operators (the host's shell is beyond the web's
permissions, as for `dashapp users`)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from dashapp.services.governance.record_kinds import RUN_ORDER


def _errors():
    from dashapp.cli import _service_errors

    return _service_errors()


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


@click.group(cls=AppGroup)
def group():
    """Retention policies, their runs (archive to Parquet, then delete) and legal holds."""


@group.command("preview")
def preview():
    """Per kind: the policy, its cutoff, what a run would delete now and what legal holds keep."""
    from dashapp.services.governance import retention

    click.echo(f"{'kind':<14} {'days':>6} {'on':<3} {'cutoff':<16} {'delete':>9} {'held':>7}  oldest -> newest")
    for policy in retention.policies():
        p = retention.preview(policy.kind)
        click.echo(f"{policy.kind:<14} {policy.days:>6} {'yes' if policy.enabled else 'no':<3} {_when(p['cutoff']):<16} "
                   f"{p['delete']:>9,} {p['held']:>7,}  {_when(p['oldest'])} -> {_when(p['newest'])}")


@group.command("run")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(RUN_ORDER), help="Only these kinds (repeatable; "
              "default: every enabled policy).")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 50_000))
def run(kinds, batch_size):
    """Enforce the policies now: archive each batch to <instance>/archive, then delete it."""
    from dashapp.services.governance import retention

    with _errors():
        for done in retention.run_all("cli", batch_size=batch_size, kinds=list(kinds) or None,
                                      progress=lambda message: None):
            click.echo(f"{done.kind}: {done.deleted:,} deleted in {done.batches} batches, {done.held:,} kept by "
                       f"legal holds, {len(done.files)} archive parts")


@group.command("holds")
def holds_list():
    """The legal holds, active first."""
    from dashapp.services.governance import holds

    rows = holds.list_holds()
    if not rows:
        click.echo("no legal holds")
    for hold in rows:
        state = f"released {_when(hold['released_at'])}" if hold["released_at"] else "active"
        click.echo(f"#{hold['id']} {hold['case_name']} ({state}; by {hold['created_by']}): {'; '.join(hold['items'])}")
