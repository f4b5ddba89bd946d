"""Shadow evaluation: the champion and the challenger get the same inputs (the same bars, the same feature
rows) each time signals are evaluated; both signals are recorded with the paper P&L of the position each
would have held, and only the champion's signal is served to strategies (`latest_signal`). The challenger
is never traded."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import Conflict
from dashapp.services.models import features as feat
from dashapp.services.models import registry, training
from dashapp.services.unit_of_work import unit_of_work
from models import MlModelVersion, MlShadowSignal, utcnow


def feature_rows(model, version: MlModelVersion, since: date | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Feature rows (every feature defined, the newest row included even without a label) and closes."""
    source = version.params.get("source", "bundled")
    start = since or (version.train_end - timedelta(days=400)).date()
    close, market = training.load_closes(model.symbol, source, start - timedelta(days=60), date.today())
    frame = feat.feature_frame(close, market).dropna()
    return frame.loc[frame.index >= pd.Timestamp(start, tz="UTC")], close


def run(name: str, bars: int = 250) -> int:
    """Evaluate champion and challenger on the newest `bars` rows; record what is not recorded yet."""
    model = registry.get_model(name)
    pairs = [(a, v) for a in ("champion", "challenger") if (v := registry.alias_version(model, a)) is not None]
    if not pairs:
        return 0
    frame, close = feature_rows(model, pairs[0][1])
    frame = frame.iloc[-max(1, min(int(bars), 2000)):]
    prices = close.reindex(frame.index).to_numpy(dtype=np.float64)
    returns = np.r_[0.0, prices[1:] / prices[:-1] - 1.0]
    added = 0
    with unit_of_work() as session:
        for alias, version in pairs:
            est = registry.load_estimator(version)
            probs = est.predict_proba(frame[version.features].to_numpy())[:, 1]
            signals = np.sign(probs - 0.5).astype(int)
            pnl = np.r_[0.0, signals[:-1] * returns[1:]]
            first = frame.index[0].to_pydatetime()
            known = set(session.execute(sa.select(MlShadowSignal.ts).where(
                MlShadowSignal.version_id == version.id, MlShadowSignal.ts >= first)).scalars())
            for i, ts in enumerate(frame.index):
                when = ts.to_pydatetime()
                if when in known:
                    continue
                session.add(MlShadowSignal(model_id=model.id, version_id=version.id, role=alias, ts=when,
                                           probability=float(probs[i]), signal=int(signals[i]), price=float(prices[i]),
                                           pnl=float(pnl[i]), created_at=utcnow()))
                added += 1
    return added


def comparison(name: str, limit: int = 2000) -> pd.DataFrame:
    """Per bar: champion and challenger signals, cumulative paper P&L (as returns) and whether they agree."""
    model = registry.get_model(name)
    out = {}
    for alias in ("champion", "challenger"):
        version = registry.alias_version(model, alias)
        if version is None:
            continue
        rows = db.session.execute(sa.select(MlShadowSignal.ts, MlShadowSignal.signal, MlShadowSignal.pnl)
                                  .where(MlShadowSignal.version_id == version.id)
                                  .order_by(MlShadowSignal.ts.desc()).limit(limit)).all()
        frame = pd.DataFrame(rows[::-1], columns=["ts", "signal", "pnl"]).set_index("ts")
        out[alias] = (version.version, frame)
    if not out:
        return pd.DataFrame()
    joined = pd.concat({a: f for a, (_, f) in out.items()}, axis=1).sort_index()
    result = pd.DataFrame(index=joined.index)
    for alias, (number, _) in out.items():
        result[f"{alias}_signal"] = joined[(alias, "signal")]
        result[f"{alias}_cum_pnl"] = (1 + joined[(alias, "pnl")].fillna(0)).cumprod() - 1
        result.attrs[alias] = number
    if len(out) == 2:
        result["agree"] = result["champion_signal"] == result["challenger_signal"]
    return result


def latest_signal(name: str) -> dict:
    """The champion's signal on the newest bar (the challenger is evaluated on the same bar, in shadow)."""
    run(name, bars=5)
    model = registry.get_model(name)
    champion = registry.alias_version(model, "champion")
    if champion is None:
        raise Conflict(f"{name} has no champion: no signal to serve", field="model")
    row = db.session.execute(sa.select(MlShadowSignal).where(MlShadowSignal.version_id == champion.id)
                             .order_by(MlShadowSignal.ts.desc()).limit(1)).scalar()
    return {"model": name, "version": champion.version, "symbol": model.symbol, "ts": row.ts.isoformat(),
            "probability": round(row.probability, 6), "signal": row.signal, "price": row.price}
