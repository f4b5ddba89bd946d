"""Portfolio structure: concentration, correlation, exposure by group."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dashapp.kernels import portfolio_nb
from dashapp.kernels._validate import (
    as_returns,
    check_positive_int,
    require_finite,
    to_float_array,
)


class Concentration(NamedTuple):
    """Concentration of gross weight (floats for one portfolio, arrays for several).

    hhi: Herfindahl-Hirschman index sum(w_i^2) of |w| / sum|w|, in [1/N, 1].
    effective_n: 1 / hhi, the number of equal positions with the same HHI.
    top_n_share: share of gross weight held by the ``top_n`` largest |w|.
    """

    hhi: Any
    effective_n: Any
    top_n_share: Any


def concentration(weights, top_n: int = 5) -> Concentration:
    """HHI, effective N and top-N share of a portfolio's gross weights.

    ``weights``: 1-D (N,) for one portfolio, or (P, N) with one portfolio per row
    (e.g. a weights history). Weights may be signed or in currency; they are taken
    by absolute value and normalised by the gross sum, so shorts count as
    concentration. A portfolio with zero gross weight gives NaN. Reference:
    ``(w / w.sum())**2`` summed, in tests.
    """
    top_n = check_positive_int(top_n, "top_n")
    w = to_float_array(weights, "weights")
    if w.ndim not in (1, 2) or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D (N,) or 2-D (P, N) array; got shape {w.shape}")
    w2 = np.ascontiguousarray(w.reshape(-1, w.shape[-1]))
    require_finite(w2, "weights")
    hhi, eff, top = portfolio_nb.concentration_nb(w2, top_n)
    if w.ndim == 1:
        return Concentration(float(hhi[0]), float(eff[0]), float(top[0]))
    if isinstance(weights, pd.DataFrame):
        idx = weights.index
        return Concentration(pd.Series(hhi, idx), pd.Series(eff, idx), pd.Series(top, idx))
    return Concentration(hhi, eff, top)


def correlation_matrix(returns) -> np.ndarray | pd.DataFrame:
    """Pearson correlation matrix (N, N) of the columns of ``returns`` (T, N).

    Same as ``np.corrcoef(returns, rowvar=False)`` and ``DataFrame.corr()``;
    values clipped to [-1, 1]; a constant column gives a NaN row and column.
    Needs T >= 2. A DataFrame gives a DataFrame labelled by its columns.
    """
    a, shape = as_returns(returns, min_periods=2)
    z = portfolio_nb.standardize_columns_nb(a)
    corr = np.clip(z.T @ z, -1.0, 1.0)
    if shape.columns is not None:
        return pd.DataFrame(corr, index=shape.columns, columns=shape.columns)
    return corr


def exposure_by(values, groups, gross: bool = False) -> pd.Series | pd.DataFrame:
    """Sum position values by group (sector, currency, country, ...).

    ``values``: (N,) position values (signed market value or weights) or (T, N)
    with one row per date. ``groups``: N labels, one per position. Returns a
    Series indexed by the sorted unique labels (a DataFrame with one column per
    label for 2-D values, keeping a DataFrame's index). ``gross=True`` sums |value|
    instead of the signed net. Reference: ``pd.Series(values).groupby(groups).sum()``.
    """
    v = to_float_array(values, "values")
    if v.ndim not in (1, 2) or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-D (N,) or 2-D (T, N) array; got shape {v.shape}")
    labels = np.asarray(groups.to_numpy() if isinstance(groups, (pd.Series, pd.Index)) else groups, dtype=object)
    if labels.ndim != 1 or labels.shape[0] != v.shape[-1]:
        raise ValueError(f"groups must hold one label per position ({v.shape[-1]}); got shape {labels.shape}")
    if pd.isna(labels).any():
        raise ValueError("groups contains missing labels (None/NaN); label every position")
    v2 = np.ascontiguousarray(v.reshape(-1, v.shape[-1]))
    require_finite(v2, "values")
    uniques, codes = np.unique(labels.astype(str) if _mixed(labels) else labels, return_inverse=True)
    out = portfolio_nb.group_sum_nb(v2, codes.astype(np.int64), len(uniques), bool(gross))
    names = pd.Index(uniques, name="group")
    if v.ndim == 1:
        return pd.Series(out[0], index=names, name="gross" if gross else "net")
    index = values.index if isinstance(values, pd.DataFrame) else None
    return pd.DataFrame(out, index=index, columns=names)


def _mixed(labels: np.ndarray) -> bool:
    """Labels of different types cannot be sorted together; compare them as text."""
    return len({type(x) for x in labels}) > 1
