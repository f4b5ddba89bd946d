"""Parent and child orders with their lifecycle, and the fills that execute them."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime

ORDER_STATUSES = ("new", "acknowledged", "partially_filled", "filled", "canceled", "rejected", "expired")
TERMINAL_ORDER_STATUSES = ("filled", "canceled", "rejected", "expired")


class Order(db.Model):
    __tablename__ = "orders"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    engine_id = sa.Column(sa.String(32), nullable=False)
    client_order_id = sa.Column(sa.String(64), nullable=False)  # the engine's own id: idempotency key
    parent_id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("orders.id"),
                          nullable=True, index=True)
    strategy_id = sa.Column(sa.Integer, sa.ForeignKey("strategies.id"), nullable=False)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id"), nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=False)
    venue_id = sa.Column(sa.Integer, sa.ForeignKey("venues.id"), nullable=True)
    side = sa.Column(sa.String(4), nullable=False)
    order_type = sa.Column(sa.String(8), nullable=False, default="market")
    quantity = sa.Column(sa.Float, nullable=False)
    limit_price = sa.Column(sa.Float, nullable=True)
    filled_quantity = sa.Column(sa.Float, nullable=False, default=0.0)
    avg_fill_price = sa.Column(sa.Float, nullable=True)
    status = sa.Column(sa.String(16), nullable=False, default="new")
    arrival_mid = sa.Column(sa.Float, nullable=True)  # mid price when the order arrived: slippage base
    reject_reason = sa.Column(sa.String(200), nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False)  # status 'new'
    acknowledged_at = sa.Column(UTCDateTime, nullable=True)
    partially_filled_at = sa.Column(UTCDateTime, nullable=True)
    filled_at = sa.Column(UTCDateTime, nullable=True)
    canceled_at = sa.Column(UTCDateTime, nullable=True)
    rejected_at = sa.Column(UTCDateTime, nullable=True)
    expired_at = sa.Column(UTCDateTime, nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("engine_id", "client_order_id", name="uq_orders_engine_client_id"),
        sa.CheckConstraint("side in ('buy', 'sell')", name="side"),
        sa.CheckConstraint("quantity > 0", name="quantity"),
        sa.CheckConstraint(
            "status in ('new', 'acknowledged', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired')",
            name="status"),
        # The blotter: newest first, optionally narrowed by one column.
        sa.Index("ix_orders_created", "created_at"),
        sa.Index("ix_orders_status_created", "status", "created_at"),
        sa.Index("ix_orders_strategy_created", "strategy_id", "created_at"),
        sa.Index("ix_orders_instrument_created", "instrument_id", "created_at"),
        sa.Index("ix_orders_venue_created", "venue_id", "created_at"),
    )


class Fill(db.Model):
    __tablename__ = "fills"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    engine_id = sa.Column(sa.String(32), nullable=False)
    exec_id = sa.Column(sa.String(64), nullable=False)  # the engine's own id: idempotency key
    order_id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("orders.id"),
                         nullable=False, index=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=False)
    venue_id = sa.Column(sa.Integer, sa.ForeignKey("venues.id"), nullable=False)
    strategy_id = sa.Column(sa.Integer, sa.ForeignKey("strategies.id"), nullable=False)
    side = sa.Column(sa.String(4), nullable=False)
    quantity = sa.Column(sa.Float, nullable=False)
    price = sa.Column(sa.Float, nullable=False)
    fee = sa.Column(sa.Float, nullable=False, default=0.0)
    liquidity = sa.Column(sa.String(5), nullable=False, default="taker")  # maker | taker
    mid_at_arrival = sa.Column(sa.Float, nullable=True)
    mid_at_fill = sa.Column(sa.Float, nullable=True)
    filled_at = sa.Column(UTCDateTime, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("engine_id", "exec_id", name="uq_fills_engine_exec_id"),
        sa.CheckConstraint("quantity > 0 and price > 0 and fee >= 0", name="amounts"),
        sa.CheckConstraint("side in ('buy', 'sell')", name="side"),
        sa.CheckConstraint("liquidity in ('maker', 'taker')", name="liquidity"),
        sa.Index("ix_fills_filled_at", "filled_at"),
        sa.Index("ix_fills_venue_filled_at", "venue_id", "filled_at"),
    )


class Position(db.Model):
    """Derived from fills (never ingested directly): quantity, average cost and realised P&L."""

    __tablename__ = "positions"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id"), nullable=False)
    strategy_id = sa.Column(sa.Integer, sa.ForeignKey("strategies.id"), nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=False)
    quantity = sa.Column(sa.Float, nullable=False, default=0.0)
    avg_cost = sa.Column(sa.Float, nullable=False, default=0.0)
    realized_pnl = sa.Column(sa.Float, nullable=False, default=0.0)
    fees = sa.Column(sa.Float, nullable=False, default=0.0)
    updated_at = sa.Column(UTCDateTime, nullable=False)

    __table_args__ = (sa.UniqueConstraint("account_id", "strategy_id", "instrument_id", name="uq_positions_key"),)
