"""Component ids of the governance pages (Account, Approvals, Security) and the step-up MFA prompt."""
from __future__ import annotations


class MfaPrompt:
    """The step-up prompt in the shell: any page's callback opens it by writing to OPEN."""

    OPEN = "mfa-prompt-open"  # dcc.Store: {"action": ..., "message": ...}
    MODAL = "mfa-prompt-modal"
    TEXT = "mfa-prompt-text"
    CODE = "mfa-prompt-code"
    VERIFY = "mfa-prompt-verify"
    CANCEL = "mfa-prompt-cancel"
    MESSAGE = "mfa-prompt-message"
    VERIFIED = "mfa-prompt-verified"  # dcc.Store: bumped after a good code (pages may listen)


class Account:
    STATUS = "account-mfa-status"
    START = "account-mfa-start"
    ENROL_AREA = "account-mfa-enrol"
    QR = "account-mfa-qr"
    SECRET = "account-mfa-secret"
    URI = "account-mfa-uri"
    CONFIRM_CODE = "account-mfa-confirm-code"
    CONFIRM = "account-mfa-confirm"
    RECOVERY = "account-mfa-recovery"
    DISABLE_CODE = "account-mfa-disable-code"
    DISABLE = "account-mfa-disable"
    MESSAGE = "account-mfa-message"
    SESSIONS_GRID = "account-sessions-grid"
    REVOKE = "account-session-revoke"
    SESSIONS_MESSAGE = "account-sessions-message"
    CHANGED = "account-changed"
    INTERVAL = "account-interval"


class Approvals:
    PENDING_GRID = "approvals-pending-grid"
    HISTORY_GRID = "approvals-history-grid"
    SELECTED = "approvals-selected"
    APPROVE = "approvals-approve"
    REJECT = "approvals-reject"
    CANCEL = "approvals-cancel"
    REASON = "approvals-reject-reason"
    MESSAGE = "approvals-message"
    CHANGED = "approvals-changed"
    INTERVAL = "approvals-interval"


class Security:
    LOGINS_GRID = "security-logins-grid"
    FAILED_ONLY = "security-failed-only"
    SESSIONS_GRID = "security-sessions-grid"
    REVOKE = "security-session-revoke"
    SESSIONS_MESSAGE = "security-sessions-message"
    REVIEW_GRID = "security-review-grid"
    REVIEW_NOTE = "security-review-note"
    MARK_REVIEWED = "security-mark-reviewed"
    REVIEW_MESSAGE = "security-review-message"
    SHOW_REVIEWED = "security-show-reviewed"
    POLICY_ROLES = "security-policy-roles"
    POLICY_MINUTES = "security-policy-minutes"
    POLICY_SAVE = "security-policy-save"
    POLICY_MESSAGE = "security-policy-message"
    CHANGED = "security-changed"
    INTERVAL = "security-interval"
