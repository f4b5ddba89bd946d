"""Technical indicators and a market-regime label for one price series (oldest first).

Conventions and references (each compared in tests/unit/kernels/test_indicators.py):
- ``sma``: mean of the last ``window`` points; same as ``pandas.Series.rolling(window).mean()``.
- ``ema``: alpha = 2 / (span + 1), seeded with the first point; same as
  ``pandas.Series.ewm(span=span, adjust=False).mean()``.
- ``bollinger``: SMA +- ``k`` population standard deviations (ddof=0, as Bollinger and TA-Lib's
  BBANDS define them); same as ``rolling(window).std(ddof=0)``.
- ``rsi``: Wilder (1978) smoothing seeded with the simple mean of the first ``period`` changes
  (TA-Lib's RSI); same as a pandas ``ewm(alpha=1/period, adjust=False)`` started from that seed.
- ``regime``: volatile when the rolling standard deviation of log returns is above its median over
  the series shown (so "volatile" is relative to what is on screen), down when the price is below
  its SMA; labels in ``REGIMES``.
Warm-up points are NaN (regime: -1). Non-finite or non-positive prices raise ValueError.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dashapp.kernels import indicators_nb
from dashapp.kernels._validate import check_positive_int, require_finite, to_float_array

REGIMES = {0: "calm, up", 1: "calm, down", 2: "volatile, up", 3: "volatile, down"}


def _prices(x, name: str = "prices") -> np.ndarray:
    a = np.ascontiguousarray(to_float_array(x, name).ravel())
    require_finite(a, name)
    return a


def sma(prices, window: int = 20) -> np.ndarray:
    return indicators_nb.sma_nb(_prices(prices), check_positive_int(window, "window"))


def ema(prices, span: int = 20) -> np.ndarray:
    return indicators_nb.ema_nb(_prices(prices), float(check_positive_int(span, "span")))


class Bands(NamedTuple):
    middle: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def bollinger(prices, window: int = 20, k: float = 2.0) -> Bands:
    a = _prices(prices)
    window = check_positive_int(window, "window")
    middle = indicators_nb.sma_nb(a, window)
    width = k * indicators_nb.rolling_std_nb(a, window)
    return Bands(middle, middle + width, middle - width)


def rsi(prices, period: int = 14) -> np.ndarray:
    return indicators_nb.rsi_nb(_prices(prices), check_positive_int(period, "period"))


def regime(prices, window: int = 20) -> np.ndarray:
    """One label per point (see ``REGIMES``; -1 during warm-up), as float64."""
    a = _prices(prices)
    if np.any(a <= 0):
        raise ValueError("prices must be positive for log returns")
    window = check_positive_int(window, "window")
    vol = indicators_nb.log_return_vol_nb(a, window)
    finite = vol[np.isfinite(vol)]
    threshold = float(np.median(finite)) if finite.size else np.inf
    return indicators_nb.regime_nb(a, window, threshold)


def regime_segments(labels) -> list[tuple[int, int, int]]:
    """Runs of one label as (first index, last index, label), warm-up (-1) left out: what a chart
    shades as bands."""
    lab = np.asarray(labels)
    if lab.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ends = np.r_[starts[1:] - 1, lab.size - 1]
    return [(int(s), int(e), int(lab[s])) for s, e in zip(starts, ends) if lab[s] >= 0]
