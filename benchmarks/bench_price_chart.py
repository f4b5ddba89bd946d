"""A price chart with 1,000,000 bars: time to build the figure on the server, and to answer a zoom.

Run:  .venv/bin/python benchmarks/bench_price_chart.py [--points 1000000] [--repeat 5] [--no-write]

Writes (or replaces) the "## Price chart (1,000,000 points)" section of docs/BENCHMARKS.md.
The series is one-minute bars (a seeded random walk, about two years of minutes) already read
from the store, so the figures measure what the Prices page's callback does after its query:
indicators from the numba kernels on every bar, MinMaxLTTB downsampling (tsdownsample) to the
points drawn, the Plotly figure and its JSON (what travels to the browser). A zoom is the same
path on the zoomed window (10% of the series), which the page re-reads at full resolution.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_section  # noqa: E402
from dashapp.services.price_view import with_indicators  # noqa: E402
from layouts.price_figures import price_chart  # noqa: E402

SECTION = "Price chart (1,000,000 points)"


def bars(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.0005, n)))
    spread = np.abs(rng.normal(0, 0.0003, n)) * close
    ts = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"ts": ts, "open": np.r_[close[0], close[:-1]], "high": close + spread,
                         "low": close - spread, "close": close, "volume": rng.integers(1, 50, n).astype(float),
                         "source": "quotes"})


def build(frame: pd.DataFrame) -> tuple[float, int, int]:
    """Seconds to compute indicators + figure + JSON, the points drawn, the JSON bytes."""
    started = time.perf_counter()
    view = with_indicators(frame)
    figure = price_chart(view, pd.DataFrame(columns=["ts", "side", "quantity", "price", "strategy"]), "BENCH", "1m")
    payload = figure.to_json()
    elapsed = time.perf_counter() - started
    return elapsed, len(figure.data[0].x), len(payload)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    frame = bars(args.points)
    build(frame.iloc[:5000])  # compile the kernels (numba cache) before timing
    left = len(frame) * 45 // 100
    zoom = frame.iloc[left:left + len(frame) // 10].reset_index(drop=True)
    full = [build(frame) for _ in range(args.repeat)]
    zoomed = [build(zoom) for _ in range(args.repeat)]
    rows = [("Whole series", len(frame), full), ("Zoom to 10%", len(zoom), zoomed)]
    lines = [f"Machine: {machine()}. `benchmarks/bench_price_chart.py --points {args.points}`, median of "
             f"{args.repeat} runs (worst in brackets). Build = SMA/EMA/Bollinger/RSI/regime kernels on every bar, "
             "MinMaxLTTB downsampling of close and indicators to the points drawn, the Plotly figure and its JSON.",
             "", "| View | Bars in window | Points drawn per series | Figure JSON | Build + serialise (s) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, n, runs in rows:
        times = [r[0] for r in runs]
        lines.append(f"| {name} | {n:,} | {runs[0][1]:,} | {runs[0][2] / 1e6:.2f} MB | "
                     f"{np.median(times):.3f} ({max(times):.3f}) |")
    lines += ["", "The browser draws the downsampled line (SVG), not a million candles: past 2,000 bars the Prices "
              "page switches from candlesticks to the close line (a zoom below that shows candles again)."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
