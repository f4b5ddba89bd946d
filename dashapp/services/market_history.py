"""Price history per instrument: OHLC bars built from the stored quotes in the database (one
GROUP BY over a time bucket, dialect-aware), the stored bars where quotes do not reach back, and
the desk's fills to mark on the chart.

Bars from quotes use the mid ((bid + ask) / 2): open = the first mid of the bucket, close = the
last, high/low = the extremes, volume = the number of quote updates (tick volume; quotes carry no
traded size). Buckets start at multiples of their width since the Unix epoch, in UTC.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import read_bounds as rb
from dashapp.services.errors import NotFound, ValidationError
from models import Bar, Fill, Instrument, Quote, utcnow

INTERVALS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
DEFAULT_SPAN = {"1m": timedelta(days=1), "5m": timedelta(days=5), "1h": timedelta(days=30),
                "1d": timedelta(days=730)}
MAX_BARS = 200_000  # the newest bars of a request: a year of minutes fits; the figure downsamples
MAX_TICKS = 2_000_000
COLUMNS = ["ts", "open", "high", "low", "close", "volume"]


def _bucket_sql(dialect: str, seconds: int) -> str:
    if dialect == "sqlite":
        # SQLite stores UTC stamps as text; strftime('%s') reads them as epoch seconds.
        return f"(CAST(strftime('%s', ts) AS INTEGER) / {seconds}) * {seconds}"
    return f"CAST(floor(extract(epoch from ts) / {seconds}) * {seconds} AS BIGINT)"


def instruments() -> list[dict]:
    """Instruments with a price history (quotes or stored bars), options left out: their marks
    are model prices, not a market to chart."""
    with_quotes = sa.select(Quote.instrument_id).distinct()
    with_bars = sa.select(Bar.instrument_id).distinct()
    rows = db.session.execute(
        sa.select(Instrument.symbol, Instrument.asset_class)
        .where(Instrument.asset_class != "option",
               sa.or_(Instrument.id.in_(with_quotes), Instrument.id.in_(with_bars)))
        .order_by(Instrument.symbol)).all()
    return [{"symbol": s, "asset_class": a} for s, a in rows]


def _instrument_id(symbol: str) -> int:
    if not symbol:
        raise ValidationError("choose an instrument", field="instrument")
    found = db.session.execute(sa.select(Instrument.id).where(Instrument.symbol == symbol)).scalar()
    if found is None:
        raise NotFound(f"no instrument {symbol!r}")
    return found


def period(interval: str, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    if interval not in INTERVALS:
        raise ValidationError(f"interval must be one of {', '.join(INTERVALS)}", field="interval")
    until = until or utcnow()
    since = since or until - DEFAULT_SPAN[interval]
    if since >= until:
        raise ValidationError("the period must start before it ends", field="since")
    return rb.window().clip(since, until)


def quote_bars(symbol: str, interval: str, since: datetime | None = None,
               until: datetime | None = None) -> pd.DataFrame:
    """OHLC + tick volume per bucket, aggregated in the database from the quotes."""
    since, until = period(interval, since, until)
    instrument_id = _instrument_id(symbol)
    bucket = sa.literal_column(_bucket_sql(db.engine.dialect.name, INTERVALS[interval]), sa.BigInteger)
    mid = (Quote.bid + Quote.ask) / 2.0
    # First/last mid of each bucket by window functions (SQLite >= 3.25 and PostgreSQL), then one
    # GROUP BY: the database scans the quotes once and sends back one row per bar.
    q = (sa.select(bucket.label("bucket"), mid.label("mid"),
                   sa.func.first_value(mid).over(partition_by=bucket, order_by=(Quote.ts, Quote.id)).label("o"),
                   sa.func.first_value(mid).over(partition_by=bucket,
                                                 order_by=(Quote.ts.desc(), Quote.id.desc())).label("c"))
         .where(Quote.instrument_id == instrument_id, Quote.ts >= since, Quote.ts < until,
                rb.price_ok(Quote.bid), rb.price_ok(Quote.ask))
         .subquery())
    rows = db.session.execute(
        sa.select(q.c.bucket, sa.func.min(q.c.o), sa.func.max(q.c.mid), sa.func.min(q.c.mid), sa.func.min(q.c.c),
                  sa.func.count())
        .group_by(q.c.bucket).order_by(q.c.bucket.desc()).limit(MAX_BARS)).all()
    frame = pd.DataFrame(rows[::-1], columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="s", utc=True)
    return frame.astype({c: "float64" for c in COLUMNS[1:]})


def stored_bars(symbol: str, interval: str, since: datetime | None = None,
                until: datetime | None = None) -> pd.DataFrame:
    since, until = period(interval, since, until)
    rows = db.session.execute(
        sa.select(Bar.ts, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume)
        .where(Bar.instrument_id == _instrument_id(symbol), Bar.interval == interval, Bar.ts >= since,
               Bar.ts < until, rb.price_ok(Bar.high), rb.price_ok(Bar.low), rb.price_ok(Bar.open),
               rb.price_ok(Bar.close))
        .order_by(Bar.ts.desc()).limit(MAX_BARS)).all()
    frame = pd.DataFrame(rows[::-1], columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.astype({c: "float64" for c in COLUMNS[1:]})


def bars(symbol: str, interval: str, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Stored bars where they exist (the engine's history), then bars built from quotes after the
    last stored one; column `source` says which ("stored" or "quotes")."""
    stored = stored_bars(symbol, interval, since, until).assign(source="stored")
    built = quote_bars(symbol, interval, since, until).assign(source="quotes")
    if not stored.empty and not built.empty:
        built = built[built["ts"] > stored["ts"].iloc[-1]]
    parts = [p for p in (stored, built) if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else built


def mids(symbol: str, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Every quote's mid (tick level) in the period, oldest first, for the long-series line."""
    since, until = period("1m", since, until)
    rows = db.session.execute(
        sa.select(Quote.ts, ((Quote.bid + Quote.ask) / 2).label("mid"))
        .where(Quote.instrument_id == _instrument_id(symbol), Quote.ts >= since, Quote.ts < until,
               rb.price_ok(Quote.bid), rb.price_ok(Quote.ask))
        .order_by(Quote.ts).limit(MAX_TICKS)).all()
    return pd.DataFrame(rows, columns=["ts", "mid"])


def fills(symbol: str, since: datetime | None = None, until: datetime | None = None,
          interval: str = "1d") -> pd.DataFrame:
    """The desk's fills on the instrument in the period: ts, side, quantity, price, strategy."""
    since, until = period(interval, since, until)
    from models import Strategy

    rows = db.session.execute(
        sa.select(Fill.filled_at, Fill.side, Fill.quantity, Fill.price, Strategy.code)
        .join(Strategy, Strategy.id == Fill.strategy_id)
        .where(Fill.instrument_id == _instrument_id(symbol), Fill.filled_at >= since, Fill.filled_at < until,
               rb.price_ok(Fill.price), rb.qty_ok(Fill.quantity))
        .order_by(Fill.filled_at.desc()).limit(5_000)).all()
    frame = pd.DataFrame(rows[::-1], columns=["ts", "side", "quantity", "price", "strategy"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def closes(frame: pd.DataFrame) -> np.ndarray:
    return np.ascontiguousarray(frame["close"].to_numpy(dtype=np.float64))
