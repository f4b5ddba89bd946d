"""Market simulator: real daily closes, joined by seeded synthetic intraday paths (Brownian bridges
between consecutive closes), synthetic FX (geometric Brownian motion) and option prices from
Black-Scholes on the simulated underlying."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from dashapp.engine.universe import FX_PAIRS

STEPS_PER_DAY = 78  # five-minute bars in a 6.5 hour session


@dataclass
class MarketSimulator:
    closes: pd.DataFrame  # daily closes, one column per equity (+ SP500)
    seed: int = 7
    start_index: int | None = None
    rng: np.random.Generator = field(init=False)
    day: int = field(init=False)
    step: int = field(init=False)
    path: np.ndarray = field(init=False)
    fx: dict = field(init=False)

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        n_days = len(self.closes)
        self.day = self.start_index if self.start_index is not None else int(self.rng.integers(60, n_days - 260))
        self.symbols = [c for c in self.closes.columns]
        log_returns = np.log(self.closes).diff().dropna()
        self.daily_vol = log_returns.std().to_numpy()
        self.fx = dict(FX_PAIRS)
        self.step = 0
        self._new_day()

    def _new_day(self) -> None:
        """A Brownian bridge in log price from today's close to tomorrow's, for every equity."""
        start = np.log(self.closes.iloc[self.day].to_numpy())
        end = np.log(self.closes.iloc[(self.day + 1) % len(self.closes)].to_numpy())
        n = STEPS_PER_DAY
        shocks = self.rng.standard_normal((n, len(start))) * (self.daily_vol / np.sqrt(n))
        walk = np.cumsum(shocks, axis=0)
        t = np.arange(1, n + 1)[:, None] / n
        bridge = walk - t * walk[-1]
        self.path = np.exp(start + t * (end - start) + bridge)

    def resume(self, last_mids: dict[str, float], sim_date: date | None = None, step: int | None = None) -> int:
        """Continue the tape from stored prices instead of a fresh random day: the simulated date and
        intraday step where the last process stopped (when known), then for every equity a new
        Brownian bridge from its last price to the next real close over the rest of the day, and FX
        from its last rates. Returns how many instruments continue from a stored price."""
        if sim_date is not None:
            index = self.closes.index.searchsorted(pd.Timestamp(sim_date))
            self.day = int(min(max(index, 0), len(self.closes) - 2))
        if step is not None:
            self.step = int(min(max(step, 0), STEPS_PER_DAY - 1))
        self._new_day()
        names = ["SPX" if s == "SP500" else s for s in self.symbols]
        last = np.array([last_mids.get(name, np.nan) for name in names], dtype=float)
        known = np.isfinite(last) & (last > 0)
        remaining = STEPS_PER_DAY - self.step
        end = np.log(self.closes.iloc[(self.day + 1) % len(self.closes)].to_numpy())
        shocks = self.rng.standard_normal((remaining, len(self.symbols))) * (self.daily_vol / np.sqrt(STEPS_PER_DAY))
        walk = np.cumsum(shocks, axis=0)
        t = np.arange(1, remaining + 1)[:, None] / remaining
        start = np.log(np.where(known, last, 1.0))
        continued = np.exp(start + t * (end - start) + walk - t * walk[-1])
        self.path[self.step:, known] = continued[:, known]
        resumed = int(known.sum())
        for pair in self.fx:
            if last_mids.get(pair, 0) > 0:
                self.fx[pair] = float(last_mids[pair])
                resumed += 1
        return resumed

    @property
    def sim_date(self) -> date:
        return self.closes.index[self.day].date()

    def advance(self) -> dict[str, float]:
        """One intraday step; returns mid prices of every equity, the index and the FX pairs."""
        mids = dict(zip(self.symbols, self.path[self.step]))
        self.step += 1
        if self.step >= STEPS_PER_DAY:
            self.step = 0
            self.day = (self.day + 1) % (len(self.closes) - 1)
            self._new_day()
        for pair, rate in self.fx.items():
            self.fx[pair] = rate * float(np.exp(self.rng.normal(0.0, 0.0006)))
        mids.update(self.fx)
        if "SP500" in mids:
            mids["SPX"] = mids.pop("SP500")
        return {k: float(v) for k, v in mids.items()}

    def vol(self, symbol: str) -> float:
        """Annualised volatility of an equity from its daily history (used to price options)."""
        if symbol in self.symbols:
            return float(self.daily_vol[self.symbols.index(symbol)] * np.sqrt(252))
        return 0.1


def spread_for(symbol: str, mid: float, asset_class: str) -> float:
    """A plausible quoted spread: 1 bp for FX, 2-5 bp for stocks, 2% for options (at least a cent)."""
    if asset_class == "fx":
        return mid * 1e-4
    if asset_class == "option":
        return max(mid * 0.02, 0.01)
    return max(mid * 3e-4, 0.01)
