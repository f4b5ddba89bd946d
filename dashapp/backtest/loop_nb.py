"""Backtest kernels: rolling features, strategy signals, the daily event loop and the sweep.

Only NumPy arrays and scalars in and out; the wrapper (``engine.py``) validates and names things.
Every ``@njit`` function of this package lives in this one file on purpose: numba's ``cache=True``
keys cached machine code on the timestamp of the defining file only, so a helper edited in
another file would leave its cached callers running the old code.

The loop (``simulate_nb``) is a target-position simulator on one instrument:
* bar ``t``'s direction (-1, 0, +1) is decided on the close of ``t``; when it differs from the
  current view, the target becomes ``direction * floor(min(size_frac * equity_t, max_notional)
  / close_t)`` whole shares and the difference to the position is ordered;
* the order fills at ``fill_px[t + delay]`` (delay 1: the next bar; delay 0: this bar's close)
  with slippage ``price * (1 +- slip_rate)`` against the trader, and a fee of
  ``|q| * per_share + |q| * comm_rate * price`` (each part of a reversal is charged separately);
* positions are marked at the close; cash may go negative (no margin model).
Cash and average-cost accounting follow backtrader's BackBroker step by step (cost basis returned
plus realised P&L on a close, average price on an increase), so the two agree to the bit; see
tests/unit/backtest/test_vs_backtrader.py.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SMA_CROSS = 0
MOMENTUM = 1
MEAN_REVERSION = 2

# fill record columns
F_BAR, F_SIDE, F_QTY, F_PRICE, F_FEE, F_POSITION = 0, 1, 2, 3, 4, 5
N_FILL_FIELDS = 6
# trade record columns (a trade: from a flat position to flat again, or to a reversal)
(T_ENTRY_BAR, T_EXIT_BAR, T_SIDE, T_QTY, T_ENTRY_PRICE, T_EXIT_PRICE, T_FEES, T_PNL, T_NET,
 T_OPEN) = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
N_TRADE_FIELDS = 10
# simulate_nb's stats vector
S_FILLS, S_TRADES, S_WINS, S_LOSSES, S_GROSS_WIN, S_GROSS_LOSS = 0, 1, 2, 3, 4, 5
N_STATS = 6


# --- features --------------------------------------------------------------------------------


@njit(cache=True)
def _dd_add(hi, lo, v):
    """(hi, lo) + v in double-double arithmetic (TwoSum, then renormalise): the running window sum
    keeps about 106 bits, so rounding hi + lo gives the correctly rounded window sum (what
    backtrader's math.fsum gives) in all but contrived cases, in O(1) per bar."""
    s = hi + v
    bp = s - hi
    err = (hi - (s - bp)) + (v - bp)
    lo += err
    hi = s + lo
    lo = lo - (hi - s)
    return hi, lo


@njit(cache=True)
def rolling_mean_std_1d_nb(x, window, want_std, mean_out, std_out):
    """Trailing mean (and population std, ddof=0 like np.std) over ``window`` bars; NaN before the
    window fills. The mean comes from an exact-ish running sum (``_dd_add``: no drift, equal to
    math.fsum / window on the bundled data -- tested); the std is a direct two-pass sum per bar."""
    T = x.shape[0]
    hi = 0.0
    lo = 0.0
    for t in range(T):
        hi, lo = _dd_add(hi, lo, x[t])
        if t >= window:
            hi, lo = _dd_add(hi, lo, -x[t - window])
        if t < window - 1:
            mean_out[t] = np.nan
            if want_std:
                std_out[t] = np.nan
            continue
        m = (hi + lo) / window
        mean_out[t] = m
        if want_std:
            ss = 0.0
            for k in range(t - window + 1, t + 1):
                d = x[k] - m
                ss += d * d
            std_out[t] = math.sqrt(ss / window)


@njit(cache=True, parallel=True)
def feature_tables_nb(closes, windows, want_std, means, stds):
    """Rolling means (and stds) of every symbol (rows of ``closes``, shape (S, T)) for every
    window: ``means[s, k]`` is the mean over ``windows[k]`` bars. Parallel over (symbol, window)."""
    S = closes.shape[0]
    K = windows.shape[0]
    for i in prange(S * K):
        s = i // K
        k = i % K
        rolling_mean_std_1d_nb(closes[s], windows[k], want_std, means[s, k], stds[s, k])


# --- signals ---------------------------------------------------------------------------------


@njit(cache=True)
def direction_nb(kind, close, means, stds, ia, ib, x, allow_short, out):
    """Desired direction per bar into ``out`` (int8): +1 long, -1 short (0 when not
    ``allow_short``), 0 flat, and 0 while the indicators warm up.

    * SMA_CROSS: long while SMA(fast) > SMA(slow), short while below; ``means[ia]`` is the fast
      SMA, ``means[ib]`` the slow one.
    * MOMENTUM (the paper engine's Momentum): ``ret = close[t] / close[t - ia] - 1``; long above
      +x, short below -x, else flat.
    * MEAN_REVERSION (the paper engine's MeanReversion): ``z = (close - mean) / std`` over the
      window in row ``ia``; short above +x, long below -x, else flat (std 0: flat).
    """
    T = close.shape[0]
    for t in range(T):
        d = 0
        if kind == SMA_CROSS:
            f = means[ia, t]
            s = means[ib, t]
            if f == f and s == s:  # both defined (not NaN)
                if f > s:
                    d = 1
                elif f < s:
                    d = -1
        elif kind == MOMENTUM:
            if t >= ia:
                ret = close[t] / close[t - ia] - 1.0
                if ret > x:
                    d = 1
                elif ret < -x:
                    d = -1
        else:
            m = means[ia, t]
            sd = stds[ia, t]
            if m == m and sd > 0.0:
                z = (close[t] - m) / sd
                if z > x:
                    d = -1
                elif z < -x:
                    d = 1
        if d < 0 and not allow_short:
            d = 0
        out[t] = d


# --- the event loop --------------------------------------------------------------------------

# simulate_nb's running state, one float64 vector (numba keeps it in registers/L1)
_CASH, _POS, _AVG, _NF, _NT, _TR_BAR, _TR_SIDE, _TR_QTY, _TR_FEES, _TR_PNL, _TR_EXIT_Q, _TR_EXIT_VAL, _TR_PRICE = \
    range(13)
_N_STATE = 13


@njit(cache=True)
def _mark(cash, pos, avg, price):
    """Equity marked at ``price``. A long is valued as cost basis + unrealised P&L, in that order
    (backtrader's unlevered value), so both engines report the same bits; a short at pos * price."""
    if pos > 0.0:
        unrealised = pos * (price - avg)
        return cash + ((0.0 + (pos * price - unrealised)) + unrealised)
    return cash + pos * price


@njit(cache=True)
def _fee(q, price, per_share, comm_rate):
    return q * per_share + q * comm_rate * price


@njit(cache=True)
def _record_trade(st, trades, exit_bar, exit_px, pnl, net, is_open):
    i = int(st[_NT])
    if i < trades.shape[0]:
        row = trades[i]
        row[T_ENTRY_BAR] = st[_TR_BAR]
        row[T_EXIT_BAR] = exit_bar
        row[T_SIDE] = st[_TR_SIDE]
        row[T_QTY] = st[_TR_QTY]
        row[T_ENTRY_PRICE] = st[_TR_PRICE]
        row[T_EXIT_PRICE] = exit_px
        row[T_FEES] = st[_TR_FEES]
        row[T_PNL] = pnl
        row[T_NET] = net
        row[T_OPEN] = is_open
    st[_NT] += 1.0


@njit(cache=True)
def _fill(st, t, delta, raw_px, slip_rate, per_share, comm_rate, fills, trades, stats):
    """Execute ``delta`` shares at ``raw_px`` (+ slippage) on bar ``t``: first the part that closes
    the position (cost basis back + realised P&L, then its fee), then the part that opens or adds
    (cost out, then its fee) -- BackBroker._execute's order of operations.

    Cash uses the position's average price; the trade record keeps its own size-weighted entry
    price ``(size * price + q * px) / (size + q)`` and takes its P&L from that, as backtrader's
    Trade does (the two can differ in the last bit)."""
    side = 1.0 if delta > 0.0 else -1.0
    px = raw_px * (1.0 + slip_rate) if side > 0.0 else raw_px * (1.0 - slip_rate)
    q = abs(delta)
    pos = st[_POS]
    fee_total = 0.0
    closing = 0.0
    if pos != 0.0 and (pos > 0.0) != (side > 0.0):
        closing = min(q, abs(pos))
        c = closing if pos > 0.0 else -closing  # signed like the position
        avg = st[_AVG]
        st[_CASH] += c * avg + c * (px - avg)
        fee_c = _fee(closing, px, per_share, comm_rate)
        st[_CASH] -= fee_c
        fee_total += fee_c
        pos -= c
        st[_TR_PNL] += c * (px - st[_TR_PRICE])
        st[_TR_FEES] += fee_c
        st[_TR_EXIT_Q] += closing
        st[_TR_EXIT_VAL] += closing * px
        if pos == 0.0:
            gross = st[_TR_PNL]
            net = gross - st[_TR_FEES]
            _record_trade(st, trades, t, st[_TR_EXIT_VAL] / st[_TR_EXIT_Q], gross, net, 0.0)
            stats[S_TRADES] += 1.0
            if net > 0.0:
                stats[S_WINS] += 1.0
                stats[S_GROSS_WIN] += net
            elif net < 0.0:
                stats[S_LOSSES] += 1.0
                stats[S_GROSS_LOSS] -= net
            st[_AVG] = 0.0
            st[_TR_PRICE] = 0.0
    opening = q - closing
    if opening > 0.0:
        o = opening * side
        st[_CASH] -= o * px
        fee_o = _fee(opening, px, per_share, comm_rate)
        st[_CASH] -= fee_o
        fee_total += fee_o
        st[_TR_PRICE] = (pos * st[_TR_PRICE] + o * px) / (pos + o)
        if pos == 0.0:
            st[_AVG] = px
            st[_TR_BAR] = t
            st[_TR_SIDE] = side
            st[_TR_QTY] = opening
            st[_TR_FEES] = fee_o
            st[_TR_PNL] = 0.0
            st[_TR_EXIT_Q] = 0.0
            st[_TR_EXIT_VAL] = 0.0
        else:
            st[_AVG] = (st[_AVG] * pos + o * px) / (pos + o)
            st[_TR_QTY] += opening
            st[_TR_FEES] += fee_o
        pos += o
    st[_POS] = pos
    i = int(st[_NF])
    if i < fills.shape[0]:
        row = fills[i]
        row[F_BAR] = t
        row[F_SIDE] = side
        row[F_QTY] = q
        row[F_PRICE] = px
        row[F_FEE] = fee_total
        row[F_POSITION] = pos
    st[_NF] += 1.0
    stats[S_FILLS] += 1.0


@njit(cache=True)
def simulate_nb(close, fill_px, direction, delay, init_cash, size_frac, max_notional, per_share,
                comm_rate, slip_rate, fills, trades, equity, position, stats):
    """Run one instrument over T bars. Writes ``equity[t]`` and ``position[t]`` (after bar t's
    fills), up to ``fills.shape[0]`` fill records and ``trades.shape[0]`` trade records (pass
    (0, k) arrays to record none, as the sweep does), and ``stats`` (fills, closed trades,
    winners, losers, sum of winning and of losing net P&L). Returns (n_fills, n_trades); a trade
    still open at the end is recorded with ``T_OPEN = 1``, marked at the last close, and is not in
    the stats. An order placed on the last bar with delay 1 never fills."""
    T = close.shape[0]
    for i in range(N_STATS):
        stats[i] = 0.0
    st = np.zeros(_N_STATE)
    st[_CASH] = init_cash
    view = 0
    pending = 0.0
    for t in range(T):
        if pending != 0.0:
            _fill(st, t, pending, fill_px[t], slip_rate, per_share, comm_rate, fills, trades, stats)
            pending = 0.0
        d = direction[t]
        if d != view:
            view = d
            price = close[t]
            budget = min(size_frac * _mark(st[_CASH], st[_POS], st[_AVG], price), max_notional)
            target = d * math.floor(budget / price) if budget > 0.0 else 0.0
            delta = target - st[_POS]
            if delta != 0.0:
                if delay == 0:
                    _fill(st, t, delta, fill_px[t], slip_rate, per_share, comm_rate, fills, trades, stats)
                else:
                    pending = delta
        equity[t] = _mark(st[_CASH], st[_POS], st[_AVG], close[t])
        position[t] = st[_POS]
    pos = st[_POS]
    if pos != 0.0:
        last = close[T - 1]
        gross = st[_TR_PNL] + pos * (last - st[_TR_PRICE])
        _record_trade(st, trades, T - 1, last, gross, gross - st[_TR_FEES], 1.0)
    return int(st[_NF]), int(st[_NT])


# --- the sweep -------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def sweep_nb(kind, closes, fill_pxs, means, stds, ia, ib, x, allow_short, delay, init_cash, size_frac,
             max_notional, per_share, comm_rate, slip_rate, returns_out, final_out, stats_out):
    """One backtest per parameter set ``p`` (``ia[p], ib[p], x[p]`` as in ``direction_nb``) over
    every symbol (rows of ``closes``, each starting with ``init_cash``), in parallel over the sets.
    Writes the daily returns of the summed equity into column p of ``returns_out`` (T, P) -- the
    layout the performance kernels read; row 0 is against the summed initial cash, NaN once the
    equity has reached zero -- the final equity into ``final_out[p]`` and the summed stats into
    ``stats_out[p]``. No equity matrix is kept: the returns are all the metrics need."""
    P = ia.shape[0]
    S, T = closes.shape
    for p in prange(P):
        d = np.empty(T, np.int8)
        eq = np.empty(T)
        pos = np.empty(T)
        st = np.empty(N_STATS)
        total = np.zeros(T)
        no_fills = np.empty((0, N_FILL_FIELDS))
        no_trades = np.empty((0, N_TRADE_FIELDS))
        for k in range(N_STATS):
            stats_out[p, k] = 0.0
        for s in range(S):
            direction_nb(kind, closes[s], means[s], stds[s], ia[p], ib[p], x[p], allow_short, d)
            simulate_nb(closes[s], fill_pxs[s], d, delay, init_cash, size_frac, max_notional, per_share,
                        comm_rate, slip_rate, no_fills, no_trades, eq, pos, st)
            for t in range(T):
                total[t] += eq[t]
            for k in range(N_STATS):
                stats_out[p, k] += st[k]
        prev = init_cash * S
        for t in range(T):
            returns_out[t, p] = total[t] / prev - 1.0 if prev != 0.0 else np.nan
            prev = total[t]
        final_out[p] = total[T - 1]
