"""The one permission matrix: role -> permissions. Pages, Dash callbacks, REST endpoints and
services all ask `has_permission`; nothing else decides who may do what."""
from __future__ import annotations

from enum import Enum


class Perm(str, Enum):
    # Seeing pages (and the data their callbacks return)
    VIEW_COMMAND_CENTER = "view:command_center"
    VIEW_TRADING = "view:trading"
    VIEW_RISK = "view:risk"
    VIEW_JOBS = "view:jobs"
    VIEW_MODELS = "view:models"
    VIEW_OPERATIONS = "view:operations"
    VIEW_ALERTS = "view:alerts"
    VIEW_REPORTS = "view:reports"
    VIEW_AUDIT = "view:audit"
    VIEW_ADMIN = "view:admin"
    # Acting
    EDIT_OWN_PREFERENCES = "preferences:edit"
    ENGINE_CONTROL = "engine:control"
    KILL_SWITCH_ACTIVATE = "kill_switch:activate"
    KILL_SWITCH_REQUEST_RESET = "kill_switch:request_reset"
    KILL_SWITCH_APPROVE_RESET = "kill_switch:approve_reset"
    TRADING_MODE_SET = "trading_mode:set"
    LIMITS_EDIT = "limits:edit"
    JOBS_LAUNCH = "jobs:launch"
    JOBS_CANCEL = "jobs:cancel"
    EXPORTS_DOWNLOAD = "exports:download"
    REPORTS_MANAGE = "reports:manage"
    USERS_MANAGE = "users:manage"
    TOKENS_MANAGE = "tokens:manage"
    INGEST_WRITE = "ingest:write"
    OPS_METRICS = "ops:metrics"
    # Alerts and incidents (issue 11)
    ALERTS_ACT = "alerts:act"  # ack, assign, snooze, silence, resolve; silences; incidents
    ALERT_RULES_EDIT = "alerts:rules_edit"  # rules, notification policies, contact points, timings
    # Operations console (issue 12)
    RUNBOOK_REQUEST = "runbooks:request"  # dry run and request an allowlisted action
    RUNBOOK_APPROVE = "runbooks:approve"  # approve someone else's request
    # Model operations (issue 13)
    MODELS_RETRAIN = "models:retrain"
    MODELS_PROMOTE = "models:promote"  # promote and roll back champion/challenger
    # Governance (issue 14)
    COMPLIANCE_VIEW = "compliance:view"  # compliance reports, privileged-action review queue
    LEGAL_HOLD_MANAGE = "legal_hold:manage"
    RETENTION_MANAGE = "retention:manage"
    SESSIONS_MANAGE = "sessions:manage"  # login analytics, revoke others' sessions
    PRIVACY_MANAGE = "privacy:manage"  # personal-data export and erasure


ROLES: dict[str, str] = {
    "viewer": "Reads every desk page; changes nothing.",
    "trader": "Steers engines, trips the kill switch, launches jobs and exports.",
    "risk": "Edits limits, approves kill-switch resets, reads the audit trail.",
    "admin": "Everything, including users, roles, API tokens and the trading mode.",
}

_READ_DESK = {
    Perm.VIEW_COMMAND_CENTER, Perm.VIEW_TRADING, Perm.VIEW_RISK, Perm.VIEW_JOBS, Perm.VIEW_MODELS,
    Perm.VIEW_ALERTS, Perm.VIEW_REPORTS, Perm.VIEW_OPERATIONS, Perm.EDIT_OWN_PREFERENCES,
}
_TRADER = _READ_DESK | {
    Perm.ENGINE_CONTROL, Perm.KILL_SWITCH_ACTIVATE, Perm.KILL_SWITCH_REQUEST_RESET,
    Perm.JOBS_LAUNCH, Perm.JOBS_CANCEL, Perm.EXPORTS_DOWNLOAD, Perm.INGEST_WRITE,
    Perm.ALERTS_ACT, Perm.RUNBOOK_REQUEST, Perm.MODELS_RETRAIN,
}
_RISK = _READ_DESK | {
    Perm.VIEW_AUDIT, Perm.KILL_SWITCH_ACTIVATE, Perm.KILL_SWITCH_REQUEST_RESET,
    Perm.KILL_SWITCH_APPROVE_RESET, Perm.LIMITS_EDIT, Perm.JOBS_LAUNCH, Perm.JOBS_CANCEL,
    Perm.EXPORTS_DOWNLOAD, Perm.REPORTS_MANAGE,
    Perm.ALERTS_ACT, Perm.ALERT_RULES_EDIT, Perm.RUNBOOK_REQUEST, Perm.RUNBOOK_APPROVE, Perm.MODELS_RETRAIN,
    Perm.MODELS_PROMOTE, Perm.COMPLIANCE_VIEW, Perm.LEGAL_HOLD_MANAGE,
}

MATRIX: dict[str, frozenset[Perm]] = {
    "viewer": frozenset(_READ_DESK),
    "trader": frozenset(_TRADER),
    "risk": frozenset(_RISK),
    "admin": frozenset(Perm),
}


def has_permission(role: str | None, perm: Perm | str) -> bool:
    """True when `role` holds `perm`. Unknown roles and unknown permissions hold nothing."""
    if role not in MATRIX:
        return False
    try:
        return Perm(perm) in MATRIX[role]
    except ValueError:
        return False


def roles_with(perm: Perm) -> list[str]:
    return [role for role, perms in MATRIX.items() if perm in perms]
