"""Validation gates a version must pass before it may be promoted. Each gate is a dict stored with the
version: {name, label, passed, value, threshold, detail}; `registry.promote` refuses a version with a failed
gate and names it.

1. data_quality: no missing values, values in plausible ranges, and no leakage (features recomputed on the
   history cut at their decision time are identical; every feature precedes its label).
2. walk_forward: the chosen configuration's purged walk-forward out-of-sample Sharpe (annualised) meets the
   floor (the folds purge overlapping labels and leave an embargo before each test block).
3. deflated_sharpe: the DSR of that out-of-sample Sharpe given the real number of configurations tried and
   the variance of their Sharpe ratios (Bailey & Lopez de Prado) meets the floor.
4. diebold_mariano: against the champion's configuration re-evaluated on the same folds, the challenger's
   Brier loss is not significantly worse (HLN-corrected DM, one-sided at dm_alpha). No champion: passes.
5. risk_impact: a backtest of the out-of-sample signals has a 99% one-day historical VaR and a maximum
   drawdown within limits (the desk's kernels: dashapp.kernels.var / drawdown).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashapp.kernels import drawdown as dd_kernels
from dashapp.kernels import validation_stats as vs
from dashapp.kernels import var as var_kernels
from dashapp.services.models import features as feat

LABELS = {"data_quality": "Data quality", "walk_forward": "Walk-forward OOS", "deflated_sharpe": "Deflated Sharpe",
          "diebold_mariano": "Diebold-Mariano vs champion", "risk_impact": "Risk impact"}
ANNUAL = math.sqrt(252)


def _gate(name: str, passed: bool, value, threshold, detail: dict) -> dict:
    def clean(x):
        if isinstance(x, (np.floating, float)):
            return None if not np.isfinite(x) else round(float(x), 6)
        if isinstance(x, np.integer):
            return int(x)
        return x

    return {"name": name, "label": LABELS[name], "passed": bool(passed), "value": clean(value),
            "threshold": clean(threshold), "detail": {k: clean(v) for k, v in detail.items()}}


def data_quality(close: pd.Series, market, ds: feat.Dataset, seed: int) -> dict:
    q = feat.quality(ds.X)
    leak = feat.leakage_check(close, market, ds.X, seed=seed)
    passed = q["passed"] and leak["passed"]
    return _gate("data_quality", passed, q["missing"] + q["out_of_range"] + len(leak["mismatched"]), 0,
                 {"rows": q["rows"], "missing": q["missing"], "out_of_range": q["out_of_range"],
                  "leakage_rows_checked": leak["rows_checked"], "leakage_mismatches": len(leak["mismatched"]),
                  "feature_before_label": leak["feature_before_label"]})


def brier(oos: pd.DataFrame) -> np.ndarray:
    return (oos["prob"].to_numpy() - oos["y"].to_numpy()) ** 2


def diebold_mariano_gate(best_oos: pd.DataFrame, champion_oos: pd.DataFrame | None, alpha: float) -> tuple[dict, dict]:
    if champion_oos is None:
        return _gate("diebold_mariano", True, None, alpha, {"note": "no champion yet: nothing to compare"}), {}
    joined = best_oos[["prob", "y"]].join(champion_oos[["prob"]], rsuffix="_champion", how="inner")
    loss_challenger = (joined["prob"] - joined["y"]) ** 2
    loss_champion = (joined["prob_champion"] - joined["y"]) ** 2
    dm = vs.diebold_mariano(loss_champion.to_numpy(), loss_challenger.to_numpy(), h=1)
    worse = dm["p_less"] < alpha  # champion significantly more accurate
    detail = {"statistic": dm["statistic"], "p_challenger_better": dm["p_greater"],
              "p_challenger_worse": dm["p_less"], "n": dm["n"],
              "brier_challenger": float(loss_challenger.mean()), "brier_champion": float(loss_champion.mean())}
    return _gate("diebold_mariano", not worse, dm["p_less"], alpha, detail), {"dm_statistic": dm["statistic"],
                                                                             "dm_pvalue": dm["p_greater"]}


def risk_impact(returns: np.ndarray, max_var: float, max_dd: float) -> tuple[dict, dict]:
    var99 = float(var_kernels.historical_var(returns, 0.99))
    mdd = float(dd_kernels.max_drawdown(returns))
    passed = var99 <= max_var and -mdd <= max_dd
    return (_gate("risk_impact", passed, var99, max_var, {"var_99": var99, "max_drawdown": mdd,
                                                          "max_drawdown_limit": max_dd}),
            {"var_99": var99, "max_drawdown": mdd})


def run_all(params, close, market, ds: feat.Dataset, best: dict, results: list[dict],
            champion_oos: pd.DataFrame | None) -> tuple[list[dict], dict]:
    rets = best["returns"]
    oos = best["oos"]
    sharpe_annual = best["sharpe"] * ANNUAL
    dsr = vs.deflated_sharpe_from_returns(rets, [r["sharpe"] for r in results])
    probs = oos["prob"].to_numpy()
    hit = float(((probs > 0.5) == (oos["y"].to_numpy() == 1)).mean())
    metrics = {"oos_sharpe": sharpe_annual, "oos_sharpe_per_period": best["sharpe"], "oos_hit_rate": hit,
               "oos_brier": float(brier(oos).mean()), "oos_rows": int(len(oos)), "train_rows": int(len(ds.X)),
               "deflated_sharpe": dsr["dsr"], "dsr_sr0": dsr["sr0"], "trials": dsr["n_trials"],
               "trial_sharpes": [round(r["sharpe"] * ANNUAL, 4) for r in results],
               "oos_prob_mean": float(probs.mean())}
    gates = [data_quality(close, market, ds, params.seed),
             _gate("walk_forward", sharpe_annual >= params.min_oos_sharpe, sharpe_annual, params.min_oos_sharpe,
                   {"folds": params.folds, "embargo_bars": params.embargo, "purge_bars": 1, "oos_rows": len(oos),
                    "hit_rate": hit}),
             _gate("deflated_sharpe", dsr["dsr"] >= params.min_dsr, dsr["dsr"], params.min_dsr,
                   {"trials": dsr["n_trials"], "sr0_per_period": dsr["sr0"], "sharpe_per_period": dsr["sharpe"],
                    "skew": dsr["skew"], "kurtosis": dsr["kurtosis"], "n_obs": dsr["n_obs"]})]
    dm_gate, dm_metrics = diebold_mariano_gate(oos, champion_oos, params.dm_alpha)
    risk_gate, risk_metrics = risk_impact(rets, params.max_var_99, params.max_drawdown)
    metrics.update(dm_metrics)
    metrics.update(risk_metrics)
    metrics = {k: (round(v, 6) if isinstance(v, float) and np.isfinite(v) else v) for k, v in metrics.items()}
    return gates + [dm_gate, risk_gate], metrics
