"""Drift and staleness of a model's inputs and outputs against its training window: per-feature PSI, KS,
Wasserstein-1 with block-permutation p-values and an effect-size floor (dashapp.kernels.drift), a feature x
month PSI heatmap, prediction drift (KS/PSI of predicted probabilities), performance decay (hit rate after
the window vs out of sample) and the model's age."""
from __future__ import annotations

import numpy as np
import pandas as pd

from dashapp.kernels import drift as kernels
from dashapp.services.errors import NotFound
from dashapp.services.models import registry, shadow
from models import utcnow

MIN_CURRENT = 20
HEATMAP_BINS = 5


def subject(name: str):
    model = registry.get_model(name)
    version = registry.alias_version(model, "champion") or registry.alias_version(model, "challenger")
    if version is None:
        raise NotFound(f"{name} has no champion or challenger to watch", field="model")
    return model, version


def report(name: str, n_perm: int = 199) -> dict:
    model, version = subject(name)
    frame, close = shadow.feature_rows(model, version, since=version.train_start.date())
    cols = list(version.features)
    ref = frame.loc[frame.index <= version.train_end, cols]
    cur = frame.loc[frame.index > version.train_end, cols]
    age = {"age_days": round((utcnow() - version.created_at).total_seconds() / 86400, 2),
           "data_age_days": round((utcnow() - version.train_end).total_seconds() / 86400, 1)}
    base = {"model": name, "version": version.version, "reference_rows": len(ref), "current_rows": len(cur), **age}
    if len(cur) < MIN_CURRENT or len(ref) < MIN_CURRENT:
        return {**base, "table": pd.DataFrame(), "heatmap": None,
                "note": f"{len(cur)} rows after the training window (need {MIN_CURRENT}): nothing to compare yet"}
    table = kernels.drift_table(ref, cur, n_perm=n_perm, seed=version.seed, names=cols)
    # Months for up to nine months after the window, quarters beyond; 5 bins: a slice holds 20-60 rows,
    # and PSI on 10 bins of 20 rows is mostly empty-bin noise.
    periods = cur.index.tz_localize(None).to_period("M" if len(cur) <= 190 else "Q")
    starts = np.r_[np.flatnonzero(np.r_[True, periods[1:] != periods[:-1]]), len(cur)]
    if len(starts) > 2 and starts[1] - starts[0] < MIN_CURRENT:  # a stub first period joins the next one
        starts = np.r_[starts[0], starts[2:]]
    heat = kernels.psi_heatmap(ref.to_numpy(), cur.to_numpy(), starts, bins=HEATMAP_BINS)
    est = registry.load_estimator(version)
    p_ref = est.predict_proba(ref.to_numpy())[:, 1]
    p_cur = est.predict_proba(cur.to_numpy())[:, 1]
    prices = close.reindex(cur.index)
    fwd = (prices.shift(-1) / prices - 1).to_numpy()
    known = np.isfinite(fwd)
    hit = float(((p_cur[known] > 0.5) == (fwd[known] > 0)).mean()) if known.any() else None
    return {**base, "table": table, "heatmap": pd.DataFrame(heat, index=cols,
                                                            columns=[str(m) for m in periods[starts[1:] - 1]]),
            "prediction_ks": kernels.ks(p_ref, p_cur), "prediction_psi": kernels.psi(p_ref, p_cur),
            "hit_rate_now": hit, "hit_rate_oos": version.metrics.get("oos_hit_rate"),
            "drifted": [f for f, d in table["drifted"].items() if d], "note": ""}


def summary_metrics(name: str) -> dict:
    """Scalars for alert sources: share of drifted features, max PSI, prediction PSI, hit-rate decay, age."""
    r = report(name, n_perm=99)
    if r["table"].empty:
        return {"age_days": r["age_days"]}
    decay = None
    if r["hit_rate_now"] is not None and r["hit_rate_oos"] is not None:
        decay = r["hit_rate_oos"] - r["hit_rate_now"]
    return {"drifted_share": len(r["drifted"]) / len(r["table"]), "max_psi": float(r["table"]["psi"].max()),
            "prediction_psi": r["prediction_psi"], "hit_rate_decay": decay, "age_days": r["age_days"]}
