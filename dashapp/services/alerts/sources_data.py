"""Market data freshness for alert rules: age of the newest quote per instrument, for instruments
quoted in the last hour (an instrument nobody quotes today is not stale, it is not traded), and the
quotes' mid price history (for anomaly and predictive rules on prices)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import rawsql
from dashapp.services import read_bounds as rb
from dashapp.services.alerts.metrics import MetricSource, Sample, Series, register_metric
from models import Instrument, Quote

ACTIVE_WINDOW = timedelta(hours=1)
MAX_POINTS = 5000


def _quote_age(now: datetime) -> list[Sample]:
    newest = (sa.select(Quote.instrument_id, sa.func.max(Quote.ts).label("ts"))
              .where(Quote.ts > now - ACTIVE_WINDOW, Quote.ts <= now + timedelta(minutes=5))
              .group_by(Quote.instrument_id).subquery())
    rows = db.session.execute(sa.select(Instrument.symbol, newest.c.ts)
                              .join(newest, newest.c.instrument_id == Instrument.id)).all()
    out = []
    for symbol, ts in rows:
        ts = pd.Timestamp(ts).tz_localize("UTC") if pd.Timestamp(ts).tzinfo is None else pd.Timestamp(ts)
        out.append(Sample({"instrument": symbol}, max(0.0, (now - ts.to_pydatetime()).total_seconds())))
    return out


def _mid_history(start: datetime, end: datetime) -> list[Series]:
    rows = rawsql.fetch(sa.select(Instrument.symbol, Quote.ts, (Quote.bid + Quote.ask) / 2.0)
                        .join(Instrument, Instrument.id == Quote.instrument_id)
                        .where(Quote.ts.between(start, end), rb.price_ok(Quote.bid), rb.price_ok(Quote.ask))
                        .order_by(Quote.ts).limit(MAX_POINTS * 50))
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["symbol", "ts", "mid"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="mixed")
    width = pd.Timedelta(seconds=max(1.0, (end - start).total_seconds() / MAX_POINTS))
    out = []
    for symbol, group in frame.groupby("symbol"):
        last = group.set_index("ts")["mid"].resample(width).last().dropna()
        out.append(Series({"instrument": symbol}, list(last.index.to_pydatetime()), last.astype(float).tolist()))
    return out


register_metric(MetricSource("data.quote_age", "Age of the newest quote", "s", ("instrument",), _quote_age))
register_metric(MetricSource("data.mid_price", "Mid price", "price", ("instrument",),
                             lambda now: [Sample(s.labels, s.values[-1]) for s in _mid_history(now - timedelta(
                                 minutes=5), now) if s.values], _mid_history))
