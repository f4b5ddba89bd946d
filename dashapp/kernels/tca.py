"""Transaction cost analysis (TCA) of fills and orders.

Conventions for every function:

* ``side``: +1 / -1, or "buy" / "sell" (also "b"/"s", any case), scalar or per row.
* Sign: a POSITIVE cost / slippage is bad for us, for buys and sells alike
  (bought above / sold below the benchmark). Markouts and price improvement are
  the opposite: positive = good for us.
* bps = 1e-4 of the stated reference price.
* Inputs broadcast against each other; result is an ndarray (a Series if
  ``fill_price`` is a Series, keeping its index). Prices must be finite and > 0;
  anything else raises ValueError naming the argument.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dashapp.kernels import tca_nb
from dashapp.kernels._common_nb import quantile_inplace
from dashapp.kernels._validate import require_finite, to_float_array

_SIDE_WORDS = {"buy": 1.0, "b": 1.0, "sell": -1.0, "s": -1.0}


def _side(side: Any) -> np.ndarray:
    arr = np.asarray(side.to_numpy() if isinstance(side, pd.Series) else side)
    if arr.dtype.kind in "OUS":
        try:
            arr = np.vectorize(lambda s: _SIDE_WORDS[str(s).strip().lower()], otypes=[float])(arr)
        except KeyError as exc:
            raise ValueError(f"side must be +1/-1 or 'buy'/'sell'; got {exc.args[0]!r}") from None
    arr = to_float_array(arr, "side")
    if not np.isin(arr, (1.0, -1.0)).all():
        raise ValueError("side must be +1 (buy) or -1 (sell) for every row")
    return arr


def _prices(x: Any, name: str) -> np.ndarray:
    arr = to_float_array(x, name)
    require_finite(arr, name)
    if (arr <= 0.0).any():
        raise ValueError(f"{name} must be > 0 everywhere")
    return arr


def _broadcast(*arrays: np.ndarray) -> list[np.ndarray]:
    try:
        out = np.broadcast_arrays(*[np.atleast_1d(a) for a in arrays])
    except ValueError:
        raise ValueError(f"inputs cannot be broadcast together: {[a.shape for a in arrays]}") from None
    if out[0].ndim != 1 or out[0].size == 0:
        raise ValueError(f"inputs must be non-empty 1-D (one value per fill); got shape {out[0].shape}")
    return [np.ascontiguousarray(a, dtype=np.float64) for a in out]


def _wrap(values: np.ndarray, like: Any, name: str) -> np.ndarray | pd.Series:
    if isinstance(like, pd.Series) and len(like) == len(values):
        return pd.Series(values, index=like.index, name=name)
    return values


def _slippage(side, fill_price, benchmark, bench_name, name):
    s, p, b = _broadcast(_side(side), _prices(fill_price, "fill_price"), _prices(benchmark, bench_name))
    return _wrap(tca_nb.slippage_bps_nb(s, p, b), fill_price, name)


def arrival_slippage_bps(side, fill_price, arrival_mid):
    """``side * (fill_price - arrival_mid) / arrival_mid * 1e4``: cost versus the
    mid quote when the order arrived (positive = cost for buys and sells)."""
    return _slippage(side, fill_price, arrival_mid, "arrival_mid", "arrival_slippage_bps")


def vwap_slippage_bps(side, fill_price, market_vwap):
    """``side * (fill_price - market_vwap) / market_vwap * 1e4``: cost versus the
    market's volume-weighted average price over the order's life (positive = worse)."""
    return _slippage(side, fill_price, market_vwap, "market_vwap", "vwap_slippage_bps")


def twap_slippage_bps(side, fill_price, market_twap):
    """``side * (fill_price - market_twap) / market_twap * 1e4``: cost versus the
    market's time-weighted average price over the order's life (positive = worse)."""
    return _slippage(side, fill_price, market_twap, "market_twap", "twap_slippage_bps")


def price_improvement_bps(side, fill_price, mid):
    """``side * (mid - fill_price) / mid * 1e4``: how much better than the mid at
    trade time we traded (positive = bought below / sold above the mid)."""
    s, p, m = _broadcast(_side(side), _prices(fill_price, "fill_price"), _prices(mid, "mid"))
    return _wrap(-tca_nb.slippage_bps_nb(s, p, m), fill_price, "price_improvement_bps")


def effective_spread(side, fill_price, mid, in_bps: bool = True):
    """Effective spread ``2 * side * (fill_price - mid)``, in bps of ``mid``
    (default) or in price units with ``in_bps=False``. Positive = paid spread."""
    s, p, m = _broadcast(_side(side), _prices(fill_price, "fill_price"), _prices(mid, "mid"))
    return _wrap(tca_nb.spread_nb(s, p, m, m, bool(in_bps)), fill_price, "effective_spread")


def realised_spread(side, fill_price, mid, mid_after, in_bps: bool = True):
    """Realised spread ``2 * side * (fill_price - mid_after)``, in bps of the trade-time
    ``mid`` (default) or price units. ``mid_after`` is the mid some horizon later
    (e.g. 5 minutes); effective minus realised spread is the price impact."""
    s, p, m, ma = _broadcast(_side(side), _prices(fill_price, "fill_price"), _prices(mid, "mid"),
                             _prices(mid_after, "mid_after"))
    return _wrap(tca_nb.spread_nb(s, p, m, ma, bool(in_bps)), fill_price, "realised_spread")


def markouts(side, fill_price, mids_at_horizons):
    """Markouts in bps: ``side * (mid_h - fill_price) / fill_price * 1e4`` for each
    horizon h (positive = the market moved our way after the fill).

    ``mids_at_horizons``: (n_fills, H) mids observed H horizons after each fill. A
    DataFrame keeps its columns (e.g. "1s", "10s", "60s") and index.
    """
    mids = _prices(mids_at_horizons, "mids_at_horizons")
    if mids.ndim == 1:
        mids = mids[:, None]
    if mids.ndim != 2:
        raise ValueError(f"mids_at_horizons must be (n_fills, n_horizons); got shape {mids.shape}")
    s, p = _broadcast(_side(side), _prices(fill_price, "fill_price"))
    if s.shape[0] == 1 and mids.shape[0] > 1:
        s, p = np.repeat(s, mids.shape[0]), np.repeat(p, mids.shape[0])
    if p.shape[0] != mids.shape[0]:
        raise ValueError(f"fill_price has {p.shape[0]} fills but mids_at_horizons has {mids.shape[0]} rows")
    out = tca_nb.markouts_nb(s, p, np.ascontiguousarray(mids))
    if isinstance(mids_at_horizons, pd.DataFrame):
        return pd.DataFrame(out, index=mids_at_horizons.index, columns=mids_at_horizons.columns)
    return out


class Shortfall(NamedTuple):
    """Perold implementation shortfall per order, currency units (positive = cost)."""

    delay: np.ndarray
    trading: np.ndarray
    opportunity: np.ndarray
    fees: np.ndarray
    total: np.ndarray
    total_bps: np.ndarray


def implementation_shortfall(side, order_qty, fill_qty, avg_fill_price, decision_price,
                             arrival_price, close_price, fees=0.0) -> Shortfall:
    """Perold (1988) implementation shortfall against the paper portfolio traded
    at ``decision_price``, split into:

    * delay = side * fill_qty * (arrival_price - decision_price)
    * trading = side * fill_qty * (avg_fill_price - arrival_price)
    * opportunity = side * (order_qty - fill_qty) * (close_price - decision_price)
    * fees = explicit costs (commissions, taxes), >= 0
    * total = their sum; total_bps = total / (order_qty * decision_price) * 1e4

    Quantities are unsigned (>= 0, fill_qty <= order_qty, order_qty > 0);
    ``avg_fill_price`` may be NaN where nothing filled. ``close_price`` is the
    price at which the unfilled rest is marked (end of horizon).
    """
    s = _side(side)
    qty = to_float_array(order_qty, "order_qty")
    filled = to_float_array(fill_qty, "fill_qty")
    fee = to_float_array(fees, "fees")
    for arr, name in ((qty, "order_qty"), (filled, "fill_qty"), (fee, "fees")):
        require_finite(arr, name)
    fill_px = to_float_array(avg_fill_price, "avg_fill_price")
    cols = _broadcast(s, qty, filled, fill_px, _prices(decision_price, "decision_price"),
                      _prices(arrival_price, "arrival_price"), _prices(close_price, "close_price"), fee)
    s, qty, filled, fill_px, *_, fee = cols
    if (qty <= 0).any() or (filled < 0).any() or (filled > qty).any():
        raise ValueError("need order_qty > 0 and 0 <= fill_qty <= order_qty for every order")
    if (fee < 0).any():
        raise ValueError("fees must be >= 0")
    traded = filled > 0
    if (~np.isfinite(fill_px[traded]) | (fill_px[traded] <= 0)).any():
        raise ValueError("avg_fill_price must be finite and > 0 where fill_qty > 0")
    out = tca_nb.implementation_shortfall_nb(*cols)
    return Shortfall(*out)


def fill_rate(fill_qty, order_qty) -> float:
    """Filled share of ordered quantity: ``sum(fill_qty) / sum(order_qty)`` (per-order
    rates are just ``fill_qty / order_qty``). Quantities >= 0, fill <= order."""
    filled, qty = _broadcast(to_float_array(fill_qty, "fill_qty"), to_float_array(order_qty, "order_qty"))
    require_finite(filled, "fill_qty")
    require_finite(qty, "order_qty")
    if (filled < 0).any() or (filled > qty).any() or qty.sum() <= 0:
        raise ValueError("need 0 <= fill_qty <= order_qty and a positive total order_qty")
    return float(filled.sum() / qty.sum())


def latency_percentiles(latencies, percentiles=(50, 95, 99)) -> pd.Series:
    """Percentiles of latencies (any unit; NaN/inf rejected), linear interpolation
    like ``np.percentile``; a Series indexed by the percentiles (e.g. p50, p95)."""
    lat = to_float_array(latencies, "latencies").reshape(-1)
    if lat.size == 0:
        raise ValueError("latencies is empty")
    require_finite(lat, "latencies")
    pct = to_float_array(percentiles, "percentiles").reshape(-1)
    if pct.size == 0 or not ((pct >= 0) & (pct <= 100)).all():
        raise ValueError(f"percentiles must be numbers in [0, 100]; got {list(percentiles)}")
    work = lat.copy()
    values = [quantile_inplace(work, p / 100.0)[0] for p in pct]
    return pd.Series(values, index=pd.Index([float(p) for p in pct], name="percentile"), name="latency")
