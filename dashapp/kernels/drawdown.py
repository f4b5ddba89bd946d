"""Drawdowns of simple periodic returns.

Wealth starts at 1 before the first return and compounds (``cumprod(1 + r)``);
the running peak includes that starting 1, so a loss in the first period is
already a drawdown (the anchor empyrical and quantstats use). Drawdown is
``wealth / running_peak - 1`` and is always <= 0. ``returns`` is 1-D (float back)
or (T, N) (one value per column; Series for a DataFrame). NaN/inf and empty input
raise ValueError. Returns below -1 are not rejected but make wealth negative,
which no drawdown definition covers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dashapp.kernels import drawdown_nb
from dashapp.kernels._validate import as_returns, raise_nonfinite_columns, reduce_out, series_out, threads

Result = Any  # float | np.ndarray | pd.Series


def drawdown_series(returns) -> Any:
    """Underwater curve: ``wealth_t / max(1, wealth_1..t) - 1`` for every period (<= 0).

    Same shape as the input (Series/DataFrame keep their index and columns).
    Same as ``empyrical.stats.drawdown_series`` and ``quantstats.stats.to_drawdown_series``.
    """
    a, shape = as_returns(returns)
    out = np.empty_like(a)  # NumPy allocation: huge pages for large outputs
    drawdown_nb.drawdown_series_nb(a, out, threads())
    return series_out(out, shape)


def max_drawdown(returns) -> Result:
    """Most negative drawdown (<= 0; -0.25 = a 25% fall from the peak).

    Same as ``empyrical.max_drawdown`` and ``quantstats.stats.max_drawdown``. One
    pass per column, no division, NaN/inf detection folded into the same pass.
    """
    a, shape = as_returns(returns, check_finite=False)
    mdd, check = drawdown_nb.max_drawdown_nb(a, threads())
    bad = ~np.isfinite(check)  # NaN iff the column holds NaN/inf
    if bad.any():
        raise_nonfinite_columns(a, "returns", bad, shape)
    return reduce_out(mdd, shape)


def max_drawdown_duration(returns) -> Result:
    """Longest run of consecutive periods spent under water (wealth strictly below
    its running peak), in periods, as a float. A run still open at the end counts.
    0.0 if wealth never falls below its peak. Reference: the longest run of
    ``drawdown_series(returns) < 0`` (tested against that with pandas).
    """
    a, shape = as_returns(returns)
    return reduce_out(drawdown_nb.drawdown_stats_nb(a)[1], shape)


def recovery_time(returns) -> Result:
    """Periods from the max-drawdown trough until wealth first regains the peak that
    preceded it (``wealth >= that peak``). The trough is the first period at which
    the maximum drawdown is reached. NaN if the series ends before recovering; 0.0
    if there was no drawdown at all. Reference: computed from
    ``empyrical.drawdown_series`` in tests.
    """
    a, shape = as_returns(returns)
    return reduce_out(drawdown_nb.drawdown_stats_nb(a)[2], shape)
