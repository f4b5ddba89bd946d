"""Numba helpers shared by the kernel modules: only NumPy arrays in and out.

Layout rule used throughout: a (T, N) array is C-contiguous, so a column-wise
reduction walks rows in the outer loop and columns in the inner loop (unit
stride, vectorisable), and ``prange`` splits the columns into blocks so each
thread streams its own slice of every row.

All kernels use ``error_model="numpy"``: a float division by zero gives inf/NaN
instead of raising, which removes a branch per division so loops vectorise;
zero denominators that mean something are handled explicitly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Narrow column blocks stream poorly (a short run per row, then a jump of a
# whole row: TLB misses, broken prefetch), so each thread takes ONE contiguous
# block of columns (at least MIN_BLOCK wide) and walks all rows once.
MIN_BLOCK = 256
N_CHUNKS = 32


@njit(cache=True, error_model="numpy")
def column_block_size(n_cols, n_threads):
    """Columns per parallel block: n_cols / n_threads, at least MIN_BLOCK.

    ``n_threads`` comes from the wrapper (numba.get_num_threads() inside a
    kernel would defeat cache=True).
    """
    return max(MIN_BLOCK, (n_cols + n_threads - 1) // max(1, n_threads))


@njit(cache=True, parallel=True, error_model="numpy")
def first_nonfinite_nb(flat):
    """Flat index of the first NaN/inf in ``flat``, or -1 if all values are finite."""
    n = flat.shape[0]
    n_chunks = max(1, min(N_CHUNKS, n // 4096))
    chunk = (n + n_chunks - 1) // n_chunks
    firsts = np.full(n_chunks, -1, np.int64)
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        # x - x is 0 for finite x and NaN otherwise; 4 independent sums keep the
        # loop vectorisable without fastmath (which would assume no NaN).
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        i = lo
        while i + 4 <= hi:
            s0 += flat[i] - flat[i]
            s1 += flat[i + 1] - flat[i + 1]
            s2 += flat[i + 2] - flat[i + 2]
            s3 += flat[i + 3] - flat[i + 3]
            i += 4
        while i < hi:
            s0 += flat[i] - flat[i]
            i += 1
        if s0 + s1 + s2 + s3 != 0.0:
            for i in range(lo, hi):
                if not math.isfinite(flat[i]):
                    firsts[c] = i
                    break
    for c in range(n_chunks):
        if firsts[c] >= 0:
            return firsts[c]
    return -1


@njit(cache=True, error_model="numpy")
def quantile_position(n, q):
    """NumPy 'linear' quantile: virtual index (n - 1) * q split into (k, fraction)."""
    h = (n - 1) * q
    k = int(math.floor(h))
    if k >= n - 1:
        return n - 1, 0.0
    if k < 0:
        return 0, 0.0
    return k, h - k


@njit(cache=True, error_model="numpy")
def lerp(lo, hi, t):
    """Linear interpolation written exactly like numpy's ``_lerp`` (same rounding)."""
    diff = hi - lo
    if t >= 0.5:
        return hi - diff * (1.0 - t)
    return lo + diff * t


@njit(cache=True, error_model="numpy")
def select_kth(x, k):
    """Reorder ``x`` in place so x[k] is its k-th smallest, x[:k] <= x[k] <= x[k+1:].

    Quickselect with median-of-three pivots and Hoare partitioning (duplicates
    split evenly); falls back to sorting the remaining range if the recursion
    depth suggests an adversarial order, so the worst case is O(n log n).
    """
    lo = 0
    hi = x.shape[0] - 1
    depth_left = 2 * int(math.log2(x.shape[0] + 1)) + 8
    while hi > lo:
        if depth_left == 0:
            x[lo:hi + 1] = np.sort(x[lo:hi + 1])
            return
        depth_left -= 1
        mid = (lo + hi) >> 1
        a = x[lo]
        b = x[mid]
        c = x[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while x[i] < pivot:
                i += 1
            while x[j] > pivot:
                j -= 1
            if i <= j:
                tmp = x[i]
                x[i] = x[j]
                x[j] = tmp
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@njit(cache=True, error_model="numpy")
def quantile_inplace(x, q):
    """NumPy-default (linear) quantile of ``x``; reorders ``x``. Returns (value, k)."""
    n = x.shape[0]
    k, frac = quantile_position(n, q)
    select_kth(x, k)
    lo = x[k]
    if frac == 0.0 or k + 1 >= n:
        return lo, k
    hi = x[k + 1]
    for i in range(k + 2, n):
        if x[i] < hi:
            hi = x[i]
    return lerp(lo, hi, frac), k


@njit(cache=True, error_model="numpy")
def gather_columns(a, j0, j1, out):
    """Copy a[:, j0:j1] transposed into out[:j1-j0, :T] (rows outer: unit-stride reads)."""
    T = a.shape[0]
    for t in range(T):
        for j in range(j0, j1):
            out[j - j0, t] = a[t, j]


@njit(cache=True, parallel=True, error_model="numpy")
def column_moments_nb(a, ddof, higher, n_threads):
    """Per column: mean, std (``ddof``), and if ``higher`` the biased skewness and
    excess kurtosis (scipy.stats.skew / kurtosis defaults). Two passes (mean, then
    centred powers) for accuracy; a column whose min equals its max reports std,
    skew and kurtosis of exactly 0 instead of rounding residue.
    """
    T, N = a.shape
    mean = np.zeros(N)
    std = np.zeros(N)
    skew = np.zeros(N)
    kurt = np.zeros(N)
    bs = column_block_size(N, n_threads)
    n_blocks = (N + bs - 1) // bs
    for b in prange(n_blocks):
        j0 = b * bs
        j1 = min(N, j0 + bs)
        lo = a[0, j0:j1].copy()
        hi = a[0, j0:j1].copy()
        s1 = np.zeros(j1 - j0)
        for t in range(T):
            for j in range(j0, j1):
                x = a[t, j]
                s1[j - j0] += x
                lo[j - j0] = min(lo[j - j0], x)
                hi[j - j0] = max(hi[j - j0], x)
        m = s1 / T
        s2 = np.zeros(j1 - j0)
        s3 = np.zeros(j1 - j0)
        s4 = np.zeros(j1 - j0)
        for t in range(T):
            for j in range(j0, j1):
                d = a[t, j] - m[j - j0]
                d2 = d * d
                s2[j - j0] += d2
                if higher:
                    s3[j - j0] += d2 * d
                    s4[j - j0] += d2 * d2
        for j in range(j0, j1):
            jj = j - j0
            mean[j] = m[jj]
            if lo[jj] == hi[jj]:
                continue  # constant column: dispersion is exactly zero
            std[j] = math.sqrt(s2[jj] / (T - ddof)) if T > ddof else np.nan
            if higher:
                m2 = s2[jj] / T
                skew[j] = (s3[jj] / T) / m2 ** 1.5
                kurt[j] = (s4[jj] / T) / (m2 * m2) - 3.0
    return mean, std, skew, kurt
