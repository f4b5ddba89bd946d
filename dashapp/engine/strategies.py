"""The paper engine's strategies. Each turns a price window into a target position and a signal."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SignalOut:
    direction: int  # -1, 0, +1
    confidence: float  # 0..1


class Momentum:
    """Long when the return over `lookback` steps beats +threshold, short below -threshold."""

    kind = "momentum"

    def __init__(self, lookback: int = 20, threshold: float = 0.002):
        self.lookback, self.threshold = lookback, threshold

    def signal(self, prices: deque) -> SignalOut | None:
        if len(prices) <= self.lookback:
            return None
        ret = prices[-1] / prices[-1 - self.lookback] - 1.0
        direction = 1 if ret > self.threshold else (-1 if ret < -self.threshold else 0)
        return SignalOut(direction, float(min(1.0, abs(ret) / (3 * self.threshold))))


class MeanReversion:
    """Fade moves: short above +entry_z standard deviations from the rolling mean, long below."""

    kind = "mean_reversion"

    def __init__(self, window: int = 30, entry_z: float = 1.5):
        self.window, self.entry_z = window, entry_z

    def signal(self, prices: deque) -> SignalOut | None:
        if len(prices) < self.window:
            return None
        window = np.fromiter(prices, dtype=np.float64)[-self.window:]
        std = window.std()
        if std <= 0:
            return SignalOut(0, 0.0)
        z = (window[-1] - window.mean()) / std
        direction = -1 if z > self.entry_z else (1 if z < -self.entry_z else 0)
        return SignalOut(direction, float(min(1.0, abs(z) / (2 * self.entry_z))))


def target_quantity(signal: SignalOut, budget: float, price: float, lot: float = 1.0) -> float:
    """Shares (or units) to hold: the budget scaled by confidence, in whole lots."""
    if signal.direction == 0 or price <= 0:
        return 0.0
    raw = signal.direction * budget * max(signal.confidence, 0.25) / price
    return float(np.round(raw / lot) * lot)


class ModelFollower:
    """Trades one symbol on a registered model's champion signal, fetched from the cockpit
    (GET /api/v1/models/<name>/signal, through `fetch`) at most every `poll_seconds`. No answer (no model,
    no champion, cockpit away) keeps the last signal; none yet means no view. The challenger is never
    followed: the cockpit evaluates it in shadow on the same bar."""

    kind = "model"

    def __init__(self, fetch, model: str, symbol: str = "AAPL", poll_seconds: float = 30.0, clock=None):
        import time

        self.fetch, self.model, self.symbols, self.poll_seconds = fetch, model, [symbol], poll_seconds
        self.clock = clock or time.monotonic
        self.last: dict | None = None
        self.polled_at: float | None = None

    def signal(self, prices: deque) -> SignalOut | None:
        now = self.clock()
        if self.polled_at is None or now - self.polled_at >= self.poll_seconds:
            self.polled_at = now
            answer = self.fetch(self.model)
            if answer is not None:
                self.last = answer
        if self.last is None:
            return None
        return SignalOut(int(self.last["signal"]), float(min(1.0, abs(self.last["probability"] - 0.5) * 2)))
