"""Concentration, correlation and group exposure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dashapp.kernels as k


def test_concentration_hand_computed():
    c = k.concentration(np.array([0.5, 0.3, 0.2]), top_n=2)
    assert c.hhi == pytest.approx(0.25 + 0.09 + 0.04)
    assert c.effective_n == pytest.approx(1 / 0.38)
    assert c.top_n_share == pytest.approx(0.8)


def test_concentration_uses_gross_weights_and_currency():
    # a long/short book in dollars: |w| normalised by gross 2,000,000
    c = k.concentration([1_000_000, -500_000, 500_000], top_n=1)
    assert c.hhi == pytest.approx(0.5**2 + 0.25**2 + 0.25**2)
    assert c.top_n_share == pytest.approx(0.5)


def test_concentration_equal_weights_and_history(stocks):
    n = stocks.shape[1]
    c = k.concentration(np.full(n, 1.0 / n))
    assert c.hhi == pytest.approx(1 / n) and c.effective_n == pytest.approx(n)
    history = stocks.abs()  # one "portfolio" per day
    ch = k.concentration(history, top_n=3)
    assert isinstance(ch.hhi, pd.Series) and ch.hhi.index.equals(stocks.index)
    w = history.div(history.sum(axis=1), axis=0)
    pd.testing.assert_series_equal(ch.hhi, (w**2).sum(axis=1), rtol=1e-12, check_names=False)
    top3 = np.sort(w.to_numpy(), axis=1)[:, -3:].sum(axis=1)
    np.testing.assert_allclose(ch.top_n_share, top3, rtol=1e-12)


def test_concentration_zero_book_and_bad_input():
    assert np.isnan(k.concentration([0.0, 0.0]).hhi)
    with pytest.raises(ValueError, match="weights"):
        k.concentration([])
    with pytest.raises(ValueError, match="NaN"):
        k.concentration([0.5, np.nan])
    with pytest.raises(ValueError, match="top_n"):
        k.concentration([0.5, 0.5], top_n=0)


def test_correlation_matches_numpy_and_pandas(stocks, stocks_array):
    np.testing.assert_allclose(k.correlation_matrix(stocks_array), np.corrcoef(stocks_array, rowvar=False),
                               rtol=1e-12, atol=1e-14)
    ours = k.correlation_matrix(stocks)
    pd.testing.assert_frame_equal(ours, stocks.corr(), rtol=1e-12)
    assert np.all(np.diag(ours) == pytest.approx(1.0))


def test_correlation_constant_column_is_nan(stocks_array):
    r = stocks_array[:, :3].copy()
    r[:, 1] = 0.001
    c = k.correlation_matrix(r)
    assert np.isnan(c[1]).all() and np.isnan(c[:, 1]).all()
    assert c[0, 2] == pytest.approx(np.corrcoef(r[:, 0], r[:, 2])[0, 1])


def test_exposure_by_sector_and_currency():
    values = np.array([100.0, -40.0, 250.0, 30.0])
    sectors = ["Tech", "Energy", "Tech", "Energy"]
    net = k.exposure_by(values, sectors)
    expected = pd.Series(values).groupby(sectors).sum()
    np.testing.assert_allclose(net.to_numpy(), expected.to_numpy())
    assert list(net.index) == ["Energy", "Tech"]
    gross = k.exposure_by(values, pd.Series(sectors), gross=True)
    assert gross["Energy"] == 70.0 and gross["Tech"] == 350.0


def test_exposure_by_over_time(stocks):
    currency = ["USD", "USD", "EUR", "USD", "EUR", "GBP"]
    out = k.exposure_by(stocks, currency)
    assert isinstance(out, pd.DataFrame) and out.index.equals(stocks.index)
    expected = stocks.T.groupby(currency).sum().T
    pd.testing.assert_frame_equal(out, expected[out.columns], check_names=False, rtol=1e-12)


def test_exposure_by_validation():
    with pytest.raises(ValueError, match="one label per position"):
        k.exposure_by([1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match="missing labels"):
        k.exposure_by([1.0, 2.0], ["a", None])
    with pytest.raises(ValueError, match="NaN"):
        k.exposure_by([1.0, np.nan], ["a", "b"])
    out = k.exposure_by([1.0, 2.0, 3.0], [1, "a", 1])  # mixed label types compare as text
    assert out["1"] == 4.0


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_hhi_bounds(w):
    c = k.concentration(w)
    if np.abs(w).sum() == 0:
        assert np.isnan(c.hhi)
    else:
        assert 1.0 / len(w) - 1e-12 <= c.hhi <= 1.0 + 1e-12
        assert 0.0 < c.top_n_share <= 1.0 + 1e-12
