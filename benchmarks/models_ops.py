"""Model operations benchmark: retraining time and peak memory of the demo models, and drift for 100 features
x 1 year of daily rows and 100 features x 1 month of minute rows (the kernels vs scipy per-feature loops).

    .venv/bin/python benchmarks/models_ops.py > /tmp/models_ops.md   # then append it to docs/BENCHMARKS.md

Retraining runs in a fresh child process per configuration (so its peak RSS is its own), through
dashapp.services.models.training.train (load -> features -> fit -> validate; the register stage's joblib
dump is timed too). Drift: the kernels' drift_table (PSI, KS, Wasserstein-1 and block-permutation KS
p-values, 199 permutations) against, per feature, scipy.stats.ks_2samp + scipy.stats.wasserstein_distance +
a NumPy PSI, and the same block permutation done with ks_2samp in a Python loop.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine  # noqa: E402

CONFIGS = {
    "demo seed (2 configurations x 20 trees, 2 folds)": dict(
        model="bench", symbol="AAPL", start="2015-01-02", end="2020-12-31", n_estimators=20, max_depths=[2],
        learning_rates=[0.1, 0.2], folds=2, seed=7, min_dsr=0.0),
    "page Retrain defaults (4 configurations x 40 trees, 3 folds)": dict(model="bench", symbol="AAPL", seed=7),
}


def _train_child(params: dict, queue) -> None:
    import tracemalloc

    import joblib

    from dashapp.services.models import training

    def once():
        start = time.perf_counter()
        result = training.train(training.RetrainParams(**params))
        with tempfile.TemporaryDirectory() as folder:
            joblib.dump(result.estimator, Path(folder) / "model.joblib")
        return time.perf_counter() - start, result

    cold, result = once()  # a fresh worker process: scikit-learn imported, kernels loaded from numba's cache
    warm, again = once()
    tracemalloc.start()  # a third run for memory only: tracemalloc slows every allocation
    once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((cold, warm, peak / 2**20, rss_mb, result.metrics == again.metrics, result.trials))


def retrain_rows(repeat: int = 3) -> list[str]:
    rows = []
    ctx = mp.get_context("spawn")
    for label, params in CONFIGS.items():
        runs = []
        for _ in range(repeat):
            queue = ctx.Queue()
            child = ctx.Process(target=_train_child, args=(params, queue))
            child.start()
            runs.append(queue.get(timeout=600))
            child.join()
        cold, warm = [r[0] for r in runs], [r[1] for r in runs]
        same = all(r[4] for r in runs)
        rows.append(f"| {label} | {runs[0][5]} | {statistics.median(cold):.2f} s | {statistics.median(warm):.2f} s "
                    f"(min {min(warm):.2f}) | {max(r[2] for r in runs):.0f} MiB | {max(r[3] for r in runs):.0f} MiB | "
                    f"{'yes' if same else 'NO'} |")
    return rows


def _scipy_stats(ref: np.ndarray, cur: np.ndarray) -> None:
    from scipy import stats

    for c in range(ref.shape[1]):
        a, b = ref[:, c], cur[:, c]
        stats.ks_2samp(a, b)
        stats.wasserstein_distance(a, b)
        edges = np.quantile(a, np.linspace(0, 1, 11)[1:-1])
        pa = np.maximum(np.bincount(np.searchsorted(edges, a, side="right"), minlength=10) / len(a), 1e-4)
        pb = np.maximum(np.bincount(np.searchsorted(edges, b, side="right"), minlength=10) / len(b), 1e-4)
        float(np.sum((pb - pa) * np.log(pb / pa)))


def _scipy_block_perm(ref: np.ndarray, cur: np.ndarray, columns: int, n_perm: int = 199, seed: int = 0) -> None:
    from scipy import stats

    from dashapp.kernels.drift import default_block

    rng = np.random.default_rng(seed)
    n_ref = len(ref)
    for c in range(columns):
        z = np.r_[ref[:, c], cur[:, c]]
        block = default_block(len(z))
        blocks = [z[i:i + block] for i in range(0, len(z), block)]
        observed = stats.ks_2samp(ref[:, c], cur[:, c]).statistic
        exceed = 0
        for _ in range(n_perm):
            shuffled = np.concatenate([blocks[i] for i in rng.permutation(len(blocks))])
            exceed += stats.ks_2samp(shuffled[:n_ref], shuffled[n_ref:]).statistic >= observed


def _median(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def drift_rows() -> list[str]:
    from dashapp.kernels import drift

    rng = np.random.default_rng(1)
    drift.drift_table(rng.normal(size=(300, 2)), rng.normal(size=(300, 2)), n_perm=3)  # compile / load
    drift.drift_table(rng.normal(size=(6000, 2)), rng.normal(size=(6000, 2)), n_perm=3)
    rows = []
    for label, n, perm_columns in (("100 features x 1 year daily (252 rows vs 252 reference)", 252, 100),
                                   ("100 features x 1 month of minutes (43,200 rows vs 43,200 reference)", 43_200,
                                    2)):
        ref = np.cumsum(rng.normal(size=(n, 100)), axis=0) * 0.01 + rng.normal(size=(n, 100))
        cur = np.cumsum(rng.normal(size=(n, 100)), axis=0) * 0.01 + rng.normal(size=(n, 100)) + 0.05
        k_stats = _median(lambda: drift.drift_table(ref, cur, n_perm=0))
        k_full = _median(lambda: drift.drift_table(ref, cur, n_perm=199))
        s_stats = _median(lambda: _scipy_stats(ref, cur), repeat=1 if n > 1000 else 3)
        s_perm = _median(lambda: _scipy_block_perm(ref, cur, perm_columns), repeat=1) * (100 / perm_columns)
        note = "" if perm_columns == 100 else f" (timed on {perm_columns} features, x{100 // perm_columns})"
        rows.append(f"| {label} | {k_stats:.3f} s | {s_stats:.3f} s | {s_stats / k_stats:.0f}x | {k_full:.3f} s | "
                    f"{s_stats + s_perm:.1f} s{note} | {(s_stats + s_perm) / k_full:.0f}x |")
    return rows


def main() -> None:
    load = os.getloadavg()
    out = [f"## Model operations (issue 13): retraining and drift",
           "",
           f"Machine: {machine()}; load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
           "(other sessions share the 2 cores; wall times are upper bounds). "
           "`benchmarks/models_ops.py`.",
           "",
           "Retraining (training.train on the bundled AAPL closes, each run in a fresh process; 3 runs):",
           "",
           "| Configuration | Trials | First run in a fresh process | Next run (median) | "
           "Peak Python allocations (tracemalloc) | Peak RSS of the process | Same seed -> same metrics |",
           "| --- | --: | --: | --: | --: | --: | :-: |"]
    out += retrain_rows()
    out += ["",
            "Drift per feature against the reference window (median of 3). Kernels: `dashapp.kernels.drift."
            "drift_table` (numba, features in parallel). Peer: scipy.stats.ks_2samp + wasserstein_distance + a "
            "NumPy PSI per feature, and the block permutation as a Python loop over ks_2samp. The minute case's "
            "kernel p-values use the 64-point quantile grid (whole blocks move, D76).",
            "",
            "| Data | Kernels: PSI+KS+W1 | scipy loop | Ratio | Kernels: + block-permutation p-values (199) | "
            "scipy loop + permutations | Ratio |",
            "| --- | --: | --: | --: | --: | --: | --: |"]
    out += drift_rows()
    end = os.getloadavg()
    out += ["", f"Load average at the end: {end[0]:.1f}.", ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
