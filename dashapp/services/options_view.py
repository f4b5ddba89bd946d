"""The options desk view: Greeks per option position and aggregated, filtered by underlying,
strategy and expiry; a strike x days-to-expiry map; and the options' P&L over time.

Greeks come from services/risk/greeks.py (the Black-Scholes kernel; units as there: delta in
underlying units, vega and rho per 1%, theta per day). P&L over time: per option, the cash of its
fills plus the position marked at the hourly close of its quoted mid (bars built in the database
by market_history), summed; a position's P&L starts at its first fill."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import market_history
from dashapp.services.risk import greeks
from dashapp.services.risk.book import load_book
from models import Fill, Instrument, Strategy, utcnow

GREEK_COLUMNS = ["delta", "gamma", "vega_1pct", "theta_day", "rho_1pct"]
PNL_DAYS = 7


@dataclass
class OptionsView:
    positions: pd.DataFrame  # one row per option position with its Greeks
    totals: pd.DataFrame  # per underlying, and a last "All" row
    choices: dict  # filter options: underlying, strategy, expiry


def _positions(today: date | None = None) -> pd.DataFrame:
    book = load_book()
    frame = greeks.option_greeks(book, today)
    if frame.empty:
        return frame
    options = book.positions[book.positions["instrument_id"].map(book.instruments["asset_class"]) == "option"]
    frame["strategy"] = options["strategy"].to_numpy()
    frame["expiry"] = [str(e) for e in book.instruments.loc[options["instrument_id"], "expiry"]]
    return frame


def options_view(underlying: str | None = None, strategy: str | None = None, expiry: str | None = None,
                 today: date | None = None) -> OptionsView:
    frame = _positions(today)
    if frame.empty:
        return OptionsView(frame, frame, {"underlying": [], "strategy": [], "expiry": []})
    choices = {k: sorted(frame[k].astype(str).unique()) for k in ("underlying", "strategy", "expiry")}
    for column, value in (("underlying", underlying), ("strategy", strategy), ("expiry", expiry)):
        if value:
            frame = frame[frame[column].astype(str) == value]
    totals = frame.groupby("underlying")[GREEK_COLUMNS].sum().reset_index() if not frame.empty else frame
    if not frame.empty:
        totals = pd.concat([totals, pd.DataFrame([{"underlying": "All", **frame[GREEK_COLUMNS].sum()}])],
                           ignore_index=True)
    return OptionsView(frame.reset_index(drop=True), totals, choices)


def heatmap(positions: pd.DataFrame, greek: str = "gamma") -> pd.DataFrame:
    return greeks.heatmap(positions, greek)


def pnl_series(underlying: str | None = None, strategy: str | None = None, expiry: str | None = None,
               days: int = PNL_DAYS) -> pd.DataFrame:
    """Hourly P&L of the option fills that match the filters (columns ts, pnl)."""
    since = utcnow() - timedelta(days=days)
    under = sa.orm.aliased(Instrument)
    stmt = (sa.select(Instrument.symbol, Instrument.multiplier, Fill.filled_at, Fill.side, Fill.quantity, Fill.price,
                      Fill.fee)
            .join(Instrument, Instrument.id == Fill.instrument_id).join(under, under.id == Instrument.underlying_id)
            .join(Strategy, Strategy.id == Fill.strategy_id)
            .where(Instrument.asset_class == "option", Fill.filled_at >= since))
    if underlying:
        stmt = stmt.where(under.symbol == underlying)
    if strategy:
        stmt = stmt.where(Strategy.code == strategy)
    if expiry:
        stmt = stmt.where(Instrument.expiry == date.fromisoformat(expiry))
    fills = pd.DataFrame(db.session.execute(stmt.limit(20_000)).all(),
                         columns=["symbol", "multiplier", "ts", "side", "quantity", "price", "fee"])
    if fills.empty:
        return pd.DataFrame(columns=["ts", "pnl"])
    fills["ts"] = pd.to_datetime(fills["ts"], utc=True).dt.floor("1h")
    fills["signed"] = np.where(fills["side"] == "buy", 1.0, -1.0) * fills["quantity"]
    parts = []
    for symbol, group in fills.groupby("symbol"):
        marks = market_history.quote_bars(symbol, "1h", since=since).set_index("ts")["close"]
        mult = float(group["multiplier"].iloc[0])
        group = group.assign(cash=-group["signed"] * group["price"])
        flows = group.groupby("ts")[["signed", "cash", "fee"]].sum()
        grid = marks.index.union(flows.index)
        held = flows.reindex(grid, fill_value=0.0).cumsum()
        mark = marks.reindex(grid).ffill()
        pnl = (held["cash"] + held["signed"] * mark) * mult - held["fee"]
        parts.append(pnl[grid >= flows.index[0]].rename(symbol))
    # Each option's P&L carries forward between its marks; before its first fill it is zero.
    total = pd.concat(parts, axis=1).sort_index().ffill().fillna(0.0).sum(axis=1)
    return pd.DataFrame({"ts": total.index, "pnl": total.to_numpy()})
