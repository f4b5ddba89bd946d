"""Rolling-window VaR / CVaR: the measures of ``var.py`` over each trailing window.

Same conventions as ``var.py`` (positive losses, linear-interpolation quantile,
ddof=1, NaN/inf rejected). The value at row t uses rows t - window + 1 .. t; the
first ``window - 1`` rows are NaN (pandas ``rolling(window)`` alignment). Output
has the input's shape: (T,) ndarray / Series, or (T, N) ndarray / DataFrame.
``window`` must be an integer with 2 <= window <= T.
"""

from __future__ import annotations

from typing import Any

from dashapp.kernels import rolling_nb
from dashapp.kernels._validate import as_returns, check_level, check_window, series_out, threads

Result = Any  # np.ndarray | pd.Series | pd.DataFrame


def _prepare(returns, window, level, min_window=2):
    level = check_level(level)
    a, shape = as_returns(returns)
    window = check_window(window, a.shape[0])
    if window < min_window:
        raise ValueError(f"window must be >= {min_window} periods for this measure; got {window}")
    return a, shape, window, level


def rolling_historical_var(returns, window: int, level: float = 0.99) -> Result:
    """Historical VaR of each trailing window; row t equals
    ``historical_var(returns[t - window + 1 : t + 1], level)``."""
    a, shape, window, level = _prepare(returns, window, level)
    return series_out(rolling_nb.rolling_historical_var_cvar_nb(a, window, level)[0], shape)


def rolling_historical_cvar(returns, window: int, level: float = 0.99) -> Result:
    """Historical CVaR of each trailing window (mean of the returns <= the window's
    quantile, negated); row t equals ``historical_cvar`` of that window."""
    a, shape, window, level = _prepare(returns, window, level)
    return series_out(rolling_nb.rolling_historical_var_cvar_nb(a, window, level)[1], shape)


def rolling_parametric_var(returns, window: int, level: float = 0.99) -> Result:
    """Gaussian VaR of each trailing window from its mean and std (ddof=1).

    Rolling moments are updated in O(1) per step (Welford with replacement), so
    they match pandas ``rolling(window).mean()`` / ``.std()`` to ~1e-12."""
    a, shape, window, level = _prepare(returns, window, level)
    return series_out(rolling_nb.rolling_parametric_var_cvar_nb(a, window, level, threads())[0], shape)


def rolling_parametric_cvar(returns, window: int, level: float = 0.99) -> Result:
    """Gaussian expected shortfall of each trailing window (see ``parametric_cvar``)."""
    a, shape, window, level = _prepare(returns, window, level)
    return series_out(rolling_nb.rolling_parametric_var_cvar_nb(a, window, level, threads())[1], shape)


def rolling_cornish_fisher_var(returns, window: int, level: float = 0.99) -> Result:
    """Cornish-Fisher VaR of each trailing window (see ``cornish_fisher_var``);
    needs window >= 4. Moments are recomputed per window, O(T * window)."""
    a, shape, window, level = _prepare(returns, window, level, min_window=4)
    return series_out(rolling_nb.rolling_cornish_fisher_var_nb(a, window, level), shape)
