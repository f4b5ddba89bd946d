"""Drift kernels and gate statistics against named references: scipy.stats.ks_2samp and
wasserstein_distance, a hand-computed PSI, the deflated Sharpe ratio's worked example (Bailey & Lopez de
Prado 2014) and Diebold-Mariano with the HLN correction against its formula and scipy's one-sample t test."""
import math

import numpy as np
import pytest
from scipy import stats

from dashapp.kernels import drift, validation_stats as vs


@pytest.mark.parametrize("kind", ["continuous", "ties", "unequal_sizes"])
def test_ks_and_w1_match_scipy(kind):
    rng = np.random.default_rng(3)
    if kind == "continuous":
        a, b = rng.normal(size=400), rng.normal(0.3, 1.2, size=400)
    elif kind == "ties":
        a, b = rng.integers(0, 5, 300).astype(float), rng.integers(0, 7, 250).astype(float)
    else:
        a, b = rng.standard_t(3, size=1000), rng.normal(size=37)
    assert drift.ks(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert drift.wasserstein1(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-10)
    table = drift.drift_table(np.c_[a[:37], a[:37]], np.c_[b[:37], b[:37]], n_perm=0)
    assert table["ks"].iloc[0] == pytest.approx(stats.ks_2samp(a[:37], b[:37]).statistic)


def test_psi_hand_computed():
    # Reference 0..9 repeated: ten deciles of 10% each. Current: 50 values in the lowest decile (0), 50 in the
    # highest (9): proportions 0.5, 0 (floored at 1e-4) x 8, 0.5.
    ref = np.repeat(np.arange(10.0), 10)
    cur = np.r_[np.zeros(50), np.full(50, 9.0)]
    by_hand = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert drift.psi(ref, cur) == pytest.approx(by_hand, rel=1e-12)
    assert drift.psi_from_proportions([0.1] * 10, [0.5] + [0] * 8 + [0.5]) == pytest.approx(by_hand, rel=1e-12)
    assert drift.psi(ref, ref) == pytest.approx(0.0, abs=1e-15)


def test_block_permutation_resists_autocorrelation_and_effect_floor_resists_size():
    rng = np.random.default_rng(5)
    # A slow AR(1) with no change in distribution: an i.i.d. KS test flags it, the block test should not.
    x = np.empty(2000)
    x[0] = 0.0
    for i in range(1, 2000):
        x[i] = 0.98 * x[i - 1] + rng.normal() * 0.2
    ref, cur = x[:1000], x[1000:]
    assert stats.ks_2samp(ref, cur).pvalue < 0.01
    assert drift.ks_block_pvalue(ref, cur, block=100, n_perm=199, seed=1) > 0.01
    # A tiny shift on a huge sample: significant but under the effect-size floor, so not "drifted".
    big_ref, big_cur = rng.normal(size=(200_000, 1)), rng.normal(0.02, 1, size=(200_000, 1))
    table = drift.drift_table(big_ref, big_cur, n_perm=19, block=50)
    assert table["p_value"].iloc[0] <= 0.05 and not table["drifted"].iloc[0]
    shifted = drift.drift_table(big_ref[:2000], big_ref[:2000] + 1.0, n_perm=199, block=20)
    assert shifted["drifted"].iloc[0]


def test_heatmap_shape_and_validation():
    rng = np.random.default_rng(1)
    heat = drift.psi_heatmap(rng.normal(size=(100, 3)), rng.normal(size=(60, 3)), [0, 20, 40, 60])
    assert heat.shape == (3, 3) and np.isfinite(heat).all()
    with pytest.raises(ValueError, match="NaN"):
        drift.drift_table([1.0, np.nan, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="slice_starts"):
        drift.psi_heatmap(np.ones((5, 1)), np.ones((5, 1)), [0, 9])


def test_deflated_sharpe_matches_the_papers_worked_example():
    dsr, sr0 = vs.deflated_sharpe_ratio(2.5 / math.sqrt(250), 100, 0.5 / 250, 1250, -3.0, 10.0)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    assert vs.expected_max_sharpe(1, 0.3) == 0.0  # one trial: nothing to deflate
    more_trials, _ = vs.deflated_sharpe_ratio(2.5 / math.sqrt(250), 1000, 0.5 / 250, 1250, -3.0, 10.0)
    assert more_trials < dsr


def _dm_reference(d, h):
    t = len(d)
    m = sum(d) / t
    gam = [sum((d[i] - m) * (d[i - k] - m) for i in range(k, t)) / t for k in range(h)]
    dm = m / math.sqrt((gam[0] + 2 * sum(gam[1:])) / t)
    return dm * math.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)


@pytest.mark.parametrize("h", [1, 2, 4])
def test_diebold_mariano_matches_formula_and_t_test(h):
    rng = np.random.default_rng(11)
    l1, l2 = rng.normal(1.0, 1, 80) ** 2, rng.normal(0.8, 1, 80) ** 2
    out = vs.diebold_mariano(l1, l2, h=h)
    assert out["statistic"] == pytest.approx(_dm_reference(list(l1 - l2), h), rel=1e-10)
    assert out["p_two_sided"] == pytest.approx(2 * stats.t.sf(abs(out["statistic"]), 79), rel=1e-10)
    if h == 1:
        ref = stats.ttest_1samp(l1 - l2, 0.0)
        assert out["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
        assert out["p_two_sided"] == pytest.approx(ref.pvalue, rel=1e-10)
    with pytest.raises(ValueError):
        vs.diebold_mariano(l1[:2], l2[:2])


def test_grid_block_permutation_for_long_samples_agrees_with_the_exact_one():
    rng = np.random.default_rng(9)
    x = np.empty(12_000)
    x[0] = 0.0
    for i in range(1, len(x)):
        x[i] = 0.995 * x[i - 1] + rng.normal() * 0.1
    exact = drift.ks_block_pvalue(x[:6000], x[6000:], block=300, n_perm=199, seed=2)
    grid = drift.ks_block_pvalue(x[:6000], x[6000:], block=300, n_perm=199, seed=2, grid=64)
    assert exact > 0.01 and grid > 0.01 and abs(exact - grid) < 0.15
    y = rng.normal(size=12_000)
    assert drift.ks_block_pvalue(y[:6000], y[6000:] + 0.2, n_perm=199, grid=64) <= 0.01
    # drift_table switches to the grid above exact_up_to rows and still flags a real shift
    table = drift.drift_table(y[:6000], y[6000:] + 0.5, n_perm=199, exact_up_to=1000)
    assert table["drifted"].iloc[0] and table["ks"].iloc[0] == pytest.approx(
        stats.ks_2samp(y[:6000], y[6000:] + 0.5).statistic)
