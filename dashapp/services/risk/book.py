"""The risk book: current exposures (delta-adjusted for options) and daily returns of what is held."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import desk, rawsql
from dashapp.services import read_bounds as rb
from models import Bar, Instrument, PnlSnapshot, Position, Strategy

RISK_FREE = 0.03
HISTORY_DAYS = 750  # about three years of daily returns


@dataclass
class Book:
    positions: pd.DataFrame  # one row per (strategy, instrument) with exposure in account currency
    equity: float
    returns: pd.DataFrame  # (T, underlyings) daily simple returns, aligned
    instruments: pd.DataFrame  # instrument metadata indexed by id

    @property
    def empty(self) -> bool:
        return self.positions.empty or self.returns.empty

    def exposure_matrix(self) -> pd.DataFrame:
        """(underlying, strategy) delta exposure; underlyings in the order of `returns` columns,
        strategies sorted. Computed once per book (VaR and Monte Carlo both need it)."""
        return self._exposure_matrix.copy()

    @functools.cached_property
    def _exposure_matrix(self) -> pd.DataFrame:
        if self.positions.empty:
            return pd.DataFrame()
        # A scatter-add instead of pivot_table (~15 ms of pandas machinery for ~100 rows).
        strategies, s_code = np.unique(self.positions["strategy"].to_numpy(), return_inverse=True)
        under = pd.Index(self.returns.columns).get_indexer(self.positions["underlying"].to_numpy())
        held = under >= 0  # underlyings without return history carry no VaR
        table = np.zeros((len(self.returns.columns), len(strategies)))
        np.add.at(table, (under[held], s_code[held]), self.positions["exposure"].to_numpy()[held])
        return pd.DataFrame(table, index=self.returns.columns, columns=pd.Index(strategies, name="strategy"))


INSTRUMENT_COLUMNS = ("id", "symbol", "asset_class", "sector", "currency", "multiplier", "underlying_id", "strike",
                      "expiry", "option_right")


def _instrument_frame() -> pd.DataFrame:
    rows = db.session.execute(sa.select(*(getattr(Instrument, c) for c in INSTRUMENT_COLUMNS))).all()
    if not rows:
        return pd.DataFrame()
    ids, *values = zip(*rows)  # column-wise: half the cost of DataFrame.from_records
    return pd.DataFrame(dict(zip(INSTRUMENT_COLUMNS[1:], values)), index=pd.Index(ids, name="id"))


_RETURNS_CACHE: dict = {}
RETURNS_TTL_S = 300.0  # daily bars change once a day; five minutes is fresh enough


def daily_returns(instrument_ids: list[int], days: int = HISTORY_DAYS) -> pd.DataFrame:
    """Simple daily returns from stored 1d bars, one column per instrument id (dates where all exist).
    Cached per process for a few minutes, keyed by database and instrument set: a risk refresh
    then costs the arithmetic, not re-reading years of bars."""
    if not instrument_ids:
        return pd.DataFrame()
    key = (str(db.engine.url), tuple(sorted(instrument_ids)), days)
    hit = _RETURNS_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] < RETURNS_TTL_S:
        return hit[1]
    # The history ends at the newest bar that is not in the future: one year-9999 bar must not
    # move the window past every real bar (and empty the risk page).
    span = rb.window()
    cutoff = db.session.execute(sa.select(sa.func.max(Bar.ts)).where(
        Bar.interval == "1d", Bar.ts <= span.latest)).scalar()
    if cutoff is None:
        return pd.DataFrame()
    # Raw column values (no per-row type conversion): ISO text on SQLite, timestamps on PostgreSQL.
    # An absurd close is left out (its day is then missing for that instrument, like a gap).
    stmt = sa.select(Bar.instrument_id, Bar.ts, Bar.close).where(
        Bar.interval == "1d", Bar.instrument_id.in_(instrument_ids), rb.price_ok(Bar.close),
        Bar.ts.between(max(cutoff - timedelta(days=int(days * 1.6) + 10), span.earliest), cutoff))
    rows = rawsql.fetch(stmt)
    if not rows:
        return pd.DataFrame()
    closes = pd.DataFrame(rows, columns=["instrument_id", "ts", "close"]).pivot_table(
        index="ts", columns="instrument_id", values="close").sort_index()
    closes.index = pd.to_datetime(closes.index, utc=True, format="mixed")
    closes = closes.dropna(axis=1, how="all").ffill().dropna()
    returns = closes.pct_change().dropna().tail(days)
    _RETURNS_CACHE[key] = (time.monotonic(), returns)
    return returns


@functools.cache
def _equity_statement() -> sa.Select:
    """Sum over strategies of each one's latest equity snapshot (built once: statement
    construction cost as much as running it). Only bounded snapshots up to `:latest` count: a
    future-dated one would otherwise be "the latest" for ever."""
    latest = sa.select(PnlSnapshot.strategy_id, sa.func.max(PnlSnapshot.ts).label("ts")).where(
        PnlSnapshot.ts <= sa.bindparam("latest", type_=PnlSnapshot.ts.type), rb.amount_ok(PnlSnapshot.equity)
    ).group_by(PnlSnapshot.strategy_id).subquery()
    return sa.select(sa.func.sum(PnlSnapshot.equity)).join(
        latest, sa.and_(latest.c.strategy_id == PnlSnapshot.strategy_id, latest.c.ts == PnlSnapshot.ts)
    ).where(rb.amount_ok(PnlSnapshot.equity))


def current_equity() -> float:
    total = db.session.execute(_equity_statement(), {"latest": rb.window().latest}).scalar()
    if total:
        return float(total)
    allocated = db.session.execute(sa.select(sa.func.sum(Strategy.allocation))).scalar()
    return float(allocated or 1.0)


def option_deltas(options: pd.DataFrame, spot, vols, today: date) -> np.ndarray:
    """Black-Scholes delta of each option row (expiry, strike, option_right) at `spot` and `vols`."""
    from dashapp.kernels import black_scholes

    if options.empty:
        return np.empty(0)
    years = np.array([max((e - today).days, 1) / 365.0 for e in options["expiry"]])
    greeks = black_scholes(np.asarray(spot, dtype=float), options["strike"].to_numpy(dtype=float), years,
                           np.asarray(vols, dtype=float), RISK_FREE, 0.0, (options["option_right"] == "C").to_numpy())
    return np.asarray(greeks.delta)


def _held_positions(extra: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strategy, instrument_id, quantity) arrays of every non-zero position, by symbol, plus the
    what-if's `extra` rows: one query (the blotter's `desk.open_positions` also values every row)."""
    rows = db.session.execute(sa.select(Strategy.code, Position.instrument_id, Position.quantity)
                              .join(Strategy, Strategy.id == Position.strategy_id)
                              .join(Instrument, Instrument.id == Position.instrument_id)
                              .where(Position.quantity != 0, *desk.POSITION_OK).order_by(Instrument.symbol)).all()
    strategy = [r[0] for r in rows]
    ids = [r[1] for r in rows]
    qty = [r[2] for r in rows]
    if extra is not None and not extra.empty:
        strategy += list(extra["strategy"])
        ids += [int(i) for i in extra["instrument_id"]]
        qty += [float(q) for q in extra["quantity"]]
    qty = np.asarray(qty, dtype=float)
    live = qty != 0
    return np.asarray(strategy, dtype=object)[live], np.asarray(ids, dtype=np.int64)[live], qty[live]


