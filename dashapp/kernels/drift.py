"""Feature drift of a current sample against a reference (training) sample, per column.

* PSI: population stability index on `bins` quantile bins of the reference (edges at reference order
  statistics; proportions floored at `eps` so an empty bin is finite). Hand-checked in the tests.
* KS: two-sample Kolmogorov-Smirnov statistic, same as ``scipy.stats.ks_2samp(ref, cur).statistic``.
* W1: Wasserstein-1 distance, same as ``scipy.stats.wasserstein_distance(ref, cur)``; also divided by the
  reference's standard deviation so features on different scales compare.
* p-value: KS under a block permutation of the pooled series (reference rows then current rows, in time
  order) in blocks of `block` rows: autocorrelated features do not look drifted just because neighbouring
  rows agree. ``drifted`` needs that p-value below `alpha` AND an effect size (KS) at least `ks_floor`, so a
  huge sample does not flag a negligible shift.
Inputs: 1-D (one feature) or 2-D (rows, features) finite float arrays; NaN/inf raise ValueError.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashapp.kernels import drift_nb

COLUMNS = ("psi", "ks", "w1", "w1_std", "p_value")
EXACT_UP_TO = 5_000


def _matrix(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise ValueError(f"{name} must be 1-D or 2-D with at least 2 rows")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or inf values")
    return np.ascontiguousarray(a)


def default_block(n: int) -> int:
    return int(min(500, max(5, round(math.sqrt(n)))))


def drift_table(ref, cur, *, bins: int = 10, eps: float = 1e-4, block: int | None = None, n_perm: int = 199,
                seed: int = 0, alpha: float = 0.01, ks_floor: float = 0.1, names=None,
                exact_up_to: int = EXACT_UP_TO) -> pd.DataFrame:
    """One row per feature: psi, ks, w1, w1_std, p_value and drifted (bool). The p-value is exact (every
    row permuted with its block) up to `exact_up_to` pooled rows and on a 64-point quantile grid beyond
    (whole blocks move; KS read at the grid), which keeps a month of minutes per feature cheap."""
    a, b = _matrix(ref, "ref"), _matrix(cur, "cur")
    if a.shape[1] != b.shape[1]:
        raise ValueError("ref and cur must have the same number of columns")
    if not 2 <= bins <= 100:
        raise ValueError("bins must be in 2..100")
    if not 0 <= n_perm <= 10_000:
        raise ValueError("n_perm must be in 0..10000")
    block = default_block(a.shape[0] + b.shape[0]) if block is None else int(block)
    if block < 1:
        raise ValueError("block must be >= 1")
    a_t, b_t = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    out = drift_nb.drift_matrix_nb(a_t, b_t, np.sort(a_t, axis=1), np.sort(b_t, axis=1), int(bins), float(eps),
                                   block, int(n_perm), int(seed), int(exact_up_to))
    names = list(names) if names is not None else (list(ref.columns) if isinstance(ref, pd.DataFrame)
                                                   else [f"x{i}" for i in range(a.shape[1])])
    table = pd.DataFrame(out, columns=list(COLUMNS), index=pd.Index(names, name="feature"))
    table["drifted"] = (table["p_value"] < alpha) & (table["ks"] >= ks_floor) if n_perm else table["ks"] >= ks_floor
    return table


def psi(ref, cur, bins: int = 10, eps: float = 1e-4) -> float:
    a, b = _matrix(ref, "ref"), _matrix(cur, "cur")
    return float(drift_nb.psi_sorted_nb(np.sort(a[:, 0]), np.sort(b[:, 0]), int(bins), float(eps)))


def psi_from_proportions(expected, actual, eps: float = 1e-4) -> float:
    """PSI of two binned distributions: sum (a - e) * ln(a / e), proportions floored at eps."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    a = np.maximum(np.asarray(actual, dtype=np.float64), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def ks(ref, cur) -> float:
    return float(drift_nb.ks_sorted_nb(np.sort(_matrix(ref, "ref")[:, 0]), np.sort(_matrix(cur, "cur")[:, 0])))


def wasserstein1(ref, cur) -> float:
    return float(drift_nb.w1_sorted_nb(np.sort(_matrix(ref, "ref")[:, 0]), np.sort(_matrix(cur, "cur")[:, 0])))


def ks_block_pvalue(ref, cur, block: int | None = None, n_perm: int = 199, seed: int = 0,
                    grid: int | None = None) -> float:
    """Block-permutation p-value of KS; `grid` (e.g. 256) uses the quantile-grid variant."""
    a, b = _matrix(ref, "ref")[:, 0].copy(), _matrix(cur, "cur")[:, 0].copy()
    block = default_block(len(a) + len(b)) if block is None else int(block)
    if grid:
        return float(drift_nb.block_perm_ks_pvalue_grid_nb(a, b, np.sort(a), np.sort(b), block, int(n_perm),
                                                           int(seed), int(grid)))
    return float(drift_nb.block_perm_ks_pvalue_nb(a, b, block, int(n_perm), int(seed)))


def psi_heatmap(ref, cur, slice_starts, bins: int = 10, eps: float = 1e-4) -> np.ndarray:
    """(features, slices) PSI of each consecutive slice of `cur` (row offsets, increasing, last = len)."""
    a, b = _matrix(ref, "ref"), _matrix(cur, "cur")
    starts = np.asarray(slice_starts, dtype=np.int64)
    if starts.ndim != 1 or len(starts) < 2 or starts[0] < 0 or starts[-1] > len(b) or np.any(np.diff(starts) < 0):
        raise ValueError("slice_starts must be increasing row offsets within cur")
    return drift_nb.psi_slices_nb(a, b, starts, int(bins), float(eps))
