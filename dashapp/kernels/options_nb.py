"""Black-Scholes-Merton price and Greeks over flat float64 arrays.

Each input is either length n or length 1 (a scalar broadcast, stride 0), so the
wrapper never materialises broadcast copies of scalars. Conventions: vega and
rho per 1.00 change of vol / rate, theta per year of calendar time
(dV/dt = -dV/dT).

Speed: contracts are priced in blocks of BLOCK. Scalar (length-1) inputs are
expanded into small unit-stride scratch rows, then one branch-free loop (vectorisable exp/log,
Hart's rational for N(x)) prices every contract; only contracts with |d| >= 3
(where Hart's relative accuracy fades) or invalid inputs go through the scalar
path with ``math.erfc``. Block-parallel with ``prange``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dashapp.kernels._special_nb import (
    HART_MAX,
    INV_SQRT2,
    INV_SQRT_2PI,
    exp_vec,
    hart_lower_tail,
    log_vec,
)

BLOCK = 512


@njit(cache=True, error_model="numpy")
def _valid(S, K, T, v, r, q):
    return (0.0 < S < np.inf and 0.0 < K < np.inf and 0.0 < T < np.inf
            and 0.0 < v < np.inf and math.isfinite(r) and math.isfinite(q))


@njit(cache=True, error_model="numpy")
def _price_scalar(S, K, T, v, r, q, call, out, i):
    """Reference path (libm log/exp, erfc for N): any d, full relative accuracy."""
    if not _valid(S, K, T, v, r, q):
        for row in range(6):
            out[row, i] = np.nan
        return
    sqrt_t = math.sqrt(T)
    vs = v * sqrt_t
    d1 = (math.log(S / K) + (r - q + 0.5 * v * v) * T) / vs
    d2 = d1 - vs
    disc_q = math.exp(-q * T)
    disc_r = math.exp(-r * T)
    pdf1 = INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    s_dq = S * disc_q
    k_dr = K * disc_r
    sign = 1.0 if call else -1.0
    n1 = 0.5 * math.erfc(-sign * d1 * INV_SQRT2)
    n2 = 0.5 * math.erfc(-sign * d2 * INV_SQRT2)
    out[0, i] = sign * (s_dq * n1 - k_dr * n2)
    out[1, i] = sign * disc_q * n1
    out[2, i] = disc_q * pdf1 / (S * vs)
    out[3, i] = s_dq * pdf1 * sqrt_t
    out[4, i] = -s_dq * pdf1 * v / (2.0 * sqrt_t) + sign * (q * s_dq * n1 - r * k_dr * n2)
    out[5, i] = sign * K * T * disc_r * n2


@njit(cache=True, error_model="numpy")
def _block(src, i0, m, scratch):
    """src[i0:i0+m] as a view, or scratch[:m] filled with src[0] for a length-1
    (broadcast) input: the pricing loop always sees unit-stride arrays."""
    if src.shape[0] == 1:
        scratch[:m] = src[0]
        return scratch[:m]
    return src[i0:i0 + m]


@njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def black_scholes_nb(spot, strike, time, vol, rate, div, is_call, out):
    """Fill ``out`` (6, n) with price, delta, gamma, vega, theta, rho.

    Returns (n_invalid, first_invalid): a contract is invalid unless spot, strike,
    time, vol are finite and > 0 and rate, dividend yield finite; its outputs are
    NaN. ``out`` comes from the caller (NumPy backs large arrays with huge pages;
    48 MB of fresh pages allocated in numba would cost more than the pricing).
    """
    n = out.shape[1]
    n_blocks = (n + BLOCK - 1) // BLOCK
    bad_count = np.zeros(n_blocks, np.int64)
    bad_first = np.full(n_blocks, -1, np.int64)
    for b in prange(n_blocks):
        i0 = b * BLOCK
        m = min(n, i0 + BLOCK) - i0
        scratch = np.empty((7, BLOCK))
        S = _block(spot, i0, m, scratch[0])
        K = _block(strike, i0, m, scratch[1])
        T = _block(time, i0, m, scratch[2])
        V = _block(vol, i0, m, scratch[3])
        R = _block(rate, i0, m, scratch[4])
        Q = _block(div, i0, m, scratch[5])
        C = scratch[6, :m]
        if is_call.shape[0] == 1:
            C[:] = 1.0 if is_call[0] else -1.0
        else:
            calls = is_call[i0:i0 + m]
            for j in range(m):
                C[j] = 1.0 if calls[j] else -1.0
        redo = np.zeros(BLOCK, np.bool_)
        price = out[0, i0:i0 + m]
        delta = out[1, i0:i0 + m]
        gamma = out[2, i0:i0 + m]
        vega = out[3, i0:i0 + m]
        theta = out[4, i0:i0 + m]
        rho = out[5, i0:i0 + m]
        for j in range(m):  # branch-free: LLVM vectorises this loop
            s, k, t, v, r, q, sign = S[j], K[j], T[j], V[j], R[j], Q[j], C[j]
            sqrt_t = math.sqrt(t)
            vs = v * sqrt_t
            d1 = (log_vec(s / k) + (r - q + 0.5 * v * v) * t) / vs
            d2 = d1 - vs
            disc_q = exp_vec(-q * t)
            disc_r = exp_vec(-r * t)
            pdf1 = INV_SQRT_2PI * exp_vec(-0.5 * d1 * d1)
            s_dq = s * disc_q
            k_dr = k * disc_r
            pdf2 = pdf1 * s_dq / k_dr  # K e^{-rT} pdf(d2) = S e^{-qT} pdf(d1)
            x1 = sign * d1
            x2 = sign * d2
            t1 = hart_lower_tail(abs(x1), pdf1)
            t2 = hart_lower_tail(abs(x2), pdf2)
            n1 = t1 if x1 < 0.0 else 1.0 - t1
            n2 = t2 if x2 < 0.0 else 1.0 - t2
            price[j] = sign * (s_dq * n1 - k_dr * n2)
            delta[j] = sign * disc_q * n1
            gamma[j] = disc_q * pdf1 / (s * vs)
            vega[j] = s_dq * pdf1 * sqrt_t
            theta[j] = -s_dq * pdf1 * v / (2.0 * sqrt_t) + sign * (q * s_dq * n1 - r * k_dr * n2)
            rho[j] = sign * k * t * disc_r * n2
            # Any NaN/inf/non-positive input except a negative vol makes d1 or d2
            # NaN/inf (log_vec, sqrt and exp_vec propagate), so this one test
            # also routes every invalid contract to the checked scalar path.
            redo[j] = not ((v > 0.0) & (abs(d1) < HART_MAX) & (abs(d2) < HART_MAX))
        for j in range(m):
            if redo[j]:
                i = i0 + j
                _price_scalar(S[j], K[j], T[j], V[j], R[j], Q[j], C[j] > 0.0, out, i)
                if not _valid(S[j], K[j], T[j], V[j], R[j], Q[j]):
                    if bad_first[b] < 0:
                        bad_first[b] = i
                    bad_count[b] += 1
    first = -1
    for b in range(n_blocks):
        if bad_first[b] >= 0:
            first = bad_first[b]
            break
    return bad_count.sum(), first
