"""Turning what the engine does into ingest items, and the small order-book chores around it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from dashapp.engine.router import RouteResult, WorkingOrder

RISK_FREE = 0.03


@dataclass
class Batch:
    quotes: list = field(default_factory=list)
    signals: list = field(default_factory=list)
    decisions: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    fills: list = field(default_factory=list)
    events: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)

    def merge(self, other: "Batch") -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))

    def in_order(self):
        """Parents before children and orders before their fills, as ingest expects."""
        return [("quotes", self.quotes), ("signals", self.signals), ("risk_decisions", self.decisions),
                ("orders", self.orders), ("fills", self.fills), ("events", self.events),
                ("pnl_snapshots", self.snapshots)]


def synthetic_fx_history(closes: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """Daily FX rates for the bundled dates: seeded geometric Brownian motion ending at today's
    simulated rate (8% annual volatility). Synthetic, and documented as such: the equities are real."""
    from dashapp.engine.universe import FX_PAIRS

    rng = np.random.default_rng(seed)
    n = len(closes)
    out = {}
    for pair, last in FX_PAIRS.items():
        steps = rng.normal(0.0, 0.08 / np.sqrt(252), n)
        path = np.exp(np.cumsum(steps[::-1]))[::-1]
        out[pair] = last * path / path[-1]
    return pd.DataFrame(out, index=closes.index)


def daily_bars(closes: pd.DataFrame) -> list[dict]:
    """The bundled history as daily bars (close-only data: open = previous close, high/low bracket them),
    plus synthetic FX history so FX positions take part in historical VaR."""
    out = []
    closes = closes.join(synthetic_fx_history(closes))
    for symbol in closes.columns:
        series = closes[symbol].dropna()
        prev = series.shift(1).fillna(series)
        name = "SPX" if symbol == "SP500" else symbol
        for ts, o, c in zip(series.index, prev.to_numpy(), series.to_numpy()):
            out.append({"instrument": name, "interval": "1d", "ts": ts.tz_localize("UTC").isoformat(),
                        "open": float(o), "high": float(max(o, c)), "low": float(min(o, c)), "close": float(c)})
    return out


def option_mids(engine, mids: dict[str, float]) -> dict[str, float]:
    from dashapp.kernels import black_scholes

    options = [i for i in engine.instruments.values() if i["asset_class"] == "option"]
    today = date.today()
    spot = np.array([mids[o["underlying"]] for o in options])
    strike = np.array([o["strike"] for o in options])
    years = np.array([max((date.fromisoformat(o["expiry"]) - today).days, 1) / 365.0 for o in options])
    vol = np.array([engine.market.vol(o["underlying"]) for o in options])
    is_call = np.array([o["option_right"] == "C" for o in options])
    priced = black_scholes(spot, strike, years, vol, RISK_FREE, 0.0, is_call)
    return {o["symbol"]: max(float(p), 0.01) for o, p in zip(options, np.asarray(priced.price))}


def decision_item(engine, decision, strategy: str, symbol: str, cid: str, requested: float, now: datetime) -> dict:
    return {"decision_id": engine.router.next_id("D"), "ts": now.isoformat(), "strategy": strategy,
            "instrument": symbol, "client_order_id": cid if decision.decision != "block" else None,
            "decision": decision.decision, "rule": decision.rule, "reason": decision.reason,
            "requested_qty": abs(requested), "allowed_qty": abs(decision.quantity)}


def record_route(engine, book, routed: RouteResult, symbol: str, batch: Batch) -> None:
    batch.orders.extend(routed.orders)
    batch.fills.extend(routed.fills)
    engine.working.extend(routed.working)
    for fill in routed.fills:
        side = routed.orders[0]["side"]
        book.apply(symbol, side, fill["quantity"], fill["price"], fill["fee"], engine.multipliers.get(symbol, 1.0))
    parent = routed.orders[0]
    batch.events.append({"event_id": engine.router.next_id("E"), "ts": parent["created_at"], "kind": "order.routed",
                         "message": f"{parent['side']} {parent['quantity']:g} {symbol}: {len(routed.orders) - 1} "
                                    f"child order(s), {len(routed.fills)} fill(s)",
                         "order_client_id": parent["client_order_id"]})


def maybe_trade_option(engine, code, book, underlying: str, now, batch, kill, blocked) -> None:
    """Momentum also expresses strong long views with a near-the-money call."""
    calls = [i for i in engine.instruments.values() if i["asset_class"] == "option"
             and i["underlying"] == underlying and i["option_right"] == "C"]
    if not calls:
        return
    spot = engine.mids[underlying]
    call = min(calls, key=lambda i: abs(i["strike"] - spot))
    symbol = call["symbol"]
    if book.positions[symbol].quantity > 0:
        return
    engine._gate_and_route(code, book, symbol, 10.0, engine.mids[symbol], now, batch, kill, blocked)


def finish_working(engine, work: WorkingOrder, now: datetime) -> Batch:
    """A resting dark-pool order either fills now or expires."""
    batch = Batch()
    child = dict(work.child)
    symbol = child["instrument"]
    mid = engine.mids.get(symbol, work.mid_at_arrival)
    if engine.rng.random() < 0.6:
        fill = engine.router.make_fill(child, work.venue, child["quantity"], mid, 0.0, now)
        child.update(status="filled", filled_quantity=child["quantity"], avg_fill_price=fill["price"],
                     filled_at=fill["filled_at"], updated_at=now.isoformat())
        batch.fills.append(fill)
        _, book = engine.strategies[child["strategy"]]
        book.apply(symbol, child["side"], fill["quantity"], fill["price"], fill["fee"], engine.multipliers.get(symbol, 1.0))
    else:
        child.update(status="expired", expired_at=now.isoformat(), updated_at=now.isoformat())
    batch.orders.append(child)
    _settle_parent(engine, work, child, now, batch)
    return batch


def _settle_parent(engine, work: WorkingOrder, child: dict, now: datetime, batch: Batch) -> None:
    """When a parent's last resting child ends, the parent ends too (filled, or canceled with a partial)."""
    parent = work.parent
    if parent is None:
        return
    qty = child.get("filled_quantity") or 0.0
    if qty and child.get("avg_fill_price"):
        done = parent["filled_quantity"]
        parent["avg_fill_price"] = ((parent.get("avg_fill_price") or 0.0) * done + child["avg_fill_price"] * qty) / (done + qty)
        parent["filled_quantity"] = done + qty
    if any(w.parent is parent and w is not work for w in engine.working):
        return
    stamp = now.isoformat()
    parent["updated_at"] = stamp
    if parent["filled_quantity"] >= parent["quantity"]:
        parent.update(status="filled", filled_at=stamp)
    elif parent["filled_quantity"] > 0:
        parent.update(status="canceled", partially_filled_at=parent.get("partially_filled_at") or stamp, canceled_at=stamp)
    else:
        parent.update(status="canceled", canceled_at=stamp)
    batch.orders.insert(0, dict(parent))


def cancel_all(engine, why: str, send: bool = True) -> Batch:
    """Cancel every working order (kill switch or shutdown)."""
    batch = Batch()
    if not engine.working:
        return batch
    now = datetime.now(timezone.utc) + timedelta(milliseconds=1)
    canceled = len(engine.working)
    for work in list(engine.working):
        child = dict(work.child)
        child.update(status="canceled", canceled_at=now.isoformat(), updated_at=now.isoformat())
        batch.orders.append(child)
        _settle_parent(engine, work, child, now, batch)
        engine.working.remove(work)
    batch.events.append({"event_id": engine.router.next_id("E"), "ts": now.isoformat(), "level": "warning",
                         "kind": "orders.canceled", "message": f"{why}: canceled {canceled} working order(s)"})
    if send:
        engine._send(batch)
        return Batch()
    return batch
