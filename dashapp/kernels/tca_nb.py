"""Transaction-cost-analysis kernels on flat float64 arrays of equal length.

``side`` is +1 for a buy and -1 for a sell. Every cost is signed so that a
positive number is a cost (or an adverse move) for buys and sells alike.
Serial on purpose: per-order arrays are small, and threads would cost more
than they save (and lengthen compilation).
"""

from __future__ import annotations

import numpy as np
from numba import njit

BPS = 1e4


@njit(cache=True, error_model="numpy")
def slippage_bps_nb(side, price, benchmark):
    """side * (price - benchmark) / benchmark * 1e4: paid above / sold below benchmark > 0."""
    n = price.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = side[i] * (price[i] - benchmark[i]) / benchmark[i] * BPS
    return out


@njit(cache=True, error_model="numpy")
def spread_nb(side, price, mid, reference, in_bps):
    """2 * side * (price - reference), optionally in bps of ``mid`` (the quote at trade time).

    reference = mid gives the effective spread, reference = a later mid the realised spread.
    """
    n = price.shape[0]
    out = np.empty(n)
    for i in range(n):
        v = 2.0 * side[i] * (price[i] - reference[i])
        out[i] = v / mid[i] * BPS if in_bps else v
    return out


@njit(cache=True, error_model="numpy")
def markouts_nb(side, price, mids):
    """(n, H) markouts in bps: side * (mid_h - price) / price * 1e4 (> 0: moved our way)."""
    n, H = mids.shape
    out = np.empty((n, H))
    for i in range(n):
        for h in range(H):
            out[i, h] = side[i] * (mids[i, h] - price[i]) / price[i] * BPS
    return out


@njit(cache=True, error_model="numpy")
def implementation_shortfall_nb(side, order_qty, fill_qty, fill_price, decision,
                                arrival, close, fees):
    """Perold decomposition per order, in currency (positive = cost).

    delay       = side * fill_qty * (arrival - decision)
    trading     = side * fill_qty * (fill_price - arrival)
    opportunity = side * (order_qty - fill_qty) * (close - decision)
    total       = delay + trading + opportunity + fees
    total_bps   = total / (order_qty * decision) * 1e4 (paper-portfolio notional)
    """
    n = side.shape[0]
    out = np.empty((6, n))
    for i in range(n):
        s = side[i]
        q = fill_qty[i]
        delay = s * q * (arrival[i] - decision[i])
        # Unfilled orders may carry a NaN fill price; they have no trading cost.
        trading = s * q * (fill_price[i] - arrival[i]) if q > 0.0 else 0.0
        opportunity = s * (order_qty[i] - q) * (close[i] - decision[i])
        total = delay + trading + opportunity + fees[i]
        out[0, i] = delay
        out[1, i] = trading
        out[2, i] = opportunity
        out[3, i] = fees[i]
        out[4, i] = total
        out[5, i] = total / (order_qty[i] * decision[i]) * BPS
    return out
