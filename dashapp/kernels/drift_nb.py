"""numba kernels for feature drift: PSI, the two-sample KS statistic, Wasserstein-1, and a block
permutation p-value for KS (blocks of consecutive rows keep their autocorrelation). Arrays only."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

GRID = 64  # quantile grid points of the long-sample p-value (KS read every ~1.6% of the pooled mass)


@njit(cache=True)
def ks_sorted_nb(a, b):
    """sup |F_a - F_b| of two sorted samples (scipy.stats.ks_2samp's statistic)."""
    na, nb = a.shape[0], b.shape[0]
    i = 0
    j = 0
    d = 0.0
    while i < na and j < nb:
        v = a[i] if a[i] <= b[j] else b[j]
        while i < na and a[i] <= v:
            i += 1
        while j < nb and b[j] <= v:
            j += 1
        diff = abs(i / na - j / nb)
        if diff > d:
            d = diff
    return d


@njit(cache=True)
def w1_sorted_nb(a, b):
    """Integral of |F_a - F_b| (scipy.stats.wasserstein_distance of two sorted samples)."""
    na, nb = a.shape[0], b.shape[0]
    i = 0
    j = 0
    prev = a[0] if a[0] <= b[0] else b[0]
    total = 0.0
    while i < na or j < nb:
        if j >= nb or (i < na and a[i] <= b[j]):
            v = a[i]
        else:
            v = b[j]
        total += abs(i / na - j / nb) * (v - prev)
        prev = v
        while i < na and a[i] <= v:
            i += 1
        while j < nb and b[j] <= v:
            j += 1
    return total


@njit(cache=True)
def psi_sorted_nb(a, b, bins, eps):
    """Population stability index of b against a, on `bins` quantile bins of a (edges at the order
    statistics a[floor(k * n / bins)]; a value equal to an edge falls in the upper bin)."""
    na, nb = a.shape[0], b.shape[0]
    edges = np.empty(bins - 1)
    for k in range(1, bins):
        edges[k - 1] = a[(k * na) // bins]
    total = 0.0
    ia = 0
    ib = 0
    for k in range(bins):
        ca = 0
        cb = 0
        if k < bins - 1:
            hi = edges[k]
            while ia < na and a[ia] < hi:
                ia += 1
                ca += 1
            while ib < nb and b[ib] < hi:
                ib += 1
                cb += 1
        else:
            ca = na - ia
            cb = nb - ib
        pa = max(ca / na, eps)
        pb = max(cb / nb, eps)
        total += (pb - pa) * np.log(pb / pa)
    return total


@njit(cache=True)
def block_perm_ks_pvalue_nb(ref, cur, block, n_perm, seed):
    """p-value of KS(ref, cur) under random reorderings of whole blocks of the pooled series (ref then
    cur, in time order). One sort, then O(n) per permutation: ranks are fixed, only membership moves."""
    n_ref, n_cur = ref.shape[0], cur.shape[0]
    n = n_ref + n_cur
    z = np.empty(n)
    z[:n_ref] = ref
    z[n_ref:] = cur
    order = np.argsort(z, kind="mergesort")
    # Per sorted position: its block, its offset in the block, and whether it ends a run of equal values
    # (KS is only evaluated there). Sequential arrays keep the per-permutation pass cache-friendly.
    blk = np.empty(n, dtype=np.int32)
    off = np.empty(n, dtype=np.int32)
    ends = np.empty(n, dtype=np.bool_)
    for k in range(n):
        i = order[k]
        blk[k] = i // block
        off[k] = i - (i // block) * block
        ends[k] = k == n - 1 or z[order[k + 1]] != z[i]
    observed = ks_sorted_nb(np.sort(ref), np.sort(cur))
    n_blocks = (n + block - 1) // block
    np.random.seed(seed)
    new_start = np.empty(n_blocks, dtype=np.int64)
    inv_ref = 1.0 / n_ref
    inv_cur = 1.0 / n_cur
    exceed = 0
    for _ in range(n_perm):
        perm = np.random.permutation(n_blocks)
        offset = 0
        for k in range(n_blocks):
            b = perm[k]
            new_start[b] = offset
            offset += min(block, n - b * block)
        c_ref = 0
        d = 0.0
        for k in range(n):
            if new_start[blk[k]] + off[k] < n_ref:
                c_ref += 1
            if ends[k]:
                diff = abs(c_ref * inv_ref - (k + 1 - c_ref) * inv_cur)
                if diff > d:
                    d = diff
        if d >= observed - 1e-12:
            exceed += 1
    return (1.0 + exceed) / (1.0 + n_perm)


@njit(cache=True)
def _bin_nb(grid, x):
    """Index of the first grid point >= x (len(grid) when x is above them all)."""
    lo = 0
    hi = grid.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if grid[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def block_perm_ks_pvalue_grid_nb(ref, cur, ref_sorted, cur_sorted, block, n_perm, seed, grid_size):
    """The same test for long samples, on a grid of `grid_size` pooled quantiles: each block's cumulative
    counts at the grid are computed once, and a permutation assigns whole blocks to the reference (in
    permuted order until it holds at least n_ref rows), so one permutation costs O(blocks x grid), not
    O(rows). KS (observed and permuted) is evaluated at the grid points. `*_sorted`: the samples sorted
    (merged here for the pooled quantiles instead of sorting the pool again)."""
    n_ref, n_cur = ref.shape[0], cur.shape[0]
    n = n_ref + n_cur
    g = grid_size
    grid = np.empty(g)
    ia = 0
    ib = 0
    k = 0
    target = n // g - 1
    for r in range(n):  # merge walk: the pooled order statistics at ranks (k + 1) * n // g - 1
        if ib >= n_cur or (ia < n_ref and ref_sorted[ia] <= cur_sorted[ib]):
            v = ref_sorted[ia]
            ia += 1
        else:
            v = cur_sorted[ib]
            ib += 1
        while k < g and r == target:
            grid[k] = v
            k += 1
            target = ((k + 1) * n) // g - 1
    n_blocks = (n + block - 1) // block
    counts = np.zeros((n_blocks, g), dtype=np.int64)
    cref = np.zeros(g, dtype=np.int64)
    for i in range(n):
        x = ref[i] if i < n_ref else cur[i - n_ref]
        kk = _bin_nb(grid, x)
        if kk < g:
            counts[i // block, kk] += 1
            if i < n_ref:
                cref[kk] += 1
    for b in range(n_blocks):
        for kk in range(1, g):
            counts[b, kk] += counts[b, kk - 1]
    for kk in range(1, g):
        cref[kk] += cref[kk - 1]
    sizes = np.empty(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        sizes[b] = min(block, n - b * block)
    total = np.zeros(g, dtype=np.int64)
    for b in range(n_blocks):
        for kk in range(g):
            total[kk] += counts[b, kk]
    observed = 0.0
    for kk in range(g):
        observed = max(observed, abs(cref[kk] / n_ref - (total[kk] - cref[kk]) / n_cur))
    np.random.seed(seed)
    acc = np.empty(g, dtype=np.int64)
    perm = np.arange(n_blocks)
    exceed = 0
    for _ in range(n_perm):
        # Fisher-Yates, stopped as soon as the reference holds n_ref rows: only the blocks it takes are drawn.
        for kk in range(g):
            acc[kk] = 0
        m = 0
        j = 0
        while m < n_ref and j < n_blocks - 1:
            r = j + np.random.randint(0, n_blocks - j)
            b = perm[r]
            perm[r] = perm[j]
            perm[j] = b
            for kk in range(g):
                acc[kk] += counts[b, kk]
            m += sizes[b]
            j += 1
        inv_m = 1.0 / m
        inv_rest = 1.0 / (n - m)
        d = 0.0
        for kk in range(g):
            diff = abs(acc[kk] * inv_m - (total[kk] - acc[kk]) * inv_rest)
            if diff > d:
                d = diff
        if d >= observed - 1e-12:
            exceed += 1
    return (1.0 + exceed) / (1.0 + n_perm)


@njit(cache=True, parallel=True)
def drift_matrix_nb(ref_t, cur_t, ref_s, cur_s, bins, eps, block, n_perm, seed, grid_above):
    """Per feature (rows of the transposed (F, n_ref) and (F, n_cur) arrays, in time order, and the same
    rows sorted: NumPy's SIMD sort is faster than numba's): PSI, KS, W1, W1 / std(ref), block-permutation
    p-value (exact up to `grid_above` pooled rows, on a quantile grid beyond)."""
    f = ref_t.shape[0]
    out = np.empty((f, 5))
    for c in prange(f):
        a = ref_s[c]
        b = cur_s[c]
        out[c, 0] = psi_sorted_nb(a, b, bins, eps)
        out[c, 1] = ks_sorted_nb(a, b)
        out[c, 2] = w1_sorted_nb(a, b)
        sd = np.std(a)
        out[c, 3] = out[c, 2] / sd if sd > 0 else 0.0
        if n_perm <= 0:
            out[c, 4] = np.nan
        elif a.shape[0] + b.shape[0] <= grid_above:
            out[c, 4] = block_perm_ks_pvalue_nb(ref_t[c], cur_t[c], block, n_perm, seed + c)
        else:
            out[c, 4] = block_perm_ks_pvalue_grid_nb(ref_t[c], cur_t[c], a, b, block, n_perm, seed + c, GRID)
    return out


@njit(cache=True, parallel=True)
def psi_slices_nb(ref, cur, starts, bins, eps):
    """PSI of each column over consecutive slices of `cur` (rows starts[k]..starts[k+1]): the heatmap."""
    f = ref.shape[1]
    t = starts.shape[0] - 1
    out = np.empty((f, t))
    for c in prange(f):
        a = np.sort(ref[:, c])
        for k in range(t):
            lo, hi = starts[k], starts[k + 1]
            if hi - lo < 2:
                out[c, k] = np.nan
            else:
                out[c, k] = psi_sorted_nb(a, np.sort(cur[lo:hi, c]), bins, eps)
    return out
