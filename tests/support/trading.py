"""A small, valid reference data set and item builders for ingest tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)

REFERENCE = {
    "accounts": [{"code": "ACC1", "name": "Main", "base_currency": "USD"}],
    "venues": [{"code": "XNAS", "name": "Nasdaq", "kind": "exchange"}, {"code": "LP1", "kind": "lp"}],
    "strategies": [{"code": "MOM", "kind": "momentum", "account": "ACC1", "allocation": 1e6},
                   {"code": "MR", "kind": "mean_reversion", "account": "ACC1", "allocation": 5e5}],
    "instruments": [
        {"symbol": "AAPL", "asset_class": "equity", "sector": "Technology", "multiplier": 1},
        {"symbol": "XOM", "asset_class": "equity", "sector": "Energy", "multiplier": 1},
        {"symbol": "AAPL 2026-06-19 C200", "asset_class": "option", "sector": "Technology", "multiplier": 100,
         "underlying": "AAPL", "strike": 200, "expiry": "2026-06-19", "option_right": "C"},
    ],
}


def iso(minutes: float = 0) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def order(cid: str, side: str = "buy", qty: float = 100, status: str = "new", minutes: float = 0, **extra) -> dict:
    item = {"client_order_id": cid, "strategy": "MOM", "instrument": "AAPL", "venue": "XNAS", "side": side,
            "quantity": qty, "status": status, "created_at": iso(minutes), "arrival_mid": 190.0}
    if status != "new":
        item[f"{status}_at"] = iso(minutes + 0.01)
    item.update(extra)
    return item


def fill(exec_id: str, cid: str, qty: float, price: float, minutes: float = 0.02, **extra) -> dict:
    item = {"exec_id": exec_id, "client_order_id": cid, "venue": "XNAS", "quantity": qty, "price": price,
            "fee": 1.0, "filled_at": iso(minutes), "mid_at_arrival": 190.0, "mid_at_fill": price}
    item.update(extra)
    return item
