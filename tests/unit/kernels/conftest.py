"""Fixtures for the kernel tests: real daily returns (see data/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "data" / "sp500_daily_closes.csv"


@pytest.fixture(scope="session")
def prices() -> pd.DataFrame:
    return pd.read_csv(DATA, index_col="Date", parse_dates=True)


@pytest.fixture(scope="session")
def returns(prices) -> pd.DataFrame:
    """Simple daily returns of six stocks and the S&P 500 index (1,759 days)."""
    return prices.pct_change().iloc[1:]


@pytest.fixture(scope="session")
def stocks(returns) -> pd.DataFrame:
    return returns.drop(columns="SP500")


@pytest.fixture(scope="session")
def aapl(returns) -> pd.Series:
    return returns["AAPL"]


@pytest.fixture(scope="session")
def spx(returns) -> pd.Series:
    return returns["SP500"]


@pytest.fixture(scope="session")
def stocks_array(stocks) -> np.ndarray:
    return np.ascontiguousarray(stocks.to_numpy())
