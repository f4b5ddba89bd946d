"""Model operations metrics for alert rules, one sample per model (labels: model, version of the watched
alias): share of features drifted (block-permutation p-value and effect-size floor), the largest feature
PSI, prediction PSI, hit-rate decay after the training window, and the model's age in days. Drift is
recomputed at most every CACHE_SECONDS per model version (rules evaluate far more often)."""
from __future__ import annotations

import time
from datetime import datetime

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.alerts.metrics import MetricSource, Sample, register_metric
from dashapp.services.errors import ServiceError
from models import MlModel

CACHE_SECONDS = 300.0
MAX_MODELS = 50
_cache: dict[tuple[str, int], tuple[float, dict]] = {}

METRICS = {"drifted_share": ("Model: share of features drifted", "ratio"),
           "max_psi": ("Model: largest feature PSI", "ratio"),
           "prediction_psi": ("Model: prediction PSI", "ratio"),
           "hit_rate_decay": ("Model: hit-rate decay after the training window", "ratio"),
           "age_days": ("Model: age of the watched version", "days")}


def _summaries() -> list[tuple[dict, dict]]:
    from dashapp.services.models import drift

    out = []
    names = db.session.execute(sa.select(MlModel.name).order_by(MlModel.name).limit(MAX_MODELS)).scalars().all()
    for name in names:
        try:
            _model, version = drift.subject(name)
        except ServiceError:
            continue
        key = (name, version.version)
        cached = _cache.get(key)
        if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
            try:
                cached = (time.monotonic(), drift.summary_metrics(name))
            except (ServiceError, ValueError):
                continue
            _cache[key] = cached
        out.append(({"model": name, "version": str(version.version)}, cached[1]))
    return out


def _current(metric: str):
    def current(_now: datetime) -> list[Sample]:
        return [Sample(labels, values.get(metric)) for labels, values in _summaries()]

    return current


for _name, (_title, _unit) in METRICS.items():
    register_metric(MetricSource(f"models.{_name}", _title, _unit, ("model", "version"), _current(_name)))


BUILTIN_RULES = [
    dict(name="Model feature drift", kind="threshold", severity="warning", labels={"area": "models"},
         description="More than a quarter of a model's features drifted from its training window "
                     "(block-permutation p < 0.01 and KS >= 0.1).",
         spec={"metric": "models.drifted_share", "op": ">", "value": 0.25, "every_seconds": 300, "no_data": "ok"}),
    dict(name="Model prediction drift", kind="threshold", severity="warning", labels={"area": "models"},
         description="The champion's predicted probabilities moved from the training window (PSI > 0.25).",
         spec={"metric": "models.prediction_psi", "op": ">", "value": 0.25, "every_seconds": 300, "no_data": "ok"}),
    dict(name="Model performance decay", kind="threshold", severity="high", labels={"area": "models"},
         description="The hit rate after the training window is 5 points or more below out of sample.",
         spec={"metric": "models.hit_rate_decay", "op": ">=", "value": 0.05, "every_seconds": 300,
               "no_data": "ok"}),
    dict(name="Model stale", kind="threshold", severity="info", labels={"area": "models"},
         description="The watched model version is older than 90 days: retrain.",
         spec={"metric": "models.age_days", "op": ">", "value": 90, "every_seconds": 3600, "no_data": "ok"}),
]


def ensure_builtin_rules() -> None:
    from dashapp.services.alerts import rules

    for rule in BUILTIN_RULES:
        rules.ensure_builtin_rule(**rule)
