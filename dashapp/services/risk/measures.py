"""VaR/CVaR by method, drawdown, concentration, correlation and exposure, from the risk book."""
from __future__ import annotations

import numpy as np
import pandas as pd

from dashapp import kernels
from dashapp.services.risk.book import Book

LEVELS = (0.95, 0.99)
METHODS = ("historical", "parametric", "cornish_fisher", "monte_carlo")
MC_PATHS = 10_000
MC_SEED = 11  # fixed: the same book gives the same Monte Carlo VaR on every refresh


def _scope_returns(book: Book) -> tuple[list, np.ndarray]:
    """Scope names (each strategy, then TOTAL) and the (T, scopes) daily returns, as a fraction of
    equity, that the current book would have had."""
    exposures = book.exposure_matrix()
    if exposures.empty:
        return [], np.empty((0, 0))
    by_strategy = book.returns.to_numpy() @ exposures.to_numpy() / book.equity
    return [*exposures.columns, "TOTAL"], np.column_stack([by_strategy, by_strategy.sum(axis=1)])


def pnl_returns(book: Book) -> pd.DataFrame:
    """Daily returns (as a fraction of equity) the current book would have had: one column per
    strategy plus TOTAL. Same-day co-movement of every holding is kept (historical simulation)."""
    scopes, r = _scope_returns(book)
    if not scopes:
        return pd.DataFrame()
    return pd.DataFrame(r, index=book.returns.index, columns=scopes)


def var_table(book: Book) -> pd.DataFrame:
    """Rows: (scope, level); columns: VaR and CVaR per method, as positive losses in account currency.
    Built from arrays in one go (the kernels take the (T, scopes) matrix directly)."""
    scopes, r = _scope_returns(book)
    if not scopes or len(r) < 30:
        return pd.DataFrame()
    parts: dict[str, list] = {name: [] for name in ("historical_var", "historical_cvar", "parametric_var",
                                                    "parametric_cvar", "cornish_fisher_var", "monte_carlo_var")}
    mc = monte_carlo(book)
    for level in LEVELS:
        hist_var, hist_cvar = kernels.historical_var_cvar(r, level)
        par_var, par_cvar = kernels.parametric_var_cvar(r, level)
        parts["historical_var"].append(hist_var)
        parts["historical_cvar"].append(hist_cvar)
        parts["parametric_var"].append(par_var)
        parts["parametric_cvar"].append(par_cvar)
        parts["cornish_fisher_var"].append(kernels.cornish_fisher_var(r, level))
        parts["monte_carlo_var"].append(np.array([mc.get((scope, level), np.nan) for scope in scopes]))
    table = {"scope": scopes * len(LEVELS), "level": np.repeat(np.array(LEVELS, dtype=float), len(scopes))}
    table.update({name: np.concatenate(values) * book.equity for name, values in parts.items()})
    return pd.DataFrame(table)


def monte_carlo(book: Book) -> dict:
    """Correlated simulation (Cholesky of the sample covariance) of the whole book: ONE set of
    paths, priced for every scope (each strategy and the total, rows of a weights matrix) and read
    at every level, so scopes are compared on the same scenarios and a refresh simulates once.
    Keys (scope, level); a scope with no exposure to anything with history is left out."""
    exposures = book.exposure_matrix()
    if exposures.empty or len(book.returns) < 30:
        return {}
    weights = exposures.copy()
    weights["TOTAL"] = weights.sum(axis=1)
    w = weights.to_numpy().T / book.equity  # (scopes, assets)
    live = np.any(w != 0.0, axis=1)
    if not live.any():
        return {}
    var = kernels.monte_carlo_var_many(book.returns.to_numpy(), w[live], LEVELS, n_paths=MC_PATHS, horizon=1,
                                       seed=MC_SEED)
    scopes = [scope for scope, on in zip(weights.columns, live) if on]
    return {(scope, level): float(var[i, j]) for i, scope in enumerate(scopes) for j, level in enumerate(LEVELS)}


def structure(book: Book) -> dict:
    """Concentration (HHI, top 5), correlation of holdings, sector and currency exposure."""
    if book.positions.empty:
        return {}
    by_instrument = book.positions.groupby("symbol")["exposure"].sum()
    conc = kernels.concentration(by_instrument.to_numpy(), top_n=5)
    corr = kernels.correlation_matrix(book.returns) if len(book.returns.columns) > 1 else pd.DataFrame()
    names = book.instruments["symbol"].to_dict()
    if isinstance(corr, pd.DataFrame) and not corr.empty:
        corr = corr.rename(index=names, columns=names)
    sectors = book.positions.groupby("sector")["exposure"].agg(net="sum", gross=lambda s: s.abs().sum())
    currencies = book.positions.assign(ccy=book.positions["instrument_id"].map(book.instruments["currency"])) \
        .groupby("ccy")["exposure"].sum()
    return {"hhi": conc.hhi, "effective_n": conc.effective_n, "top5_share": conc.top_n_share,
            "by_instrument": by_instrument, "correlation": corr, "sectors": sectors.reset_index(),
            "currencies": currencies}


def _sum_by(keys, values: np.ndarray) -> pd.Series:
    """values summed per key, keys sorted (groupby().sum() without its per-call overhead)."""
    names, codes = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    return pd.Series(np.bincount(codes, weights=values, minlength=len(names)), index=pd.Index(names))


def exposure_totals(book: Book) -> dict:
    if book.positions.empty:
        return {"gross": 0.0, "net": 0.0, "by_instrument": pd.Series(dtype=float), "by_sector": pd.Series(dtype=float)}
    exp = book.positions["exposure"].to_numpy()
    return {"gross": float(np.abs(exp).sum()), "net": float(exp.sum()),
            "by_instrument": _sum_by(book.positions["symbol"], exp),
            "by_sector": _sum_by(book.positions["sector"], exp)}
