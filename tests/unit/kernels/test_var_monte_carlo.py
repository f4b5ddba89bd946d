"""Monte Carlo VaR of several portfolios from one simulation, against a NumPy reference built
from the same seeded draws, and against the one-portfolio function."""

from __future__ import annotations

import numpy as np
import pytest

import dashapp.kernels as k


def reference_mc_var(returns, weights, level, n_paths, horizon, seed):
    """The documented model written out in NumPy: N(mu, Sigma) draws through the Cholesky factor,
    each asset compounded over the horizon, buy-and-hold weights, linear-interpolation quantile."""
    a = np.asarray(returns, dtype=float)
    mu = a.mean(axis=0)
    factor = np.linalg.cholesky(np.atleast_2d(np.cov(a, rowvar=False, ddof=1)))
    z = np.random.default_rng(seed).standard_normal((n_paths * horizon, a.shape[1]))
    shocks = (z @ factor.T).reshape(n_paths, horizon, a.shape[1])
    growth = np.prod(1.0 + mu + shocks, axis=1) - 1.0
    return -np.quantile(growth @ np.asarray(weights, dtype=float), 1.0 - level)


@pytest.fixture(scope="module")
def weights(stocks):
    rng = np.random.default_rng(7)
    w = rng.normal(0.0, 0.2, (3, stocks.shape[1]))
    return np.vstack([w, w.sum(axis=0)])  # three "strategies" and their total


@pytest.mark.parametrize("horizon", [1, 5])
def test_every_scope_and_level_matches_the_reference_on_the_same_draws(stocks, weights, horizon):
    levels = (0.95, 0.99)
    many = k.monte_carlo_var_many(stocks, weights, levels, n_paths=8_000, horizon=horizon, seed=11)
    assert many.shape == (len(weights), len(levels))
    for s, w in enumerate(weights):
        for j, level in enumerate(levels):
            ref = reference_mc_var(stocks, w, level, 8_000, horizon, 11)
            assert many[s, j] == pytest.approx(ref, rel=1e-11)
            # the one-portfolio function is the same simulation
            assert k.monte_carlo_var(stocks, w, level, n_paths=8_000, horizon=horizon, seed=11) == many[s, j]


def test_hand_checkable_scaling_and_sign(aapl):
    # one asset: doubling the position doubles the loss quantile; no position, no loss; a short
    # position loses on the other tail (its VaR is minus the long side's upper quantile)
    w = np.array([[1.0], [2.0], [0.0], [-1.0]])
    var = k.monte_carlo_var_many(aapl, w, (0.99, 0.01), n_paths=20_000, seed=5)
    assert var[1, 0] == pytest.approx(2.0 * var[0, 0], rel=1e-12)
    np.testing.assert_array_equal(var[2], [0.0, 0.0])
    assert var[3, 0] == pytest.approx(-var[0, 1], rel=1e-9)
    assert var[0, 0] == pytest.approx(k.parametric_var(aapl, 0.99), rel=0.05)


def test_levels_keep_their_order_and_seeded_runs_repeat(stocks, weights):
    a = k.monte_carlo_var_many(stocks, weights, (0.99, 0.95), n_paths=5_000, seed=3)
    b = k.monte_carlo_var_many(stocks, weights, (0.95, 0.99), n_paths=5_000, seed=3)
    np.testing.assert_array_equal(a, b[:, ::-1])
    assert np.all(a[:, 0] > a[:, 1])  # 99% is further in the tail than 95%
    np.testing.assert_array_equal(a, k.monte_carlo_var_many(stocks, weights, (0.99, 0.95), n_paths=5_000, seed=3))
    assert not np.array_equal(a, k.monte_carlo_var_many(stocks, weights, (0.99, 0.95), n_paths=5_000, seed=4))
    fresh = [k.monte_carlo_var_many(stocks, weights[:1], 0.99, n_paths=5_000, seed=None)[0, 0] for _ in range(2)]
    assert fresh[0] != fresh[1]  # no seed: new draws every call


def test_large_simulations_are_drawn_in_chunks_with_the_same_stream(aapl):
    # more paths than one chunk of draws (and too many to memoise): same numbers as one big draw
    n_paths = 2_500_000
    var = k.monte_carlo_var_many(aapl, [[1.0]], 0.99, n_paths=n_paths, seed=2)[0, 0]
    assert var == pytest.approx(reference_mc_var(aapl.to_numpy()[:, None], [1.0], 0.99, n_paths, 1, 2), rel=1e-11)


def test_bad_weights_and_levels(stocks):
    with pytest.raises(ValueError, match="weights has 2 entries"):
        k.monte_carlo_var_many(stocks, np.ones((3, 2)))
    with pytest.raises(ValueError, match="weights contains 1 NaN"):
        k.monte_carlo_var_many(stocks, [[np.nan] + [0.2] * 5])
    with pytest.raises(ValueError, match="levels must be strictly between 0 and 1"):
        k.monte_carlo_var_many(stocks, np.ones((1, 6)), (0.95, 1.5))


def test_parametric_var_cvar_equals_the_separate_functions(stocks):
    var, cvar = k.parametric_var_cvar(stocks, 0.975)
    np.testing.assert_array_equal(var.to_numpy(), k.parametric_var(stocks, 0.975).to_numpy())
    np.testing.assert_array_equal(cvar.to_numpy(), k.parametric_cvar(stocks, 0.975).to_numpy())
