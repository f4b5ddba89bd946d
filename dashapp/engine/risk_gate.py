"""The pre-trade risk gate: every order the strategies want passes here first, and every decision
(allow, scale or block, with the rule and the reason) is reported to the cockpit."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class GateLimits:
    max_position_notional: float = 1_500_000.0  # per strategy and instrument
    max_order_notional: float = 400_000.0
    max_orders_per_minute: int = 60  # per strategy
    daily_loss_limit: float = 250_000.0  # per strategy, realised + unrealised


@dataclass(frozen=True)
class GateDecision:
    decision: str  # allow | scale | block
    quantity: float
    rule: str = ""
    reason: str = ""


def check(qty: float, price: float, position: float, orders_last_minute: int, day_pnl: float,
          limits: GateLimits, kill_switch: bool = False, blocked_reason: str = "") -> GateDecision:
    """`qty` is signed (buy > 0). Returns the signed quantity that may be sent."""
    if kill_switch:
        return GateDecision("block", 0.0, "kill_switch", "kill switch is on")
    if blocked_reason:
        return GateDecision("block", 0.0, "cockpit_block", blocked_reason)
    if orders_last_minute >= limits.max_orders_per_minute:
        return GateDecision("block", 0.0, "order_rate", f"{orders_last_minute} orders in the last minute")
    if day_pnl <= -limits.daily_loss_limit and abs(position + qty) >= abs(position):
        return GateDecision("block", 0.0, "daily_loss", f"day P&L {day_pnl:,.0f} beyond -{limits.daily_loss_limit:,.0f}")
    allowed, rule, reason = qty, "", ""
    if abs(allowed) * price > limits.max_order_notional:
        allowed = _toward_zero(limits.max_order_notional / price, allowed)
        rule, reason = "max_order_notional", f"order notional capped at {limits.max_order_notional:,.0f}"
    room = limits.max_position_notional / price
    if abs(position + allowed) > room and abs(position + allowed) > abs(position):
        allowed = (room - abs(position)) * (1 if allowed > 0 else -1) if abs(position) < room else 0.0
        allowed = float(int(allowed))
        rule, reason = "max_position", f"position capped at {limits.max_position_notional:,.0f} notional"
    if allowed == 0:
        return GateDecision("block", 0.0, rule or "zero", reason or "nothing left to trade")
    if allowed != qty:
        return GateDecision("scale", allowed, rule, reason)
    return GateDecision("allow", qty)


def _toward_zero(cap: float, qty: float) -> float:
    return float(int(cap)) * (1 if qty > 0 else -1)


class RateCounter:
    """Orders sent in the last 60 seconds, per strategy."""

    def __init__(self):
        self.stamps: dict[str, deque] = {}

    def count(self, strategy: str, now: float) -> int:
        stamps = self.stamps.setdefault(strategy, deque())
        while stamps and now - stamps[0] > 60.0:
            stamps.popleft()
        return len(stamps)

    def add(self, strategy: str, now: float) -> None:
        self.stamps.setdefault(strategy, deque()).append(now)
