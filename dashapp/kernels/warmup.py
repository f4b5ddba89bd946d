"""Compile or load every kernel once at process start-up.

``@njit(cache=True)`` keeps machine code in ``__pycache__`` beside the modules;
the first process after a code change compiles (seconds), later ones just load
it. Calling ``warm_up()`` from web/worker start-up moves that cost out of the
first user request.
"""

from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger(__name__)


def warm_up() -> float:
    """Call every public kernel once on tiny arrays; return elapsed seconds."""
    import dashapp.kernels as k

    start = time.perf_counter()
    r1 = np.array([0.01, -0.02, 0.015, -0.005, 0.003, -0.01, 0.02, 0.0])
    r2 = np.ascontiguousarray(np.column_stack([r1, r1[::-1], r1 * 0.5]))
    for r in (r1, r2):
        k.historical_var_cvar(r, 0.9)
        k.historical_var_cvar(r, 0.01)  # large-tail (quickselect) path
        k.parametric_var(r)
        k.parametric_cvar(r)
        k.parametric_var_cvar(r)
        k.cornish_fisher_var(r)
        for fn in (k.rolling_historical_var, k.rolling_historical_cvar, k.rolling_parametric_var,
                   k.rolling_parametric_cvar, k.rolling_cornish_fisher_var):
            fn(r, 4)
        k.drawdown_series(r)
        k.max_drawdown(r)
        k.max_drawdown_duration(r)
        k.recovery_time(r)
        for fn in (k.cagr, k.annual_volatility, k.sharpe_ratio, k.sortino_ratio, k.calmar_ratio,
                   k.omega_ratio, k.tail_ratio, k.stability, k.win_rate, k.profit_factor):
            fn(r)
        k.alpha_beta(r, r1)
        k.rolling_volatility(r, 3)
    k.monte_carlo_var(r2, np.full(3, 1 / 3), n_paths=16, horizon=2)
    k.monte_carlo_var_many(r2, np.eye(3), (0.95, 0.99), n_paths=16)
    k.concentration(np.array([0.5, 0.3, 0.2]))
    k.correlation_matrix(r2)
    k.exposure_by(np.array([1.0, 2.0, 3.0]), ["a", "b", "a"])
    k.black_scholes(np.array([100.0, 90.0]), 100.0, 0.5, 0.2, 0.01, 0.0, np.array([True, False]))
    side = np.array([1.0, -1.0])
    px = np.array([100.1, 99.9])
    mid = np.array([100.0, 100.0])
    k.arrival_slippage_bps(side, px, mid)
    k.vwap_slippage_bps(side, px, mid)
    k.twap_slippage_bps(side, px, mid)
    k.price_improvement_bps(side, px, mid)
    k.effective_spread(side, px, mid)
    k.realised_spread(side, px, mid, mid)
    k.markouts(side, px, np.column_stack([mid, mid]))
    from dashapp.kernels import burn_rate  # the Operations page's SLO burn rates

    burn_rate.burn_rates(np.array([9.0, 10.0]), np.array([10.0, 10.0]), [1, 2], 0.99)
    burn_rate.rolling_burn_rate(np.array([9.0, 10.0]), np.array([10.0, 10.0]), 2, 0.99)
    k.implementation_shortfall(side, 10.0, 5.0, px, mid, mid, mid, 0.1)
    k.fill_rate(np.array([5.0]), np.array([10.0]))
    k.latency_percentiles(np.array([1.0, 2.0, 3.0]))
    from dashapp.kernels import drift  # model operations: drift statistics and the heatmap

    drift.drift_table(r2, r2[::-1], n_perm=2, block=2)
    drift.psi_heatmap(r2, r2, [0, 4, 8])
    elapsed = time.perf_counter() - start
    log.info("numba kernels warm in %.2fs", elapsed)
    return elapsed
