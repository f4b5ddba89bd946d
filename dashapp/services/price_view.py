"""What the price chart shows for one instrument: bars (from market_history), the indicators and
the regime from the kernels, and the desk's fills. No figures here (layouts/price_figures.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dashapp.kernels import indicators
from dashapp.services import market_history as mh
from dashapp.services.errors import NotFound

WARMUP_BARS = 60  # read this many bars before the window so the indicators are warm at its left edge
REGIME_PROXY = "SPX"  # the market the Command Center's regime bands describe


@dataclass
class PriceView:
    symbol: str
    interval: str
    bars: pd.DataFrame  # ts, open, high, low, close, volume, source, sma20, ema50, bb_*, rsi14, regime
    fills: pd.DataFrame


def with_indicators(bars: pd.DataFrame) -> pd.DataFrame:
    out = bars.copy()
    if out.empty:
        for col in ("sma20", "ema50", "bb_upper", "bb_lower", "rsi14", "regime"):
            out[col] = pd.Series(dtype="float64")
        return out
    close = np.ascontiguousarray(out["close"].to_numpy(dtype=np.float64))
    out["sma20"] = indicators.sma(close, 20)
    out["ema50"] = indicators.ema(close, 50)
    bands = indicators.bollinger(close, 20, 2.0)
    out["bb_upper"], out["bb_lower"] = bands.upper, bands.lower
    out["rsi14"] = indicators.rsi(close, 14)
    out["regime"] = indicators.regime(close, 20)
    return out


def price_view(symbol: str, interval: str, since: datetime | None = None,
               until: datetime | None = None) -> PriceView:
    since, until = mh.period(interval, since, until)
    lead = since - timedelta(seconds=mh.INTERVALS[interval] * WARMUP_BARS)
    frame = with_indicators(mh.bars(symbol, interval, lead, until))
    frame = frame[frame["ts"] >= pd.Timestamp(since)].reset_index(drop=True)
    return PriceView(symbol, interval, frame, mh.fills(symbol, since, until, interval))


def regime_interval(span: pd.Timedelta) -> str:
    """Bars fine enough to show regimes within `span` (a regime needs 20 bars to warm up)."""
    return "1m" if span <= pd.Timedelta(hours=6) else "5m" if span <= pd.Timedelta(days=3) else "1h"


def regime_bands(symbol: str = REGIME_PROXY, since: datetime | None = None, until: datetime | None = None,
                 interval: str | None = None) -> pd.DataFrame:
    """Shaded bands for a chart: start, end, label (text), code; one row per run of one regime,
    clipped to [since, until]. Bars before `since` warm the regime up."""
    until = until or pd.Timestamp.now(tz="UTC").to_pydatetime()
    since = since or until - pd.Timedelta(days=7)
    interval = interval or regime_interval(pd.Timestamp(until) - pd.Timestamp(since))
    step = pd.Timedelta(seconds=mh.INTERVALS[interval])
    try:
        frame = with_indicators(mh.bars(symbol, interval, (pd.Timestamp(since) - step * WARMUP_BARS).to_pydatetime(),
                                        until))
    except NotFound:
        frame = pd.DataFrame()
    rows = []
    if not frame.empty:
        ts = frame["ts"].reset_index(drop=True)
        for first, last, label in indicators.regime_segments(frame["regime"].to_numpy()):
            start, end = max(ts[first], pd.Timestamp(since)), ts[last] + step
            if end > start:
                rows.append({"start": start, "end": end, "label": indicators.REGIMES[label], "code": label})
    return pd.DataFrame(rows, columns=["start", "end", "label", "code"])
