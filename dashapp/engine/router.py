"""Simulated smart order routing: a parent order is split into child orders across venues, and
each venue acknowledges, rejects, fills (fully or partly) or rests according to its profile.
Nothing leaves the process: this is where a real engine would talk to brokers."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from dashapp.engine.universe import VENUES, VenueProfile


@dataclass
class WorkingOrder:
    """A child order resting at a venue (the dark pool rests; others fill or expire at once)."""
    child: dict
    parent_id: str
    venue: VenueProfile
    mid_at_arrival: float
    expires_at: datetime
    parent: dict | None = None  # the parent order, settled when its last resting child ends


@dataclass
class RouteResult:
    orders: list[dict] = field(default_factory=list)  # parent + children, final states this tick
    fills: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    working: list[WorkingOrder] = field(default_factory=list)


class Router:
    """Also the engine's id source: every id it reports (signal, decision, order, fill, event) is
    `<prefix>-<run>-<seq>`, with one sequence across all kinds that continues over restarts
    (`resume_after`), so the store can prove none was lost (`services.engine_recovery.sequence_report`).
    The run stamp keeps ids unique even if a number is handed out twice (one allocated in memory
    by a process killed before it was written anywhere)."""

    def __init__(self, rng: np.random.Generator, engine_id: str):
        self.rng = rng
        self.ids = itertools.count(1)
        self.last_seq = 0
        self.engine_id = engine_id
        self.run = datetime.now().strftime("%y%m%d%H%M%S")

    def resume_after(self, last_seq: int) -> None:
        """Continue numbering after `last_seq` (the highest the store or the outbox knows)."""
        self.last_seq = max(self.last_seq, int(last_seq))
        self.ids = itertools.count(self.last_seq + 1)

    def next_id(self, prefix: str) -> str:
        self.last_seq = next(self.ids)
        return f"{prefix}-{self.run}-{self.last_seq}"

    def _venues_for(self, asset_class: str) -> list[VenueProfile]:
        if asset_class == "fx":
            return [v for v in VENUES if v.kind == "lp"] + [VENUES[0]]
        if asset_class == "option":
            return [v for v in VENUES if v.kind == "exchange"]
        return list(VENUES)

    def route(self, parent: dict, asset_class: str, mid: float, spread: float, now: datetime) -> RouteResult:
        result = RouteResult()
        venues = self._venues_for(asset_class)
        n_children = int(self.rng.integers(1, min(3, len(venues)) + 1))
        chosen = self.rng.choice(len(venues), size=n_children, replace=False)
        weights = self.rng.dirichlet(np.ones(n_children))
        qty = parent["quantity"]
        sizes = np.floor(weights * qty)
        sizes[0] += qty - sizes.sum()
        filled_qty, notional = 0.0, 0.0
        for venue_index, size in zip(chosen, sizes):
            if size <= 0:
                continue
            venue = venues[int(venue_index)]
            child, fills, resting = self._child(parent, venue, float(size), mid, spread, now)
            result.orders.append(child)
            result.fills.extend(fills)
            if resting is not None:
                result.working.append(resting)
            for f in fills:
                filled_qty += f["quantity"]
                notional += f["quantity"] * f["price"]
        parent.update(acknowledged_at=now.isoformat(), filled_quantity=filled_qty,
                      avg_fill_price=(notional / filled_qty) if filled_qty else None)
        for work in result.working:
            work.parent = parent
        self._settle_parent(parent, result.working, now)
        result.orders.insert(0, parent)
        return result

    def _child(self, parent: dict, venue: VenueProfile, size: float, mid: float, spread: float, now: datetime):
        side = parent["side"]
        latency = float(self.rng.lognormal(np.log(venue.latency_ms), 0.5))
        ack = now + timedelta(milliseconds=latency)
        child = {"client_order_id": self.next_id("C"), "parent_client_order_id": parent["client_order_id"],
                 "strategy": parent["strategy"], "instrument": parent["instrument"], "venue": venue.code,
                 "side": side, "order_type": "market", "quantity": size, "created_at": now.isoformat(),
                 "arrival_mid": mid, "filled_quantity": 0.0}
        if self.rng.random() < venue.reject_rate:
            child.update(status="rejected", rejected_at=ack.isoformat(), reject_reason="venue rejected: simulated")
            return child, [], None
        child["acknowledged_at"] = ack.isoformat()
        if venue.kind == "dark" and self.rng.random() < 0.5:
            child["status"] = "acknowledged"  # rests in the dark pool for a few seconds
            return child, [], WorkingOrder(child, parent["client_order_id"], venue, mid, now + timedelta(seconds=5))
        if self.rng.random() > venue.fill_rate:
            child.update(status="expired", expired_at=(ack + timedelta(milliseconds=50)).isoformat())
            return child, [], None
        qty = size if self.rng.random() < 0.75 else float(max(1.0, np.floor(size * self.rng.uniform(0.3, 0.9))))
        fill = self.make_fill(child, venue, qty, mid, spread, ack + timedelta(milliseconds=latency * 0.3))
        child.update(filled_quantity=qty, avg_fill_price=fill["price"])
        if qty >= size:
            child.update(status="filled", filled_at=fill["filled_at"])
        else:
            child.update(status="canceled", partially_filled_at=fill["filled_at"],
                         canceled_at=(ack + timedelta(milliseconds=latency)).isoformat())
        return child, [fill], None

    def make_fill(self, child: dict, venue: VenueProfile, qty: float, mid: float, spread: float, at: datetime) -> dict:
        sign = 1.0 if child["side"] == "buy" else -1.0
        maker = self.rng.random() < venue.maker_share
        half = 0.0 if maker else spread / 2
        slip = self.rng.normal(venue.slippage_bps, abs(venue.slippage_bps) + 0.5) * 1e-4 * mid
        price = max(mid + sign * (half + slip), 0.0001)
        return {"exec_id": self.next_id("X"), "client_order_id": child["client_order_id"], "venue": venue.code,
                "quantity": qty, "price": round(price, 6), "fee": round(qty * price * venue.fee_bps * 1e-4, 6),
                "liquidity": "maker" if maker else "taker", "mid_at_arrival": child["arrival_mid"],
                "mid_at_fill": mid, "filled_at": at.isoformat()}

    @staticmethod
    def _settle_parent(parent: dict, working: list[WorkingOrder], now: datetime) -> None:
        stamp = (now + timedelta(milliseconds=60)).isoformat()
        if parent["filled_quantity"] >= parent["quantity"]:
            parent.update(status="filled", filled_at=stamp)
        elif any(w.parent_id == parent["client_order_id"] for w in working):
            parent.update(status="partially_filled" if parent["filled_quantity"] else "acknowledged",
                          **({"partially_filled_at": stamp} if parent["filled_quantity"] else {}))
        elif parent["filled_quantity"] > 0:
            parent.update(status="canceled", partially_filled_at=stamp, canceled_at=stamp)
        else:
            parent.update(status="expired", expired_at=stamp)
