"""numba kernels for feature drift: PSI, the two-sample KS statistic, Wasserstein-1, and a block
permutation p-value for KS (blocks of consecutive rows keep their autocorrelation). Arrays only."""
from __future__ import annotations

import numpy as np
from numba import njit, prange


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
    zs = z[order]
    observed = ks_sorted_nb(np.sort(ref), np.sort(cur))
    n_blocks = (n + block - 1) // block
    np.random.seed(seed)
    new_start = np.empty(n_blocks, dtype=np.int64)
    exceed = 0
    for _ in range(n_perm):
        perm = np.random.permutation(n_blocks)
        offset = 0
        for k in range(n_blocks):
            b = perm[k]
            new_start[b] = offset
            offset += min(block, n - b * block)
        c_ref = 0
        c_cur = 0
        d = 0.0
        for k in range(n):
            i = order[k]
            b = i // block
            if new_start[b] + (i - b * block) < n_ref:
                c_ref += 1
            else:
                c_cur += 1
            if k == n - 1 or zs[k + 1] != zs[k]:
                diff = abs(c_ref / n_ref - c_cur / n_cur)
                if diff > d:
                    d = diff
        if d >= observed - 1e-12:
            exceed += 1
    return (1.0 + exceed) / (1.0 + n_perm)


@njit(cache=True, parallel=True)
def drift_matrix_nb(ref, cur, bins, eps, block, n_perm, seed):
    """Per column of (n_ref, F) and (n_cur, F): PSI, KS, W1, W1 / std(ref), block-permutation p-value."""
    f = ref.shape[1]
    out = np.empty((f, 5))
    for c in prange(f):
        a = np.sort(ref[:, c])
        b = np.sort(cur[:, c])
        out[c, 0] = psi_sorted_nb(a, b, bins, eps)
        out[c, 1] = ks_sorted_nb(a, b)
        out[c, 2] = w1_sorted_nb(a, b)
        sd = np.std(a)
        out[c, 3] = out[c, 2] / sd if sd > 0 else 0.0
        if n_perm > 0:
            out[c, 4] = block_perm_ks_pvalue_nb(np.ascontiguousarray(ref[:, c]), np.ascontiguousarray(cur[:, c]),
                                                block, n_perm, seed + c)
        else:
            out[c, 4] = np.nan
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
