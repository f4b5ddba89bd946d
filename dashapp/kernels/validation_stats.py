"""Statistics for promotion gates: the deflated Sharpe ratio and the Diebold-Mariano test.

* ``expected_max_sharpe`` / ``deflated_sharpe_ratio``: Bailey & Lopez de Prado (2014), "The Deflated Sharpe
  Ratio", eqs. for E[max SR_n] under N independent trials and DSR = PSR(SR_0). Sharpe ratios are per period
  (not annualised); kurtosis is the raw (non-excess) kurtosis. Their worked example (N=100, V=1/2 annual,
  T=1250 days, SR=2.5 annual, skew=-3, kurt=10) gives SR_0 = 0.1132 per day and DSR = 0.9004: a test.
* ``diebold_mariano``: DM on a loss differential d = loss_1 - loss_2 with a Bartlett-free (rectangular,
  h-1 lags) long-run variance, and the Harvey-Leybourne-Newbold (1997) small-sample correction, compared
  with Student's t on T-1 degrees of freedom. For h = 1 it equals a one-sample t test of d (a test).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """E[max of N trial Sharpe ratios] when all have true Sharpe 0 (the DSR's benchmark SR_0)."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if sharpe_variance < 0:
        raise ValueError("sharpe_variance must be >= 0")
    if n_trials == 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def probabilistic_sharpe(sharpe: float, benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    if n_obs < 2:
        raise ValueError("n_obs must be >= 2")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe ** 2
    if denom <= 0:
        return float("nan")
    return float(stats.norm.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def deflated_sharpe_ratio(sharpe: float, n_trials: int, sharpe_variance: float, n_obs: int, skew: float,
                          kurtosis: float) -> tuple[float, float]:
    """(DSR, SR_0): the probability that the true Sharpe exceeds what the best of N null trials would show."""
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe(sharpe, sr0, n_obs, skew, kurtosis), sr0


def deflated_sharpe_from_returns(returns, trial_sharpes) -> dict:
    """DSR of the chosen strategy's per-period returns, deflated by the trials actually tried."""
    r = np.asarray(returns, dtype=np.float64)
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    sd = r.std(ddof=1)
    sharpe = float(r.mean() / sd) if sd > 0 else 0.0
    skew = float(stats.skew(r)) if sd > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if sd > 0 else 3.0
    var = float(trials.var(ddof=1)) if len(trials) > 1 else 0.0
    dsr, sr0 = deflated_sharpe_ratio(sharpe, max(len(trials), 1), var, len(r), skew, kurt)
    return {"sharpe": sharpe, "sr0": sr0, "dsr": dsr, "n_trials": int(max(len(trials), 1)),
            "trial_sharpe_variance": var, "skew": skew, "kurtosis": kurt, "n_obs": int(len(r))}


def diebold_mariano(loss_1, loss_2, h: int = 1) -> dict:
    """DM test of equal predictive accuracy; d = loss_1 - loss_2. `statistic` > 0 means model 2 is more
    accurate. p_greater: one-sided p-value that model 2 is better; p_less: that model 1 is better."""
    d = np.asarray(loss_1, dtype=np.float64) - np.asarray(loss_2, dtype=np.float64)
    t = d.shape[0]
    if d.ndim != 1 or t < 3 or not np.isfinite(d).all():
        raise ValueError("losses must be finite 1-D arrays of the same length (>= 3)")
    if not 1 <= h < t:
        raise ValueError("h must be in 1..T-1")
    mean = d.mean()
    c = d - mean
    gamma = [float(c[k:] @ c[:t - k]) / t for k in range(h)]
    lrv = gamma[0] + 2.0 * sum(gamma[1:])
    if lrv <= 0:
        return {"statistic": 0.0, "p_two_sided": 1.0, "p_greater": 0.5, "p_less": 0.5, "n": t, "h": h}
    dm = mean / math.sqrt(lrv / t)
    hln = dm * math.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)
    return {"statistic": float(hln), "p_two_sided": float(2 * stats.t.sf(abs(hln), t - 1)),
            "p_greater": float(stats.t.sf(hln, t - 1)), "p_less": float(stats.t.cdf(hln, t - 1)), "n": t, "h": h}
