"""Numba risk, performance, options and execution kernels with NumPy/pandas wrappers.

Each domain is a pair: ``<domain>_nb.py`` holds ``@njit(cache=True)`` functions
that only take C-contiguous float64 arrays; ``<domain>.py`` validates input,
reshapes, names results and documents conventions (sign, quantile method, ddof,
annualisation, NaN handling) and the reference each function is tested against.
No DB, Dash or Celery here. Call ``warm_up()`` at process start.
"""

from dashapp.kernels import _startup  # noqa: F401  (OpenMP wait policy, stale-cache guard)
from dashapp.kernels.drawdown import drawdown_series, max_drawdown, max_drawdown_duration, recovery_time
from dashapp.kernels.options import Greeks, black_scholes
from dashapp.kernels.performance import (
    alpha_beta,
    annual_volatility,
    cagr,
    calmar_ratio,
    omega_ratio,
    profit_factor,
    rolling_volatility,
    sharpe_ratio,
    sortino_ratio,
    stability,
    tail_ratio,
    win_rate,
)
from dashapp.kernels.portfolio import Concentration, concentration, correlation_matrix, exposure_by
from dashapp.kernels.rolling_var import (
    rolling_cornish_fisher_var,
    rolling_historical_cvar,
    rolling_historical_var,
    rolling_parametric_cvar,
    rolling_parametric_var,
)
from dashapp.kernels.tca import (
    Shortfall,
    arrival_slippage_bps,
    effective_spread,
    fill_rate,
    implementation_shortfall,
    latency_percentiles,
    markouts,
    price_improvement_bps,
    realised_spread,
    twap_slippage_bps,
    vwap_slippage_bps,
)
from dashapp.kernels.var import (
    cornish_fisher_var,
    historical_cvar,
    historical_var,
    historical_var_cvar,
    monte_carlo_var,
    monte_carlo_var_many,
    parametric_cvar,
    parametric_var,
    parametric_var_cvar,
)
from dashapp.kernels.warmup import warm_up

__all__ = [
    # VaR / CVaR
    "historical_var", "historical_cvar", "historical_var_cvar", "parametric_var", "parametric_cvar",
    "parametric_var_cvar", "cornish_fisher_var", "monte_carlo_var", "monte_carlo_var_many",
    "rolling_historical_var", "rolling_historical_cvar", "rolling_parametric_var",
    "rolling_parametric_cvar", "rolling_cornish_fisher_var",
    # drawdown
    "drawdown_series", "max_drawdown", "max_drawdown_duration", "recovery_time",
    # performance
    "cagr", "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "omega_ratio",
    "tail_ratio", "stability", "alpha_beta", "win_rate", "profit_factor", "rolling_volatility",
    # portfolio
    "concentration", "Concentration", "correlation_matrix", "exposure_by",
    # options
    "black_scholes", "Greeks",
    # execution (TCA)
    "arrival_slippage_bps", "implementation_shortfall", "Shortfall", "vwap_slippage_bps",
    "twap_slippage_bps", "effective_spread", "realised_spread", "price_improvement_bps", "markouts",
    "fill_rate", "latency_percentiles",
    # start-up
    "warm_up",
]
