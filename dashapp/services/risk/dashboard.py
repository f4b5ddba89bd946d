"""Everything the Risk War Room shows, from one evaluation of the book."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import desk
from dashapp.services import read_bounds as rb
from dashapp.services.risk import greeks, measures, monitor
from dashapp.services.risk.book import load_book
from models import Fill, Instrument, utcnow


@dataclass
class RiskView:
    level: str
    equity: float
    gross: float
    net: float
    var99: float | None
    seconds: float
    var_table: pd.DataFrame
    utilisation: list
    curve: pd.DataFrame
    structure: dict
    greeks_totals: pd.DataFrame
    greeks_map: pd.DataFrame
    exposure_history: pd.DataFrame
    block_reason: str


def exposure_history(book, hours: int = 24, top: int = 15) -> pd.DataFrame:
    """Approximate exposure per instrument per hour over the last `hours`: today's position walked
    back through the window's fills, valued at the latest price (top `top` by current size)."""
    if book.positions.empty:
        return pd.DataFrame()
    now = utcnow()
    since = now - timedelta(hours=hours)
    current = book.positions.groupby("instrument_id").agg(qty=("quantity", "sum"), last=("last", "first"),
                                                          symbol=("symbol", "first"))
    current["mult"] = current.index.map(book.instruments["multiplier"])
    current = current.reindex(current["qty"].abs().mul(current["last"]).sort_values(ascending=False).index[:top])
    # Fills up to now only (a future-dated one is not part of the past 24 h) with bounded quantities.
    rows = db.session.execute(sa.select(Fill.instrument_id, Fill.filled_at, Fill.side, Fill.quantity).where(
        Fill.filled_at.between(since, now), rb.qty_ok(Fill.quantity), Fill.instrument_id.in_(list(current.index)))
    ).all()
    hours_index = pd.date_range(since.replace(minute=0, second=0, microsecond=0), now, freq="1h", tz="UTC")
    frame = pd.DataFrame(0.0, index=hours_index, columns=current.index)
    if rows:
        fills = pd.DataFrame(rows, columns=["instrument_id", "ts", "side", "qty"])
        fills["signed"] = fills["qty"].where(fills["side"] == "buy", -fills["qty"])
        fills["hour"] = pd.to_datetime(fills["ts"], utc=True).dt.floor("1h")
        flow = fills.pivot_table(index="hour", columns="instrument_id", values="signed", aggfunc="sum")
        frame = frame.add(flow.reindex(index=hours_index, columns=current.index).fillna(0.0), fill_value=0.0)
    # Position at the end of each hour = current position minus the flow that came after it.
    after = frame[::-1].cumsum()[::-1].shift(-1).fillna(0.0)
    position = current["qty"] - after
    value = position * (current["last"] * current["mult"])
    value.columns = current["symbol"]
    return value


def risk_view(apply_actions: bool = True) -> RiskView:
    evaluation = monitor.evaluate(apply_actions=apply_actions)
    book = load_book()
    exposures = measures.exposure_totals(book)
    var99 = None
    table = evaluation.var_table
    if not table.empty:
        var99 = float(table[(table["scope"] == "TOTAL") & (table["level"] == 0.99)]["historical_var"].iloc[0])
    option_frame = greeks.option_greeks(book)
    return RiskView(
        level=evaluation.level, equity=evaluation.equity, gross=exposures["gross"], net=exposures["net"], var99=var99,
        seconds=evaluation.seconds, var_table=table, utilisation=evaluation.utilisation,
        curve=desk.equity_curve(), structure=measures.structure(book), greeks_totals=greeks.totals(option_frame),
        greeks_map=greeks.heatmap(option_frame, "gamma"), exposure_history=exposure_history(book),
        block_reason=monitor.block_reason(),
    )


def instrument_symbols() -> list[str]:
    return list(db.session.execute(sa.select(Instrument.symbol).order_by(Instrument.symbol)).scalars())
