"""`dashapp` on the host: granting admin is four-eyes there too; the approvals queue and the
break-glass MFA reset (both databases)."""
from __future__ import annotations

from tests.integration.test_cli import cli  # noqa: F401  (the fixture)
from tests.support.web import PASSWORD


def test_cli_cannot_grant_admin_and_lists_the_queue(cli):  # noqa: F811
    cli("users", "create", "bob", "--role", "viewer", "--password", PASSWORD)
    refused = cli("users", "set-role", "bob", "admin", expect=1)
    assert "four-eyes" in refused and "approved request" in refused
    assert cli.users()["bob"] == ("viewer", True)
    assert "alice" not in cli("users", "list")
    assert "no pending requests" in cli("governance", "approvals")
    cli.sql("INSERT INTO approval_requests (action, params, summary, reason, requested_by, requested_at, expires_at, "
            "state, decision_note) VALUES ('user.grant_admin', '{\"user_id\": 1}', 'grant the admin role to bob', "
            "'night desk cover', 'root-admin', CURRENT_TIMESTAMP, '2999-01-01 00:00:00', 'pending', '')")
    listing = cli("governance", "approvals")
    assert "user.grant_admin" in listing and "root-admin" in listing
    assert "has no two-factor enrolment" in cli("governance", "mfa-reset", "bob")
    assert "no user named" in cli("governance", "mfa-reset", "nobody", expect=1)
