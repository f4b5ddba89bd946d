"""Price chart figures: candlesticks (or a downsampled line for long series), volume, SMA/EMA,
Bollinger bands, RSI and the desk's fills; regime bands for any time-axis figure. Pure functions
on data frames, each with an empty state.

Long series: past CANDLE_LIMIT bars the chart draws the close as a line downsampled on the
server with MinMaxLTTB (tsdownsample: the downsampler plotly-resampler uses), keeping extremes
and shape; the indicators are sampled at the same indices, and a zoom asks the server again for
the narrower window at full resolution. Downsampling bounds every trace to LINE_POINTS, so the
traces are SVG, not WebGL: browsers without a GPU context (remote desktops, headless Chromium)
draw no WebGL at all, and a few thousand points per trace draw fast as SVG."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from tsdownsample import MinMaxLTTBDownsampler

from layouts.figures import empty

CANDLE_LIMIT = 2_000  # beyond this many bars, candles are too thin to read and slow to draw
LINE_POINTS = 4_000  # points a downsampled series keeps (about two per screen pixel column)
BUY, SELL = "#198754", "#dc3545"
REGIME_COLOURS = {0: "rgba(25,135,84,0.10)", 1: "rgba(255,193,7,0.12)", 2: "rgba(13,110,253,0.12)",
                  3: "rgba(220,53,69,0.14)"}
REGIME_LEGEND = {0: "rgba(25,135,84,0.6)", 1: "rgba(255,193,7,0.6)", 2: "rgba(13,110,253,0.6)",
                 3: "rgba(220,53,69,0.6)"}
TRANSPARENT = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}


def downsample_indices(ts: pd.Series, y: np.ndarray, n_out: int = LINE_POINTS) -> np.ndarray:
    """Indices of the points to draw (all when there are few)."""
    if len(y) <= n_out:
        return np.arange(len(y))
    x = ts.astype("int64").to_numpy() if hasattr(ts, "astype") else np.asarray(ts)
    return np.asarray(MinMaxLTTBDownsampler().downsample(x, np.ascontiguousarray(y, dtype=np.float64),
                                                           n_out=n_out), dtype=np.int64)


def price_chart(bars: pd.DataFrame, fills: pd.DataFrame, symbol: str, interval: str) -> go.Figure:
    if bars is None or bars.empty:
        return empty(f"{symbol or 'Price'}", "No quotes or bars for this instrument in the period")
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                           row_heights=[0.62, 0.14, 0.24])
    ts = bars["ts"]
    candles = len(bars) <= CANDLE_LIMIT
    idx = np.arange(len(bars)) if candles else downsample_indices(ts, bars["close"].to_numpy())
    sample = bars.iloc[idx]
    if candles:
        figure.add_trace(go.Candlestick(x=ts, open=bars["open"], high=bars["high"], low=bars["low"],
                                        close=bars["close"], name=symbol, increasing_line_color=BUY,
                                        decreasing_line_color=SELL), row=1, col=1)
    else:
        figure.add_trace(go.Scatter(x=sample["ts"], y=sample["close"], mode="lines", name=f"{symbol} close",
                                      line={"width": 1}), row=1, col=1)
    band = {"width": 0.6, "color": "rgba(108,117,125,0.8)"}
    figure.add_trace(go.Scatter(x=sample["ts"], y=sample["bb_upper"], mode="lines", line=band,
                                  name="Bollinger 20, 2σ", legendgroup="bb"), row=1, col=1)
    figure.add_trace(go.Scatter(x=sample["ts"], y=sample["bb_lower"], mode="lines", line=band, fill="tonexty",
                                fillcolor="rgba(108,117,125,0.08)", showlegend=False, legendgroup="bb",
                                name="Bollinger lower"), row=1, col=1)
    figure.add_trace(go.Scatter(x=sample["ts"], y=sample["sma20"], mode="lines", name="SMA 20",
                                  line={"width": 1, "color": "#fd7e14"}), row=1, col=1)
    figure.add_trace(go.Scatter(x=sample["ts"], y=sample["ema50"], mode="lines", name="EMA 50",
                                  line={"width": 1, "color": "#6f42c1"}), row=1, col=1)
    _add_fills(figure, fills)
    figure.add_trace(go.Bar(x=sample["ts"], y=sample["volume"], name="Volume", marker_color="rgba(108,117,125,0.6)",
                            showlegend=False), row=2, col=1)
    figure.add_trace(go.Scatter(x=sample["ts"], y=sample["rsi14"], mode="lines", name="RSI 14",
                                  line={"width": 1, "color": "#0dcaf0"}, showlegend=False), row=3, col=1)
    for level in (30, 70):
        figure.add_hline(y=level, line={"dash": "dot", "width": 1, "color": "#6c757d"}, row=3, col=1)
    shown = "candles" if candles else f"close downsampled to {len(idx):,} of {len(bars):,} bars (MinMaxLTTB)"
    figure.update_layout(title=f"{symbol} · {interval} bars · {shown}", height=620, margin=dict(l=50, r=10, t=75, b=30),
                         xaxis_rangeslider_visible=False, legend={"orientation": "h", "y": 1.02, "x": 0,
                                                                  "yanchor": "bottom"},
                         hovermode="x unified", uirevision=f"{symbol}-{interval}", **TRANSPARENT)
    figure.update_yaxes(title_text="Price", row=1, col=1)
    figure.update_yaxes(title_text="Volume", row=2, col=1)
    figure.update_yaxes(title_text="RSI", range=[0, 100], row=3, col=1)
    return figure


def _add_fills(figure: go.Figure, fills: pd.DataFrame) -> None:
    if fills is None or fills.empty:
        return
    for side, colour, symbol in (("buy", BUY, "triangle-up"), ("sell", SELL, "triangle-down")):
        part = fills[fills["side"] == side]
        if part.empty:
            continue
        figure.add_trace(go.Scatter(
            x=part["ts"], y=part["price"], mode="markers", name=f"our {side}s",
            marker={"symbol": symbol, "size": 10, "color": colour, "line": {"width": 1, "color": "#212529"}},
            customdata=np.c_[part["quantity"], part["strategy"]],
            hovertemplate=f"{side} %{{customdata[0]:,.0f}} @ %{{y:,.4f}} (%{{customdata[1]}})<extra></extra>"),
            row=1, col=1)


def add_regime_bands(figure: go.Figure, bands: pd.DataFrame, proxy: str) -> go.Figure:
    """Shade each regime run behind the data (layer below), with one legend entry per regime."""
    if bands is None or bands.empty:
        return figure
    for row in bands.itertuples():
        figure.add_vrect(x0=row.start, x1=row.end, fillcolor=REGIME_COLOURS.get(row.code, "rgba(0,0,0,0)"),
                         line_width=0, layer="below", name=f"regime: {row.label}")
    for code, label in sorted(set(zip(bands["code"], bands["label"]))):
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{proxy} {label}",
                                    marker={"size": 10, "symbol": "square",
                                            "color": REGIME_LEGEND[code]}))
    figure.update_layout(showlegend=True)
    return figure


def regime_equity(curve: pd.DataFrame, bands: pd.DataFrame, proxy: str) -> go.Figure:
    """The desk's equity with the market regime of `proxy` shaded behind it."""
    title = f"Equity with {proxy} market regime"
    if (curve is None or curve.empty) and (bands is None or bands.empty):
        return empty(title, f"No equity snapshots and no {proxy} prices yet: start the engine")
    figure = go.Figure()
    if curve is not None and not curve.empty:
        curve = curve.iloc[downsample_indices(pd.to_datetime(curve["ts"], utc=True), curve["equity"].to_numpy())]
        figure.add_trace(go.Scatter(x=curve["ts"], y=curve["equity"], mode="lines", name="equity"))
    else:
        figure.add_annotation(text="No equity snapshots yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_layout(title=title, height=280, margin=dict(l=50, r=10, t=30, b=30), **TRANSPARENT,
                         legend={"orientation": "h", "y": -0.2})
    return add_regime_bands(figure, bands, proxy)
