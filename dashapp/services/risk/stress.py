"""Stress tests: historical scenarios taken from the stored daily history (the worst days and
windows of the S&P 500 in it) and hypothetical shocks (equity, rates, FX, volatility), applied to
the current book with full option repricing (Black-Scholes at the shocked spot, vol and rate).

Each scenario gives P&L by position, strategy and sector, and PASS/FAIL against the daily-loss
limit (a scenario loss beyond it fails)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp import kernels
from dashapp.extensions import db
from dashapp.services.risk import limits as limit_service
from dashapp.services.risk.book import RISK_FREE, Book, daily_returns, load_book
from models import Instrument

BENCHMARK = "SPX"


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # historical | hypothetical
    description: str
    equity_returns: dict = field(default_factory=dict)  # underlying id -> return (historical)
    equity_shock: float = 0.0  # hypothetical: every equity/index moves by this
    fx_shock: float = 0.0
    vol_shift: float = 0.0  # absolute change of implied vol (0.10 = +10 points)
    rate_shift: float = 0.0  # absolute change of the rate (0.01 = +100 bp)


HYPOTHETICAL = [
    Scenario("Equity -10%", "hypothetical", "every stock and index down 10%", equity_shock=-0.10),
    Scenario("Equity -20%, vol +15", "hypothetical", "crash: stocks down 20%, implied vol up 15 points",
             equity_shock=-0.20, vol_shift=0.15),
    Scenario("Equity +10%, vol -5", "hypothetical", "rally: stocks up 10%, implied vol down 5 points",
             equity_shock=0.10, vol_shift=-0.05),
    Scenario("Rates +100 bp", "hypothetical", "rates up one point (moves option values through rho)",
             rate_shift=0.01),
    Scenario("USD +5%", "hypothetical", "every FX pair moves 5% against the quote currency", fx_shock=-0.05),
    Scenario("Vol +10", "hypothetical", "implied volatility up 10 points, prices unchanged", vol_shift=0.10),
]


def historical_scenarios(book: Book, worst_days: int = 3, windows: tuple[int, ...] = (5, 20)) -> list[Scenario]:
    """The benchmark's worst single days and worst multi-day windows in the stored history, with
    every held underlying's actual return over the same dates."""
    spx = db.session.execute(sa.select(Instrument.id).where(Instrument.symbol == BENCHMARK)).scalar()
    held = sorted(set(book.positions["underlying_id"])) if not book.positions.empty else []
    if spx is None or not held:
        return []
    returns = daily_returns(sorted(set(held) | {spx}), days=5000)
    if returns.empty or spx not in returns.columns:
        return []
    growth = np.log1p(returns)
    out = []
    for day in returns[spx].nsmallest(worst_days).index:
        out.append(Scenario(f"Worst day {day.date()}", "historical",
                            f"S&P 500 {returns.at[day, spx]:+.1%} on {day.date()}",
                            equity_returns={c: float(returns.at[day, c]) for c in returns.columns if c != spx}))
    for width in windows:
        window = growth.rolling(width).sum()
        end = window[spx].idxmin()
        start = returns.index[returns.index.get_loc(end) - width + 1]
        total = np.expm1(window.loc[end])
        out.append(Scenario(f"Worst {width}-day window to {end.date()}", "historical",
                            f"S&P 500 {total[spx]:+.1%} from {start.date()} to {end.date()}",
                            equity_returns={c: float(total[c]) for c in returns.columns if c != spx}))
    return out


def _option_values(opts: pd.DataFrame, spot: np.ndarray, vol: np.ndarray, rate: float, today: date) -> np.ndarray:
    years = np.array([max((e - today).days, 1) / 365.0 for e in opts["expiry"]])
    priced = kernels.black_scholes(spot, opts["strike"].to_numpy(), years, np.clip(vol, 0.01, 5.0), rate, 0.0,
                                   (opts["option_right"] == "C").to_numpy())
    return np.asarray(priced.price)


def apply(book: Book, scenario: Scenario, today: date | None = None) -> pd.DataFrame:
    """P&L of every position under `scenario` (options fully repriced)."""
    today = today or date.today()
    pos = book.positions.copy()
    inst = book.instruments
    asset = pos["instrument_id"].map(inst["asset_class"])
    if scenario.kind == "historical":
        move = pos["underlying_id"].map(scenario.equity_returns).fillna(0.0).to_numpy()
    else:
        under_class = pos["underlying_id"].map(inst["asset_class"])
        move = np.where(under_class.isin(["equity", "index"]), scenario.equity_shock,
                        np.where(under_class == "fx", scenario.fx_shock, 0.0))
    multiplier = pos["instrument_id"].map(inst["multiplier"]).astype(float).to_numpy()
    pnl = pos["quantity"].to_numpy() * multiplier * pos["underlying_last"].to_numpy() * move
    options = (asset == "option").to_numpy()
    if options.any():
        opts = inst.loc[pos.loc[options, "instrument_id"]]
        spot = pos.loc[options, "underlying_last"].to_numpy()
        vol = (book.returns.std() * np.sqrt(252)).reindex(pos.loc[options, "underlying_id"]).fillna(0.3).to_numpy()
        before = _option_values(opts, spot, vol, RISK_FREE, today)
        after = _option_values(opts, spot * (1 + move[options]), vol + scenario.vol_shift,
                               RISK_FREE + scenario.rate_shift, today)
        pnl[options] = pos.loc[options, "quantity"].to_numpy() * multiplier[options] * (after - before)
    return pd.DataFrame({"strategy": pos["strategy"], "symbol": pos["symbol"], "sector": pos["sector"],
                         "quantity": pos["quantity"], "pnl": pnl})


def run_all(progress=None) -> dict:
    """Every scenario on the current book; JSON-ready (stored as a job result)."""
    book = load_book()
    if book.positions.empty:
        return {"scenarios": [], "note": "no open positions"}
    threshold = next((l.limit_value for l in limit_service.list_limits(active_only=True)
                      if l.kind == "daily_loss" and l.scope == "*"), None)
    scenarios = historical_scenarios(book) + HYPOTHETICAL
    results = []
    for n, scenario in enumerate(scenarios, start=1):
        frame = apply(book, scenario)
        total = float(frame["pnl"].sum())
        results.append({
            "name": scenario.name, "kind": scenario.kind, "description": scenario.description, "pnl": total,
            "result": "FAIL" if threshold is not None and -total > threshold else "PASS",
            "by_strategy": frame.groupby("strategy")["pnl"].sum().round(2).to_dict(),
            "by_sector": frame.groupby("sector")["pnl"].sum().round(2).to_dict(),
            "positions": frame.round(2).to_dict("records"),
        })
        if progress:
            progress(100.0 * n / len(scenarios), scenario.name)
    return {"equity": book.equity, "loss_limit": threshold, "scenarios": results}