def load_book(extra: pd.DataFrame | None = None) -> Book:
    """Positions valued at the latest mids. `extra` (strategy, instrument_id, quantity) adds
    hypothetical positions (the what-if).

    Worked on NumPy arrays and built into one DataFrame at the end: the monitor loads the book
    every few seconds, and per-column pandas mapping/assignment cost more than the queries."""
    instruments = _instrument_frame()
    strategy, ids, qty = _held_positions(extra)
    if instruments.empty or not len(ids):
        return Book(pd.DataFrame(), current_equity(), pd.DataFrame(), instruments)
    at = instruments.index.get_indexer(ids)
    strategy, ids, qty, at = strategy[at >= 0], ids[at >= 0], qty[at >= 0], at[at >= 0]

    def column(name: str) -> np.ndarray:  # instrument metadata of every position
        return instruments[name].to_numpy()[at]

    is_option = column("asset_class") == "option"
    parent = pd.to_numeric(pd.Series(column("underlying_id")), errors="coerce").fillna(-1).to_numpy(np.int64)
    underlying = np.where(is_option, parent, ids)
    prices = desk.last_prices(sorted(set(ids.tolist()) | set(underlying.tolist())))
    last = np.array([prices.get(i, np.nan) for i in ids.tolist()], dtype=float)
    underlying_last = np.array([prices.get(i, np.nan) for i in underlying.tolist()], dtype=float)
    priced = ~(np.isnan(last) | np.isnan(underlying_last))  # unpriced positions carry no risk figure
    strategy, ids, qty, at = strategy[priced], ids[priced], qty[priced], at[priced]
    is_option, underlying, last, underlying_last = is_option[priced], underlying[priced], last[priced], \
        underlying_last[priced]
    returns = daily_returns(sorted(set(underlying.tolist())))
    delta = np.ones(len(ids))
    if is_option.any():
        vols = returns.std() * np.sqrt(252) if not returns.empty else pd.Series(dtype=float)
        delta[is_option] = option_deltas(instruments.iloc[at[is_option]], underlying_last[is_option],
                                         vols.reindex(underlying[is_option]).fillna(0.3).to_numpy(), date.today())
    multiplier = column("multiplier").astype(float)
    sector = column("sector")
    positions = pd.DataFrame({
        "strategy": strategy, "instrument_id": ids, "quantity": qty, "underlying_id": underlying, "last": last,
        "underlying_last": underlying_last, "exposure": qty * multiplier * delta * underlying_last,
        "notional": qty * multiplier * last, "underlying": underlying,
        "sector": np.where(sector == "", "Unclassified", sector), "symbol": column("symbol")})
    in_book = set(underlying.tolist())
    held = [c for c in returns.columns if c in in_book]
    return Book(positions, current_equity(), returns[held], instruments)
