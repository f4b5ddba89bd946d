"""Positions derived from fills: average cost and realised P&L (pure arithmetic, then one upsert)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PositionState:
    quantity: float = 0.0
    avg_cost: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0


def apply_fill(pos: PositionState, side: str, quantity: float, price: float, fee: float = 0.0,
               multiplier: float = 1.0) -> PositionState:
    """Average-cost accounting. Adding to a position moves the average; reducing realises
    (price - avg_cost) x closed quantity x multiplier; crossing through zero opens the rest at `price`.
    Fees are kept apart (net P&L = realised - fees)."""
    signed = quantity if side == "buy" else -quantity
    q, c, realized = pos.quantity, pos.avg_cost, pos.realized_pnl
    if q == 0 or (q > 0) == (signed > 0):
        new_q = q + signed
        c = (abs(q) * c + abs(signed) * price) / abs(new_q)
        q = new_q
    else:
        closed = min(abs(signed), abs(q))
        realized += closed * (price - c) * (1 if q > 0 else -1) * multiplier
        new_q = q + signed
        if abs(new_q) < 1e-12:
            new_q, c = 0.0, 0.0
        elif (new_q > 0) != (q > 0):
            c = price  # flipped: the remainder is a new position opened at this fill's price
        q = new_q
    return PositionState(quantity=q, avg_cost=c, realized_pnl=realized, fees=pos.fees + fee)


def unrealized_pnl(quantity: float, avg_cost: float, last_price: float | None, multiplier: float = 1.0) -> float:
    if last_price is None or quantity == 0:
        return 0.0
    return (last_price - avg_cost) * quantity * multiplier
