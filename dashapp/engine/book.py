"""The engine's own view of its positions and P&L per strategy (it does not read the cockpit's store)."""
from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from dashapp.services.positions import PositionState, apply_fill


@dataclass
class StrategyBook:
    code: str
    allocation: float
    positions: dict[str, PositionState] = field(default_factory=lambda: defaultdict(PositionState))
    last_signal: dict[str, int] = field(default_factory=dict)
    day_start_equity: float | None = None

    def apply(self, instrument: str, side: str, qty: float, price: float, fee: float, multiplier: float) -> None:
        self.positions[instrument] = apply_fill(self.positions[instrument], side, qty, price, fee, multiplier)

    def cash(self, multipliers: dict[str, float]) -> float:
        """The allocation after paying for open positions at cost, realised P&L in, fees out (the
        same definition as the store's, `services.engine_recovery.strategy_books`)."""
        return self.allocation + sum(p.realized_pnl - p.fees - p.quantity * p.avg_cost * multipliers.get(s, 1.0)
                                     for s, p in self.positions.items())

    def marks(self, mids: dict[str, float], multipliers: dict[str, float]) -> dict:
        realized = sum(p.realized_pnl for p in self.positions.values())
        fees = sum(p.fees for p in self.positions.values())
        unrealized, gross, net = 0.0, 0.0, 0.0
        for symbol, pos in self.positions.items():
            if pos.quantity == 0 or symbol not in mids:
                continue
            m = multipliers.get(symbol, 1.0)
            value = pos.quantity * mids[symbol] * m
            unrealized += (mids[symbol] - pos.avg_cost) * pos.quantity * m
            gross += abs(value)
            net += value
        equity = self.allocation + realized + unrealized - fees
        if self.day_start_equity is None:
            self.day_start_equity = equity
        return {"equity": equity, "realized_pnl": realized - fees, "unrealized_pnl": unrealized,
                "gross_exposure": gross, "net_exposure": net}


class PriceHistory:
    def __init__(self, maxlen: int = 200):
        self.prices: dict[str, deque] = defaultdict(lambda: deque(maxlen=maxlen))

    def add(self, mids: dict[str, float]) -> None:
        for symbol, mid in mids.items():
            self.prices[symbol].append(mid)
