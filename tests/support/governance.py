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
