"""Black-Scholes-Merton European option price and Greeks, vectorised.

Inputs broadcast against each other like NumPy arrays (scalars, vectors, grids),
so one call prices millions of contracts. Units and conventions:

* ``time`` in years, ``vol`` annualised (0.2 = 20%), ``rate`` and
  ``dividend_yield`` continuously compounded annual rates.
* ``delta`` per 1.00 of spot, ``gamma`` per 1.00 of spot squared.
* ``vega`` per 1.00 change of vol (divide by 100 for "per vol point").
* ``theta`` per YEAR of calendar time, dV/dt = -dV/dT (divide by 365 or 252
  for per-day); negative for a typical long option.
* ``rho`` per 1.00 change of ``rate`` (divide by 100 for per 1%).

References: closed forms in Hull, "Options, Futures and Other Derivatives",
checked in tests against scipy.stats.norm, put-call parity and central finite
differences.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dashapp.kernels import options_nb
from dashapp.kernels._validate import to_float_array


class Greeks(NamedTuple):
    """Price and Greeks, each an ndarray of the broadcast input shape (float for
    all-scalar input)."""

    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    theta: np.ndarray
    rho: np.ndarray


_NAMES = ("spot", "strike", "time", "vol", "rate", "dividend_yield", "is_call")


def _flat(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Length-1 for a scalar-like input (the kernel broadcasts it with stride 0),
    otherwise a C-contiguous flat copy/view of the full broadcast shape."""
    flat = (np.ascontiguousarray(arr.reshape(1)) if arr.size == 1
            else np.ascontiguousarray(np.broadcast_to(arr, shape)).reshape(-1))
    # Always a read-only view: numba compiles one specialisation per read-only/writable mix of the
    # arguments (a broadcast view is read-only, a scalar or a strided copy is not), each compile
    # taking seconds, so the type must not depend on how the caller passed its inputs.
    flat = flat.view()
    flat.flags.writeable = False
    return flat


def black_scholes(spot, strike, time, vol, rate, dividend_yield=0.0, is_call=True) -> Greeks:
    """Price, delta, gamma, vega, theta, rho of European calls/puts (see module doc).

    ``is_call`` is a bool or a bool array (True = call, False = put). Every spot,
    strike, time and vol must be finite and > 0 (price expired options at
    intrinsic value yourself); rate and dividend_yield must be finite. Any
    violation raises ValueError naming the first offending contract.
    """
    raw = [to_float_array(x, name) for x, name in zip((spot, strike, time, vol, rate, dividend_yield),
                                                      _NAMES[:6])]
    calls = np.asarray(is_call)
    if calls.dtype != np.bool_:
        raise ValueError(f"is_call must be a bool or bool array (True = call); got dtype {calls.dtype}")
    try:
        shape = np.broadcast_shapes(*(x.shape for x in raw), calls.shape)
    except ValueError:
        shapes = ", ".join(f"{n}{x.shape}" for n, x in zip(_NAMES, raw + [calls]))
        raise ValueError(f"inputs cannot be broadcast together: {shapes}") from None
    n = int(np.prod(shape))
    if n == 0:
        raise ValueError(f"inputs are empty (broadcast shape {shape})")
    flat = [_flat(x, shape) for x in raw]
    flat_calls = _flat(calls, shape)
    out = np.empty((6, n))
    n_bad, first = options_nb.black_scholes_nb(*flat, flat_calls, out)
    if n_bad:
        pos = np.unravel_index(first, shape) if shape else ()
        values = {name: float(x[first if x.shape[0] > 1 else 0]) for name, x in zip(_NAMES, flat)}
        raise ValueError(
            f"{n_bad} contract(s) have invalid inputs (spot, strike, time, vol must be finite and > 0; "
            f"rate, dividend_yield finite); first at index {tuple(int(i) for i in pos)}: {values}"
        )
    outs = [x.reshape(shape) for x in out]
    if shape == ():
        outs = [float(x) for x in outs]
    return Greeks(*outs)
