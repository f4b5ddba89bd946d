"""Governance: MFA, approvals, sessions (issue 14 part 1-3) and retention, legal holds, compliance
reports and personal data (part 4-6)."""
