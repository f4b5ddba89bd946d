"""Risk limits (edited in the Risk War Room, audited) and the breaches the risk monitor found."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

LIMIT_KINDS = ("gross_exposure", "net_exposure", "instrument_notional", "sector_exposure", "var_99",
               "daily_loss", "drawdown")
BREACH_ACTIONS = ("alert", "block_new_orders", "kill_switch")


class RiskLimit(db.Model):
    __tablename__ = "risk_limits"

    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(sa.String(32), nullable=False)
    # What the limit applies to: "*" = the whole book, else an instrument symbol or a sector name.
    scope = sa.Column(sa.String(64), nullable=False, default="*")
    limit_value = sa.Column(sa.Float, nullable=False)
    warn_at = sa.Column(sa.Float, nullable=False, default=0.8)  # utilisation that turns WARNING
    breach_action = sa.Column(sa.String(24), nullable=False, default="alert")
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("kind", "scope", name="uq_risk_limits_kind_scope"),
        sa.CheckConstraint("limit_value > 0", name="limit_value"),
        sa.CheckConstraint("warn_at > 0 and warn_at <= 1", name="warn_at"),
        sa.CheckConstraint("breach_action in ('alert', 'block_new_orders', 'kill_switch')", name="breach_action"),
        sa.CheckConstraint("kind in ('gross_exposure', 'net_exposure', 'instrument_notional', 'sector_exposure',"
                           " 'var_99', 'daily_loss', 'drawdown')", name="kind"),
    )


class LimitBreach(db.Model):
    """One row per breach episode: opened when utilisation crosses 100%, closed when it falls back."""

    __tablename__ = "limit_breaches"

    id = sa.Column(sa.Integer, primary_key=True)
    limit_id = sa.Column(sa.Integer, sa.ForeignKey("risk_limits.id", ondelete="CASCADE"), nullable=False, index=True)
    opened_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    closed_at = sa.Column(UTCDateTime, nullable=True)
    peak_utilisation = sa.Column(sa.Float, nullable=False)
    action_taken = sa.Column(sa.String(24), nullable=False)
    detail = sa.Column(sa.String(300), nullable=False, default="")
