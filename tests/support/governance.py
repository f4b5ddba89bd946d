"""Four-eyes in tests: file a request as one person and approve it as another, through the one
mechanism (services/approvals.py), exactly as the pages do."""
from __future__ import annotations

from dashapp.services import approvals
from dashapp.services.approvals import Actor

REQUESTER = Actor("rita", "risk")
APPROVER = Actor("ada", "admin")


def approve_pending(action: str, approver: Actor = APPROVER):
    """Approve the newest pending request for `action`; returns the executed request."""
    (row, *_) = approvals.pending(approver, action)
    return approvals.approve(row.id, approver)


def relax_limit(kind: str, limit_value, warn_at=0.8, breach_action: str = "alert", limit_id: int | None = None,
                requester: Actor = REQUESTER, approver: Actor = APPROVER):
    """A limit relaxation: requested by one risk user, approved by another person (returns the row id)."""
    from dashapp.services.risk import limits

    said, row = limits.request_change(requester, "relaxed in a test", kind, "*", limit_value, warn_at, breach_action,
                                      True, limit_id)
    if row is not None:
        return row.id
    return approve_pending(limits.RELAX, approver).result["limit_id"]


def seed_screenshot_governance() -> None:
    """Something for the Approvals and Security pages to show: two pending requests, a decided one,
    failed and good sign-ins, privileged records awaiting sign-off."""
    from dashapp.services import controls, sessions, users
    from dashapp.services.risk import limits

    if users.find_by_username("rita") is None:
        users.create_user("screens", "rita", "Screen-Shots-2026!", "risk", "Rita Risk")
    controls.activate_kill_switch("rita", "risk", "runaway momentum strategy", "screens-ks")
    controls.request_kill_switch_reset("rita", "risk", "strategy fixed and re-tested", "screens-rr")
    limits.ensure_defaults()
    limits.request_change(REQUESTER, "earnings week: more room for AAPL", "gross_exposure", "*", 15_000_000)
    controls.set_trading_mode("desk-admin", "admin", "live", "go-live rehearsal")
    (live,) = approvals.pending(Actor("alan", "admin"), controls.LIVE)
    approvals.reject(live.id, Actor("alan", "admin"), "not before the risk review")
    for name, outcome, reason in (("rita", "success", ""), ("mallory", "failure", "unknown user"),
                                  ("rita", "failure", "bad password"), ("desk-admin", "mfa_failure", "code not valid")):
        sessions.record_login(name, outcome, "10.0.4.17", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131", reason)
