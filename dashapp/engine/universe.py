"""What the paper engine trades: 20 real equities (bundled daily history), 3 FX pairs and listed
options on three of the equities, on four simulated venues with different execution profiles."""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "sp500_daily.csv.gz"

SECTORS = {
    "AAPL": "Technology", "AMD": "Technology", "MSFT": "Technology", "BAC": "Financials", "JPM": "Financials",
    "BBY": "Consumer Discretionary", "HD": "Consumer Discretionary", "CVX": "Energy", "XOM": "Energy",
    "RRC": "Energy", "GE": "Industrials", "JNJ": "Health Care", "LLY": "Health Care", "MRK": "Health Care",
    "PFE": "Health Care", "UNH": "Health Care", "KO": "Consumer Staples", "PEP": "Consumer Staples",
    "PG": "Consumer Staples", "WMT": "Consumer Staples",
}
FX_PAIRS = {"EURUSD": 1.08, "GBPUSD": 1.27, "USDJPY": 149.0}
OPTION_UNDERLYINGS = ("AAPL", "MSFT", "XOM")


@dataclass(frozen=True)
class VenueProfile:
    code: str
    name: str
    kind: str
    latency_ms: float  # median acknowledgement latency
    fill_rate: float  # probability a child order fills (fully or partly)
    slippage_bps: float  # mean adverse slippage vs mid
    reject_rate: float
    fee_bps: float
    maker_share: float


VENUES = (
    VenueProfile("XNAS", "Nasdaq (sim)", "exchange", 2.0, 0.97, 1.5, 0.005, 0.30, 0.35),
    VenueProfile("ARCX", "NYSE Arca (sim)", "exchange", 4.0, 0.94, 2.0, 0.010, 0.25, 0.40),
    VenueProfile("LPA", "Liquidity provider A (sim)", "lp", 12.0, 0.85, 0.5, 0.030, 0.10, 0.90),
    VenueProfile("DARK1", "Dark pool (sim)", "dark", 25.0, 0.55, -0.5, 0.020, 0.05, 1.00),
)


def load_daily_closes() -> pd.DataFrame:
    with gzip.open(DATA_FILE, "rt") as handle:
        frame = pd.read_csv(handle, parse_dates=["Date"], index_col="Date")
    return frame.astype("float64")


def option_chain(spot: dict[str, float], today: date) -> list[dict]:
    """Calls and puts around the money at four expiries (two weeks to a quarter) for each underlying, so
    the options views have a strike x days-to-expiry surface, not one column."""
    out = []
    for underlying in OPTION_UNDERLYINGS:
        s = spot[underlying]
        step = 5.0 if s > 50 else 1.0
        atm = round(s / step) * step
        for days in (14, 30, 60, 91):
            expiry = today + timedelta(days=days)
            for k in (atm - 2 * step, atm, atm + 2 * step):
                for right in ("C", "P"):
                    out.append({"symbol": f"{underlying} {expiry.isoformat()} {right}{k:g}", "asset_class": "option",
                                "sector": SECTORS[underlying], "multiplier": 100, "underlying": underlying,
                                "strike": float(k), "expiry": expiry.isoformat(), "option_right": right})
    return out


def reference_data(closes: pd.DataFrame, today: date) -> dict[str, list[dict]]:
    equities = [c for c in closes.columns if c in SECTORS]
    spot = closes.iloc[-1].to_dict()
    instruments = [{"symbol": s, "asset_class": "equity", "sector": SECTORS[s], "currency": "USD"} for s in equities]
    instruments.append({"symbol": "SPX", "asset_class": "index", "sector": "Index", "currency": "USD"})
    instruments += [{"symbol": p, "asset_class": "fx", "sector": "FX", "currency": p[3:]} for p in FX_PAIRS]
    instruments += option_chain(spot, today)
    return {
        "accounts": [{"code": "PAPER", "name": "Paper trading account", "base_currency": "USD"}],
        "venues": [{"code": v.code, "name": v.name, "kind": v.kind} for v in VENUES],
        "strategies": [
            {"code": "MOM", "name": "Momentum", "kind": "momentum", "account": "PAPER", "allocation": 5_000_000,
             "params": {"lookback": 20, "threshold": 0.002}},
            {"code": "MR", "name": "Mean reversion", "kind": "mean_reversion", "account": "PAPER",
             "allocation": 3_000_000, "params": {"window": 30, "entry_z": 1.5}},
        ],
        "instruments": instruments,
    }
