"""Explanations: global importance (sklearn's permutation importance on the newest labelled rows, and the
mean |SHAP value| from shap's TreeExplainer for the tree ensembles we train) and a per-decision explanation
of the champion's newest served signal (its SHAP contributions in log-odds)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import Conflict
from dashapp.services.models import drift, shadow
from models import MlShadowSignal


def importance(name: str, rows: int = 250) -> pd.DataFrame:
    from sklearn.inspection import permutation_importance

    from dashapp.services.models import registry

    model, version = drift.subject(name)
    frame, close = shadow.feature_rows(model, version, since=version.train_start.date())
    prices = close.reindex(frame.index)
    y = (prices.shift(-1) / prices - 1 > 0).astype(int)
    frame, y = frame.iloc[:-1].iloc[-rows:], y.iloc[:-1].iloc[-rows:]
    est = registry.load_estimator(version)
    X = frame[version.features].to_numpy()
    perm = permutation_importance(est, X, y.to_numpy(), n_repeats=5, random_state=version.seed,
                                  scoring="neg_brier_score")
    out = pd.DataFrame({"feature": version.features, "permutation": perm.importances_mean,
                        "permutation_std": perm.importances_std})
    try:
        out["shap"] = np.abs(_shap_values(est, X)).mean(axis=0)
    except Conflict:  # not a tree ensemble: permutation importance only
        out["shap"] = np.nan
    return out.sort_values(["shap", "permutation"], ascending=False).reset_index(drop=True)


def _shap_values(est, X: np.ndarray) -> np.ndarray:
    import shap

    try:
        values = shap.TreeExplainer(est).shap_values(X)
    except Exception as exc:  # shap refuses models it cannot walk (InvalidModelError and friends)
        raise Conflict(f"SHAP values need a tree model ({type(exc).__name__})", field="version") from exc
    return values[1] if isinstance(values, list) else values


def last_decision(name: str) -> dict | None:
    """The champion's newest recorded signal and the features that pushed it, largest first."""
    from dashapp.services.models import registry

    model, version = drift.subject(name)
    row = db.session.execute(sa.select(MlShadowSignal).where(MlShadowSignal.version_id == version.id)
                             .order_by(MlShadowSignal.ts.desc()).limit(1)).scalar()
    if row is None:
        return None
    frame, _ = shadow.feature_rows(model, version, since=row.ts.date())
    x = frame.loc[frame.index == row.ts, version.features]
    if x.empty:
        return None
    est = registry.load_estimator(version)
    try:
        contrib = _shap_values(est, x.to_numpy())[0]
    except Conflict:
        return None
    order = np.argsort(-np.abs(contrib))[:6]
    return {"version": version.version, "ts": row.ts, "signal": row.signal, "probability": row.probability,
            "contributions": [(version.features[i], float(x.iloc[0, i]), float(contrib[i])) for i in order]}
