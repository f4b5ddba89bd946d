"""Model operations: registered models, their versions (artifact on disk, training window, features,
parameters, metrics, validation gates, seed, code version, the job that made it), the champion and
challenger aliases, an append-only history of every alias move (so "which version was live at T" is one
query), and the signals both aliases produced on the same inputs (shadow evaluation, paper P&L)."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

ALIASES = ("champion", "challenger")


class MlModel(db.Model):
    __tablename__ = "ml_models"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(60), nullable=False, unique=True)
    description = sa.Column(sa.String(300), nullable=False, default="")
    symbol = sa.Column(sa.String(16), nullable=False)  # the instrument whose next-period direction it predicts
    interval = sa.Column(sa.String(4), nullable=False, default="1d")
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class MlModelVersion(db.Model):
    __tablename__ = "ml_model_versions"

    id = sa.Column(sa.Integer, primary_key=True)
    model_id = sa.Column(sa.Integer, sa.ForeignKey("ml_models.id", ondelete="CASCADE"), nullable=False)
    version = sa.Column(sa.Integer, nullable=False)
    artifact_path = sa.Column(sa.String(500), nullable=False)  # relative to the instance folder
    train_start = sa.Column(UTCDateTime, nullable=False)
    train_end = sa.Column(UTCDateTime, nullable=False)
    features = sa.Column(sa.JSON, nullable=False, default=list)
    params = sa.Column(sa.JSON, nullable=False, default=dict)
    metrics = sa.Column(sa.JSON, nullable=False, default=dict)
    gates = sa.Column(sa.JSON, nullable=False, default=list)  # [{name, passed, value, threshold, detail}]
    gates_passed = sa.Column(sa.Boolean, nullable=True)  # None: not validated
    seed = sa.Column(sa.Integer, nullable=False)
    trials = sa.Column(sa.Integer, nullable=False, default=1)  # configurations the retraining tried
    code_version = sa.Column(sa.String(80), nullable=False)
    job_id = sa.Column(sa.String(36), nullable=True)  # lineage: the retrain job that made it
    created_by = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("model_id", "version", name="uq_ml_model_versions_model_version"),
        sa.CheckConstraint("version >= 1 and trials >= 1", name="counts"),
    )


class MlModelAlias(db.Model):
    """Where each alias points now (the history table says where it pointed before)."""

    __tablename__ = "ml_model_aliases"

    model_id = sa.Column(sa.Integer, sa.ForeignKey("ml_models.id", ondelete="CASCADE"), primary_key=True)
    alias = sa.Column(sa.String(12), primary_key=True)
    version_id = sa.Column(sa.Integer, sa.ForeignKey("ml_model_versions.id", ondelete="CASCADE"), nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (sa.CheckConstraint("alias in ('champion', 'challenger')", name="alias"),)


class MlAliasHistory(db.Model):
    """Append-only: one row per alias move (promotion, rollback, a new challenger, a cleared alias)."""

    __tablename__ = "ml_alias_history"

    id = sa.Column(sa.Integer, primary_key=True)
    model_id = sa.Column(sa.Integer, sa.ForeignKey("ml_models.id", ondelete="CASCADE"), nullable=False)
    alias = sa.Column(sa.String(12), nullable=False)
    version = sa.Column(sa.Integer, nullable=True)  # None: the alias was cleared
    from_version = sa.Column(sa.Integer, nullable=True)
    action = sa.Column(sa.String(12), nullable=False)
    moved_by = sa.Column(sa.String(64), nullable=False)
    moved_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    reason = sa.Column(sa.String(500), nullable=False)
    evidence = sa.Column(sa.JSON, nullable=False, default=dict)

    __table_args__ = (
        sa.CheckConstraint("alias in ('champion', 'challenger')", name="alias"),
        sa.CheckConstraint("action in ('promote', 'rollback', 'challenger', 'clear')", name="action"),
        sa.Index("ix_ml_alias_history_model_alias_moved", "model_id", "alias", "moved_at"),
    )


class MlShadowSignal(db.Model):
    """A version's signal on one bar, with the paper P&L of the position it held over that bar."""

    __tablename__ = "ml_shadow_signals"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    model_id = sa.Column(sa.Integer, sa.ForeignKey("ml_models.id", ondelete="CASCADE"), nullable=False)
    version_id = sa.Column(sa.Integer, sa.ForeignKey("ml_model_versions.id", ondelete="CASCADE"), nullable=False)
    role = sa.Column(sa.String(12), nullable=False)  # the alias it held when the bar was evaluated
    ts = sa.Column(UTCDateTime, nullable=False)  # the bar's decision time
    probability = sa.Column(sa.Float, nullable=False)  # P(next return > 0)
    signal = sa.Column(sa.Integer, nullable=False)  # -1, 0, +1
    price = sa.Column(sa.Float, nullable=False)
    pnl = sa.Column(sa.Float, nullable=False, default=0.0)  # return earned over this bar by the previous signal
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("version_id", "ts", name="uq_ml_shadow_signals_version_ts"),
        sa.CheckConstraint("role in ('champion', 'challenger')", name="role"),
        sa.CheckConstraint("signal in (-1, 0, 1)", name="signal"),
        sa.Index("ix_ml_shadow_signals_model_ts", "model_id", "ts"),
    )
