"""Input validation and output shaping shared by the kernel wrappers.

The ``*_nb`` modules only ever see C-contiguous ``np.float64`` arrays of a
known rank; everything about pandas, shapes and error messages lives here so
the wrappers stay thin. Every problem is reported as ``ValueError`` with a
message that names the argument and says what is wrong.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Hashable

import numba
import numpy as np
import pandas as pd

from dashapp.kernels._common_nb import first_nonfinite_nb


@dataclass(frozen=True)
class Shape:
    """How the caller's input looked, so results can be given back the same way."""

    is_1d: bool
    index: pd.Index | None = None
    columns: pd.Index | None = None
    name: Hashable | None = None


def threads() -> int:
    """Threads numba may use now (NUMBA_NUM_THREADS / numba.set_num_threads); kernels
    split columns into this many contiguous blocks."""
    return numba.get_num_threads()


def to_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 ndarray (not yet reshaped), or ValueError naming ``name``."""
    if isinstance(x, (pd.Series, pd.DataFrame)):
        x = x.to_numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    return arr


def _describe_position(arr: np.ndarray, flat_pos: int, shape: Shape | None) -> str:
    if arr.ndim <= 1:
        if shape is not None and shape.index is not None:
            return f"at index label {shape.index[flat_pos]!r}"
        return f"at position {flat_pos}"
    row, col = divmod(flat_pos, arr.shape[1])
    row_label = shape.index[row] if shape is not None and shape.index is not None else row
    col_label = shape.columns[col] if shape is not None and shape.columns is not None else col
    return f"at row {row_label!r}, column {col_label!r}"


def require_finite(arr: np.ndarray, name: str, shape: Shape | None = None) -> None:
    """ValueError when ``arr`` holds NaN or +-inf (one parallel pass, no temporaries)."""
    pos = first_nonfinite_nb(arr.reshape(-1))
    if pos >= 0:
        raise_nonfinite(arr, name, pos, shape)


def raise_nonfinite(arr: np.ndarray, name: str, flat_pos: int, shape: Shape | None = None) -> None:
    count = int(np.count_nonzero(~np.isfinite(arr)))
    where = _describe_position(arr, flat_pos, shape)
    raise ValueError(
        f"{name} contains {count} NaN/inf value(s), first {where}; "
        "drop or fill missing values before calling this kernel"
    )


def raise_nonfinite_columns(arr2d: np.ndarray, name: str, bad_columns: np.ndarray, shape: Shape) -> None:
    """Report the first non-finite value of the first column a fused kernel flagged."""
    col = int(np.flatnonzero(bad_columns)[0])
    row = int(np.flatnonzero(~np.isfinite(arr2d[:, col]))[0])
    if shape.is_1d:
        raise_nonfinite(arr2d[:, 0], name, row, shape)
    raise_nonfinite(arr2d, name, row * arr2d.shape[1] + col, shape)


def as_returns(returns: Any, name: str = "returns", min_periods: int = 1,
               check_finite: bool = True) -> tuple[np.ndarray, Shape]:
    """Validate periodic returns; give back a C-contiguous (T, N) float64 array and its Shape.

    1-D input becomes (T, 1). ``check_finite=False`` is for kernels that detect
    NaN/inf themselves inside their single pass (the caller must then check).
    """
    if isinstance(returns, pd.DataFrame):
        shape = Shape(False, returns.index, returns.columns)
    elif isinstance(returns, pd.Series):
        shape = Shape(True, returns.index, None, returns.name)
    else:
        shape = Shape(np.ndim(returns) == 1)
    arr = to_float_array(returns, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (T,) or 2-D (T, N); got {arr.ndim}-D shape {arr.shape}")
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least {min_periods} period(s)")
    if arr.shape[0] < min_periods:
        raise ValueError(f"{name} has {arr.shape[0]} period(s); this metric needs at least {min_periods}")
    arr2d = np.ascontiguousarray(arr.reshape(arr.shape[0], -1))
    if check_finite:
        require_finite(arr2d if not shape.is_1d else arr2d[:, 0], name, shape)
    return arr2d, shape


def check_level(level: Any, name: str = "level") -> float:
    """Confidence level strictly inside (0, 1), e.g. 0.99."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise ValueError(f"{name} must be a number in (0, 1), e.g. 0.99; got {level!r}")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1 (e.g. 0.99 for 99%); got {level}")
    return level


def check_window(window: Any, n_periods: int, name: str = "window") -> int:
    """Rolling window length: an integer with 2 <= window <= T."""
    if isinstance(window, bool) or not isinstance(window, numbers.Integral):
        raise ValueError(f"{name} must be an integer number of periods; got {window!r}")
    window = int(window)
    if window < 2:
        raise ValueError(f"{name} must be >= 2 periods; got {window}")
    if window > n_periods:
        raise ValueError(f"{name}={window} is longer than the series ({n_periods} periods)")
    return window


def check_positive_number(value: Any, name: str) -> float:
    """A finite number > 0 (e.g. periods_per_year)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def check_finite_number(value: Any, name: str) -> float:
    """A finite scalar (e.g. risk_free, threshold)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def reduce_out(values: np.ndarray, shape: Shape) -> float | np.ndarray | pd.Series:
    """One value per column -> float (1-D input), Series (DataFrame input) or ndarray."""
    if shape.is_1d:
        return float(values[0])
    if shape.columns is not None:
        return pd.Series(values, index=shape.columns)
    return values


def series_out(values2d: np.ndarray, shape: Shape) -> np.ndarray | pd.Series | pd.DataFrame:
    """A (T, N) result -> (T,) / (T, N) ndarray, Series or DataFrame like the input."""
    if shape.is_1d:
        col = values2d[:, 0]
        if shape.index is not None:
            return pd.Series(col, index=shape.index, name=shape.name)
        return col
    if shape.columns is not None:
        return pd.DataFrame(values2d, index=shape.index, columns=shape.columns)
    return values2d
