"""Market data: top-of-book quotes and OHLCV bars."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime

BAR_INTERVALS = ("1m", "5m", "1h", "1d")


class Quote(db.Model):
    __tablename__ = "quotes"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    # No foreign key: quotes are the highest-volume table, and PostgreSQL's per-row FK check was the
    # largest single cost of ingesting them. Ingest resolves every instrument in the same
    # transaction and holds FOR KEY SHARE on the referenced rows until it commits (what the FK
    # check itself locks), so no quote can point at a missing instrument. See DECISIONS D21.
    instrument_id = sa.Column(sa.Integer, nullable=False)
    ts = sa.Column(UTCDateTime, nullable=False)
    bid = sa.Column(sa.Float, nullable=False)
    ask = sa.Column(sa.Float, nullable=False)
    bid_size = sa.Column(sa.Float, nullable=True)
    ask_size = sa.Column(sa.Float, nullable=True)

    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "ts", name="uq_quotes_instrument_ts"),
        sa.CheckConstraint("bid > 0 and ask >= bid", name="prices"),
    )


class Bar(db.Model):
    __tablename__ = "bars"

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=False)
    interval = sa.Column(sa.String(4), nullable=False)
    ts = sa.Column(UTCDateTime, nullable=False)
    open = sa.Column(sa.Float, nullable=False)
    high = sa.Column(sa.Float, nullable=False)
    low = sa.Column(sa.Float, nullable=False)
    close = sa.Column(sa.Float, nullable=False)
    volume = sa.Column(sa.Float, nullable=False, default=0.0)

    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "interval", "ts", name="uq_bars_instrument_interval_ts"),
        sa.CheckConstraint("interval in ('1m', '5m', '1h', '1d')", name="interval"),
        sa.CheckConstraint("low <= high and low > 0", name="range"),
    )
