"""Options Greeks of the book: totals per underlying and a strike x days-to-expiry map."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dashapp import kernels
from dashapp.services.risk.book import RISK_FREE, Book

GREEKS = ("delta", "gamma", "vega", "theta", "rho")


def option_greeks(book: Book, today: date | None = None) -> pd.DataFrame:
    """Position Greeks in money: delta in underlying units x multiplier, vega and rho per 1.00 (100%)
    change as the kernel reports them, shown per 1% on the page; theta per year, shown per day."""
    today = today or date.today()
    if book.positions.empty:
        return pd.DataFrame()
    inst = book.instruments
    options = book.positions[book.positions["instrument_id"].map(inst["asset_class"]) == "option"]
    if options.empty:
        return pd.DataFrame()
    meta = inst.loc[options["instrument_id"]]
    vols = (book.returns.std() * np.sqrt(252)).reindex(options["underlying_id"]).fillna(0.3).to_numpy()
    days = np.array([max((e - today).days, 1) for e in meta["expiry"]])
    g = kernels.black_scholes(options["underlying_last"].to_numpy(), meta["strike"].to_numpy(), days / 365.0, vols,
                              RISK_FREE, 0.0, (meta["option_right"] == "C").to_numpy())
    size = options["quantity"].to_numpy() * meta["multiplier"].to_numpy()
    frame = pd.DataFrame({
        "symbol": options["symbol"].to_numpy(), "underlying": [inst.at[u, "symbol"] for u in options["underlying_id"]],
        "strike": meta["strike"].to_numpy(), "dte": days, "quantity": options["quantity"].to_numpy(),
        "delta": np.asarray(g.delta) * size, "gamma": np.asarray(g.gamma) * size,
        "vega_1pct": np.asarray(g.vega) * size / 100.0, "theta_day": np.asarray(g.theta) * size / 365.0,
        "rho_1pct": np.asarray(g.rho) * size / 100.0,
    })
    return frame


def totals(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.groupby("underlying")[["delta", "gamma", "vega_1pct", "theta_day", "rho_1pct"]].sum().reset_index()


def heatmap(frame: pd.DataFrame, greek: str = "gamma") -> pd.DataFrame:
    """strike (rows) x days to expiry (columns) of one Greek, summed over underlyings."""
    if frame.empty:
        return frame
    return frame.pivot_table(index="strike", columns="dte", values=greek, aggfunc="sum").sort_index()
