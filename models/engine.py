"""What engines report (state, signals, risk-gate decisions, events) and what the cockpit asks of
them (desired state, kill switch, control actions)."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

ENGINE_STATUSES = ("starting", "running", "stopping", "stopped", "crashed", "unknown")


class EngineState(db.Model):
    """The engine's own report of itself (actual state). Written by ingest/heartbeats only."""

    __tablename__ = "engine_states"

    engine_id = sa.Column(sa.String(32), primary_key=True)
    status = sa.Column(sa.String(16), nullable=False, default="unknown")
    stage = sa.Column(sa.String(32), nullable=False, default="")  # pipeline stage: data/signal/risk/route/...
    version = sa.Column(sa.String(32), nullable=False, default="")
    pid = sa.Column(sa.Integer, nullable=True)
    heartbeat_at = sa.Column(UTCDateTime, nullable=True)
    started_at = sa.Column(UTCDateTime, nullable=True)
    detail = sa.Column(sa.JSON, nullable=False, default=dict)


class EngineControl(db.Model):
    """Desired state written by control actions; the supervisor and engine reconcile to it."""

    __tablename__ = "engine_controls"

    engine_id = sa.Column(sa.String(32), primary_key=True)
    desired_status = sa.Column(sa.String(16), nullable=False, default="running")  # running | stopped
    generation = sa.Column(sa.Integer, nullable=False, default=0)  # bumps on restart requests
    reason = sa.Column(sa.String(300), nullable=False, default="")
    updated_by = sa.Column(sa.String(64), nullable=False, default="system")
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class KillSwitch(db.Model):
    """One row per scope ('global'). Active = engines cancel working orders and accept no new ones."""

    __tablename__ = "kill_switches"

    scope = sa.Column(sa.String(32), primary_key=True)
    active = sa.Column(sa.Boolean, nullable=False, default=False)
    reason = sa.Column(sa.String(300), nullable=False, default="")
    activated_by = sa.Column(sa.String(64), nullable=True)
    activated_at = sa.Column(UTCDateTime, nullable=True)
    reset_requested_by = sa.Column(sa.String(64), nullable=True)
    reset_requested_at = sa.Column(UTCDateTime, nullable=True)
    reset_reason = sa.Column(sa.String(300), nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class ControlAction(db.Model):
    """Idempotency record of control actions: the same key acts once (a double click)."""

    __tablename__ = "control_actions"

    id = sa.Column(sa.Integer, primary_key=True)
    idempotency_key = sa.Column(sa.String(128), nullable=False, unique=True)
    actor = sa.Column(sa.String(64), nullable=False)
    action = sa.Column(sa.String(48), nullable=False)
    target = sa.Column(sa.String(64), nullable=False)
    outcome = sa.Column(sa.String(300), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class Signal(db.Model):
    __tablename__ = "signals"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    engine_id = sa.Column(sa.String(32), nullable=False)
    signal_id = sa.Column(sa.String(64), nullable=False)
    strategy_id = sa.Column(sa.Integer, sa.ForeignKey("strategies.id"), nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=False)
    ts = sa.Column(UTCDateTime, nullable=False, index=True)
    direction = sa.Column(sa.SmallInteger, nullable=False)  # -1 short, 0 flat, +1 long
    confidence = sa.Column(sa.Float, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("engine_id", "signal_id", name="uq_signals_engine_signal_id"),
        sa.CheckConstraint("direction in (-1, 0, 1)", name="direction"),
        sa.CheckConstraint("confidence >= 0 and confidence <= 1", name="confidence"),
    )


class RiskDecision(db.Model):
    """The engine's pre-trade risk gate: allow, scale (smaller quantity) or block, with rule and reason."""

    __tablename__ = "risk_decisions"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    engine_id = sa.Column(sa.String(32), nullable=False)
    decision_id = sa.Column(sa.String(64), nullable=False)
    ts = sa.Column(UTCDateTime, nullable=False, index=True)
    strategy_id = sa.Column(sa.Integer, sa.ForeignKey("strategies.id"), nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=False)
    client_order_id = sa.Column(sa.String(64), nullable=True)
    decision = sa.Column(sa.String(8), nullable=False)
    rule = sa.Column(sa.String(48), nullable=False, default="")
    reason = sa.Column(sa.String(300), nullable=False, default="")
    requested_qty = sa.Column(sa.Float, nullable=False)
    allowed_qty = sa.Column(sa.Float, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("engine_id", "decision_id", name="uq_risk_decisions_engine_decision_id"),
        sa.CheckConstraint("decision in ('allow', 'scale', 'block')", name="decision"),
    )


class EngineEvent(db.Model):
    __tablename__ = "engine_events"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    engine_id = sa.Column(sa.String(32), nullable=False)
    event_id = sa.Column(sa.String(64), nullable=False)
    ts = sa.Column(UTCDateTime, nullable=False, index=True)
    level = sa.Column(sa.String(8), nullable=False, default="info")
    kind = sa.Column(sa.String(32), nullable=False)
    message = sa.Column(sa.String(500), nullable=False, default="")
    order_client_id = sa.Column(sa.String(64), nullable=True, index=True)  # links events to an order
    data = sa.Column(sa.JSON, nullable=False, default=dict)

    __table_args__ = (
        sa.UniqueConstraint("engine_id", "event_id", name="uq_engine_events_engine_event_id"),
        sa.CheckConstraint("level in ('debug', 'info', 'warning', 'error', 'critical')", name="level"),
        # restarts on the equity chart (kind = 'engine.restart' within a window), every refresh
        sa.Index("ix_engine_events_kind_ts", "kind", "ts"),
    )


class PnlSnapshot(db.Model):
    """A strategy's marked-to-market state as its engine saw it at `ts` (the equity curve's points)."""

    __tablename__ = "pnl_snapshots"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    engine_id = sa.Column(sa.String(32), nullable=False)
    strategy_id = sa.Column(sa.Integer, sa.ForeignKey("strategies.id"), nullable=False)
    ts = sa.Column(UTCDateTime, nullable=False)
    equity = sa.Column(sa.Float, nullable=False)
    realized_pnl = sa.Column(sa.Float, nullable=False, default=0.0)
    unrealized_pnl = sa.Column(sa.Float, nullable=False, default=0.0)
    gross_exposure = sa.Column(sa.Float, nullable=False, default=0.0)
    net_exposure = sa.Column(sa.Float, nullable=False, default=0.0)

    __table_args__ = (
        sa.UniqueConstraint("engine_id", "strategy_id", "ts", name="uq_pnl_snapshots_engine_strategy_ts"),
        sa.Index("ix_pnl_snapshots_ts", "ts"),
    )
