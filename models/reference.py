"""Reference data: accounts, strategies, instruments (equities, FX, options) and venues."""
import sqlalchemy as sa

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow

ASSET_CLASSES = ("equity", "fx", "option", "index")


class Account(db.Model):
    __tablename__ = "accounts"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(32), nullable=False, unique=True)
    name = sa.Column(sa.String(120), nullable=False, default="")
    base_currency = sa.Column(sa.String(3), nullable=False, default="USD")


class Strategy(db.Model):
    __tablename__ = "strategies"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(32), nullable=False, unique=True)
    name = sa.Column(sa.String(120), nullable=False, default="")
    kind = sa.Column(sa.String(32), nullable=False, default="custom")
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id"), nullable=False)
    allocation = sa.Column(sa.Float, nullable=False, default=0.0)  # capital assigned, account currency
    params = sa.Column(sa.JSON, nullable=False, default=dict)
    active = sa.Column(sa.Boolean, nullable=False, default=True)


class Instrument(db.Model):
    __tablename__ = "instruments"

    id = sa.Column(sa.Integer, primary_key=True)
    symbol = sa.Column(sa.String(48), nullable=False, unique=True)
    asset_class = sa.Column(sa.String(16), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False, default="USD")
    sector = sa.Column(sa.String(48), nullable=False, default="")
    multiplier = sa.Column(sa.Float, nullable=False, default=1.0)
    # Options only: the underlying, strike, expiry and right (C/P).
    underlying_id = sa.Column(sa.Integer, sa.ForeignKey("instruments.id"), nullable=True, index=True)
    strike = sa.Column(sa.Float, nullable=True)
    expiry = sa.Column(sa.Date, nullable=True)
    option_right = sa.Column(sa.String(1), nullable=True)

    __table_args__ = (
        sa.CheckConstraint("asset_class in ('equity', 'fx', 'option', 'index')", name="asset_class"),
        sa.CheckConstraint(
            "(asset_class <> 'option') or (underlying_id is not null and strike > 0 and expiry is not null"
            " and option_right in ('C', 'P'))", name="option_terms"),
    )


class Venue(db.Model):
    __tablename__ = "venues"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(32), nullable=False, unique=True)
    name = sa.Column(sa.String(120), nullable=False, default="")
    kind = sa.Column(sa.String(16), nullable=False, default="exchange")  # exchange | lp | dark
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
