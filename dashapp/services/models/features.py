"""Features and labels for next-period direction models, from closes only (stored bars or the bundled
daily closes the paper engine replays).

Every feature at row t uses closes up to and including t (the decision time: the bar's close); the label
is the sign of the return from t to t+1. `leakage_check` proves it rather than trusting it: it recomputes
the features on the history cut at sampled rows and requires identical values (a feature that peeked
ahead would change when the future is removed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashapp.services.errors import ValidationError

FEATURES = ("ret_1", "ret_2", "ret_5", "ret_10", "ret_20", "vol_10", "vol_20", "z_20", "up_share_14",
            "mkt_ret_1", "mkt_ret_5", "rel_ret_5")
WARMUP = 21  # rows needed before every feature is defined
MIN_ROWS = 250
MAX_ROWS = 5_000  # bounded training sets: the newest rows of the window


@dataclass
class Dataset:
    X: pd.DataFrame  # index: decision time (UTC), columns: FEATURES
    y: np.ndarray  # 1 when the next return is positive
    forward: np.ndarray  # the next-period simple return (what a position held from t earns)
    close: np.ndarray


def feature_frame(close: pd.Series, market: pd.Series | None = None) -> pd.DataFrame:
    """Feature values per row of `close` (NaN during the warm-up). Backward-looking windows only."""
    logp = np.log(close.astype("float64"))
    r1 = logp.diff()
    out = pd.DataFrame(index=close.index)
    for k in (1, 2, 5, 10, 20):
        out[f"ret_{k}"] = logp - logp.shift(k)
    out["vol_10"] = r1.rolling(10).std(ddof=1)
    out["vol_20"] = r1.rolling(20).std(ddof=1)
    mean20, std20 = close.rolling(20).mean(), close.rolling(20).std(ddof=1)
    out["z_20"] = ((close - mean20) / std20.where(std20 > 0)).fillna(0.0).where(mean20.notna())
    out["up_share_14"] = (r1 > 0).astype("float64").rolling(14).mean().where(r1.rolling(14).count() == 14)
    if market is None:
        market = pd.Series(np.ones(len(close)), index=close.index)
    mlog = np.log(market.reindex(close.index).ffill().astype("float64"))
    out["mkt_ret_1"] = mlog.diff()
    out["mkt_ret_5"] = mlog - mlog.shift(5)
    out["rel_ret_5"] = out["ret_5"] - out["mkt_ret_5"]
    return out[list(FEATURES)]


def dataset(close: pd.Series, market: pd.Series | None = None, max_rows: int = MAX_ROWS) -> Dataset:
    """Rows with every feature defined and a known next return (the last row has none)."""
    if len(close) < MIN_ROWS:
        raise ValidationError(f"{len(close)} bars in the training window; at least {MIN_ROWS} are needed",
                              field="start")
    frame = feature_frame(close, market)
    forward = close.shift(-1) / close - 1.0
    keep = frame.notna().all(axis=1) & forward.notna()
    frame, forward = frame[keep], forward[keep]
    if len(frame) > max_rows:
        frame, forward = frame.iloc[-max_rows:], forward.iloc[-max_rows:]
    return Dataset(frame, (forward.to_numpy() > 0).astype(np.int64), forward.to_numpy(dtype=np.float64),
                   close.reindex(frame.index).to_numpy(dtype=np.float64))


def leakage_check(close: pd.Series, market: pd.Series | None, features: pd.DataFrame, samples: int = 12,
                  seed: int = 0) -> dict:
    """Recompute the features with the history cut right after sampled rows; any difference means a
    feature used data from after its decision time. Also checks each feature row's timestamp equals its
    decision time and precedes its label's time."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(features), size=min(samples, len(features)), replace=False))
    mismatched = []
    for i in rows:
        t = features.index[i]
        cut = feature_frame(close.loc[:t], None if market is None else market.loc[:t]).iloc[-1]
        if not np.allclose(cut.to_numpy(dtype=float), features.iloc[i].to_numpy(dtype=float), rtol=1e-12,
                           atol=1e-12, equal_nan=True):
            mismatched.append(str(t))
    label_times = close.index[close.index.get_indexer(features.index) + 1]
    ordered = bool((features.index < label_times).all())
    return {"rows_checked": int(len(rows)), "mismatched": mismatched, "feature_before_label": ordered,
            "passed": not mismatched and ordered}


def quality(features: pd.DataFrame) -> dict:
    """Missing values and plausible ranges of the feature matrix."""
    values = features.to_numpy(dtype=np.float64)
    missing = int((~np.isfinite(values)).sum())
    returns = features[[c for c in features.columns if "ret" in c]].to_numpy()
    vols = features[[c for c in features.columns if c.startswith("vol")]].to_numpy()
    out_of_range = int((np.abs(returns) > 1.5).sum() + (vols < 0).sum() + (vols > 0.5).sum()
                       + ((features["up_share_14"] < 0) | (features["up_share_14"] > 1)).sum())
    return {"rows": int(len(features)), "missing": missing, "out_of_range": out_of_range,
            "passed": missing == 0 and out_of_range == 0}
