"""`dashapp governance ...`: read the four-eyes queue, expire stale requests, and the break-glass reset of
a user's two-factor enrolment (lost device and lost recovery codes). Approving is not offered here: the
host's operator is not a second person the requester can be told apart from (docs/GOVERNANCE.md)."""
from __future__ import annotations

import click
from flask.cli import AppGroup


@click.group(cls=AppGroup)
def group():
    """Approvals queue and two-factor administration."""


@group.command("approvals")
@click.option("--all", "show_all", is_flag=True, help="Recent decisions too, not only pending requests.")
def approvals_list(show_all):
    """List pending four-eyes requests (with --all: the last 50 of any state)."""
    from dashapp.services import approvals

    approvals.expire_stale()
    rows = approvals.history(limit=50) if show_all else approvals.history(limit=500, state="pending")
    if not rows:
        click.echo("no pending requests" if not show_all else "no requests")
        return
    for row in rows:
        click.echo(f"#{row.id:<5} {row.state:<9} {row.action:<20} by {row.requested_by:<16} "
                   f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC  {row.summary[:60]}")


@group.command("mfa-reset")
@click.argument("username")
def mfa_reset(username):
    """Remove USERNAME's authenticator and recovery codes (they enrol again on /account)."""
    from dashapp.cli import _actor, _service_errors, _user_named
    from dashapp.services import mfa

    with _service_errors():
        user = _user_named(username)
        if not mfa.is_enrolled(user) and mfa.remaining_recovery_codes(user) == 0:
            click.echo(f"{user.username} has no two-factor enrolment")
            return
        mfa.disable(_actor(), user)
    click.echo(f"two-factor authentication removed for {user.username}: they set it up again on /account")
