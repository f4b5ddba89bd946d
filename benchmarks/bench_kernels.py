"""Benchmark the numba risk kernels against NumPy/pandas/empyrical/bottleneck/scipy peers.

Run:  .venv/bin/python benchmarks/bench_kernels.py [--repeats 7] [--no-write]

Writes (or replaces) the "## Risk kernels" section of docs/BENCHMARKS.md. Every
candidate of a group runs in the same process on the same seeded data, in
interleaved rounds (so machine noise hits all of them alike); the table shows
medians of the rounds. Results of peers and ours are checked to agree before
anything is timed, so each ratio compares the same computation.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bottleneck as bn  # noqa: E402
import empyrical  # noqa: E402
import numba  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from scipy.special import ndtr  # noqa: E402
from scipy.stats import norm  # noqa: E402

import dashapp.kernels as k  # noqa: E402

T_DAYS, N_ASSETS, N_OPTIONS, WINDOW, LEVEL = 2520, 2000, 1_000_000, 252, 0.99
SECTION = "## Risk kernels"


BEST: dict[str, float] = {}  # best-of-rounds wall time (ms) of our kernels, for context


def interleaved(candidates: dict, repeats: int, tag: str = "") -> dict[str, float]:
    """Median wall time (ms) per candidate; one warm-up call each, then rounds."""
    for fn in candidates.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    for name, ts in times.items():
        BEST[f"{tag}{name}"] = min(ts)
    return {name: statistics.median(ts) for name, ts in times.items()}


# --- peers -------------------------------------------------------------------------

def var_cvar_np_quantile(r):
    q = np.quantile(r, 1 - LEVEL, axis=0)
    tail = r <= q
    return -q, -(r * tail).sum(axis=0) / tail.sum(axis=0)


def var_cvar_np_partition(r):
    n = r.shape[0]
    h = (n - 1) * (1 - LEVEL)
    lo_i = int(np.floor(h))
    part = np.partition(r, [lo_i, lo_i + 1], axis=0)
    lo, hi = part[lo_i], part[lo_i + 1]
    q = lo + (hi - lo) * (h - lo_i)
    tail = part[: lo_i + 2] <= q  # every value <= q sits in the first lo_i + 2 rows
    return -q, -(part[: lo_i + 2] * tail).sum(axis=0) / tail.sum(axis=0)


def mdd_pandas(df):
    wealth = (1.0 + df).cumprod()
    peak = wealth.cummax().clip(lower=1.0)  # starting wealth 1 is the first peak
    return (wealth / peak - 1.0).min()


def bs_greeks(norm_cdf, norm_pdf, s, kk, t, v, r, q, call):
    sqrt_t = np.sqrt(t)
    vs = v * sqrt_t
    d1 = (np.log(s / kk) + (r - q + 0.5 * v * v) * t) / vs
    d2 = d1 - vs
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    sign = np.where(call, 1.0, -1.0)
    n1, n2, pdf1 = norm_cdf(sign * d1), norm_cdf(sign * d2), norm_pdf(d1)
    price = sign * (s * dq * n1 - kk * dr * n2)
    delta = sign * dq * n1
    gamma = dq * pdf1 / (s * vs)
    vega = s * dq * pdf1 * sqrt_t
    theta = -s * dq * pdf1 * v / (2 * sqrt_t) + sign * (q * s * dq * n1 - r * kk * dr * n2)
    rho = sign * kk * t * dr * n2
    return price, delta, gamma, vega, theta, rho


def _pdf_numpy(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


# --- report ------------------------------------------------------------------------

def machine() -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{m.__name__} {m.__version__}" for m in (np, numba, pd, scipy, bn, empyrical))
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",)
    return [
        f"- Machine: {os.cpu_count()} logical CPUs (nproc), CPU model \"{cpu}\", "
        f"numba {numba.get_num_threads()} threads ({numba.threading_layer()} layer), "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}",
        f"- Python {platform.python_version()}; {versions}",
        f"- Load average when the run started: {', '.join(f'{x:.1f}' for x in load)} "
        "(shared machine: other work was running, so absolute times are noisy; "
        "ratios come from interleaved rounds)",
    ]


def row(task, ours_ms, best_ms, peer, peer_ms, target):
    ratio = peer_ms / ours_ms
    met = "met" if ratio >= target else "MISSED"
    return (f"| {task} | {ours_ms:.1f} | {best_ms:.1f} | {peer} | {peer_ms:.1f} | {ratio:.1f}x "
            f"| {'faster' if target == 1 else f'>= {target:g}x'} | {met} |")


def write_section(lines: list[str]) -> Path:
    path = ROOT / "docs" / "BENCHMARKS.md"
    body = "\n".join([SECTION, "", *lines, ""])
    text = path.read_text() if path.exists() else "# Benchmarks\n\nMeasured figures; each section is written by its benchmark script.\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(body + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="interleaved timed rounds per group")
    ap.add_argument("--no-write", action="store_true", help="print only, leave docs/BENCHMARKS.md alone")
    args = ap.parse_args()
    started = time.perf_counter()
    header = machine()
    print("compiling / loading kernels, checking peers agree ...", flush=True)

    k.warm_up()
    rng = np.random.default_rng(20240607)
    r = np.ascontiguousarray(rng.standard_t(4, size=(T_DAYS, N_ASSETS)) * 0.01)
    df = pd.DataFrame(r)
    rep = args.repeats

    # Same answers first, so every ratio compares the same computation.
    ours_v, ours_c = k.historical_var_cvar(r, LEVEL)
    for peer in (var_cvar_np_quantile, var_cvar_np_partition):
        pv, pc = peer(r)
        np.testing.assert_allclose(ours_v, pv, rtol=1e-12)
        np.testing.assert_allclose(ours_c, pc, rtol=1e-12)
    ours_mdd = k.max_drawdown(r)
    np.testing.assert_allclose(ours_mdd, empyrical.max_drawdown(r), rtol=1e-10)
    np.testing.assert_allclose(ours_mdd, mdd_pandas(df).to_numpy(), rtol=1e-10)
    scale = np.sqrt(252)
    ours_rv = k.rolling_volatility(r, WINDOW)
    np.testing.assert_allclose(ours_rv, bn.move_std(r, WINDOW, axis=0, ddof=1) * scale, rtol=1e-9)
    np.testing.assert_allclose(ours_rv, (df.rolling(WINDOW).std() * scale).to_numpy(), rtol=1e-9)
    s = rng.uniform(50, 150, N_OPTIONS)
    kk = s * rng.uniform(0.7, 1.3, N_OPTIONS)
    t = rng.uniform(0.02, 2.0, N_OPTIONS)
    v = rng.uniform(0.08, 0.8, N_OPTIONS)
    call = rng.random(N_OPTIONS) < 0.5
    rate, div = 0.03, 0.01
    ours_bs = k.black_scholes(s, kk, t, v, rate, div, call)
    for cdf, pdf in ((norm.cdf, norm.pdf), (ndtr, _pdf_numpy)):
        for a, b in zip(ours_bs, bs_greeks(cdf, pdf, s, kk, t, v, rate, div, call)):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    print("peers agree; timing ...", flush=True)

    floor = interleaved({"sum": lambda: np.sum(r)}, rep, "floor0_")["sum"]
    var_t = interleaved({
        "ours": lambda: k.historical_var_cvar(r, LEVEL),
        "quantile": lambda: var_cvar_np_quantile(r),
        "partition": lambda: var_cvar_np_partition(r),
    }, rep, "var_")
    mdd_t = interleaved({
        "ours": lambda: k.max_drawdown(r),
        "empyrical": lambda: empyrical.max_drawdown(r),
        "pandas": lambda: mdd_pandas(df),
    }, rep, "mdd_")
    rv_t = interleaved({
        "ours": lambda: k.rolling_volatility(r, WINDOW),
        "pandas": lambda: df.rolling(WINDOW).std() * scale,
        "bottleneck": lambda: bn.move_std(r, WINDOW, axis=0, ddof=1) * scale,
    }, rep, "rv_")
    bs_t = interleaved({
        "ours": lambda: k.black_scholes(s, kk, t, v, rate, div, call),
        "norm": lambda: bs_greeks(norm.cdf, norm.pdf, s, kk, t, v, rate, div, call),
        "ndtr": lambda: bs_greeks(ndtr, _pdf_numpy, s, kk, t, v, rate, div, call),
    }, rep, "bs_")
    floor_now = interleaved({"sum": lambda: np.sum(r)}, rep, "floor1_")["sum"]

    mdd_floor = mdd_t["ours"] / min(floor, floor_now)
    best_floor = min(BEST["floor0_sum"], BEST["floor1_sum"])
    mdd_floor_best = BEST["mdd_ours"] / best_floor
    lines = [
        f"Measured by `benchmarks/bench_kernels.py` on seeded Student-t(4) daily returns, "
        f"{T_DAYS:,} days x {N_ASSETS:,} assets (float64, C order, {r.nbytes / 1e6:.0f} MB); "
        f"Black-Scholes on {N_OPTIONS:,} random contracts (half calls). Wall-clock medians of "
        f"{rep} interleaved rounds after one warm-up call; ours = the public wrappers in "
        "`dashapp.kernels` including input validation. Peer results are asserted equal to ours "
        "before timing.",
        "",
        *header,
        "",
        "| Task (every column) | Ours ms (median) | Ours ms (best) | Peer | Peer ms (median) "
        "| Speed-up (medians) | Target | Result |",
        "|---|---:|---:|---|---:|---:|---|---|",
        row("Historical VaR + CVaR 99%", var_t["ours"], BEST["var_ours"],
            "np.quantile(axis=0) + masked mean", var_t["quantile"], 5),
        row("Historical VaR + CVaR 99%", var_t["ours"], BEST["var_ours"],
            "np.partition(axis=0) + masked mean", var_t["partition"], 1),
        row("Max drawdown", mdd_t["ours"], BEST["mdd_ours"], "empyrical.max_drawdown", mdd_t["empyrical"], 10),
        row("Max drawdown", mdd_t["ours"], BEST["mdd_ours"], "pandas cumprod / cummax", mdd_t["pandas"], 10),
        row("Rolling vol, 252 days", rv_t["ours"], BEST["rv_ours"], "pandas rolling().std()", rv_t["pandas"], 10),
        row("Rolling vol, 252 days", rv_t["ours"], BEST["rv_ours"], "bottleneck.move_std", rv_t["bottleneck"], 2),
        row("Black-Scholes price + 5 Greeks, 1M", bs_t["ours"], BEST["bs_ours"],
            "scipy.stats.norm vectorised", bs_t["norm"], 5),
        row("Black-Scholes price + 5 Greeks, 1M", bs_t["ours"], BEST["bs_ours"],
            "scipy.special.ndtr vectorised", bs_t["ndtr"], 2),
        "",
        f"Memory floor: `np.sum` over the same {r.nbytes / 1e6:.0f} MB array took {floor:.1f} ms "
        f"before and {floor_now:.1f} ms after the runs (median; best {best_floor:.1f} ms; single-threaded "
        f"NumPy). Max drawdown took {mdd_floor:.1f}x the floor comparing medians "
        f"(target <= 3x: {'met' if mdd_floor <= 3 else 'MISSED'}) and {mdd_floor_best:.1f}x comparing best "
        "runs.",
        "",
        "How the kernels get there: VaR/CVaR takes a per-column threshold from a strided "
        "subsample, then one unit-stride pass over the rows keeps only the values below it "
        "(quickselect on those few; exact, no sort); max drawdown tracks wealth/peak with "
        "u = min(1, u * (1 + r)) (no division, vectorised, NaN check folded in), folding 8 rows "
        "into registers per sweep of a column block so the state arrays are read and written "
        "once per 8 rows instead of every row; rolling "
        "volatility is Welford's update with replacement, one pass; Black-Scholes prices "
        "blocks of 512 contracts in one branch-free loop with vectorisable exp/log and Hart's "
        "normal CDF, sending only |d| >= 3 or invalid contracts to an erfc path. Column "
        "kernels split the columns into one contiguous block per numba thread.",
        "",
        "Reading the numbers: medians on a 2-core machine shared with other jobs include time "
        "our threads spent descheduled; the best-of-rounds column shows the uncontended speed. "
        "Targets are judged on medians, as the brief asks, and marked MISSED when missed.",
        "",
        f"Total benchmark wall time: {time.perf_counter() - started:.0f} s.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        print(f"wrote {write_section(lines)}")


if __name__ == "__main__":
    main()
