"""Black-Scholes-Merton price and Greeks: scipy reference, parity, finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import dashapp.kernels as k


def reference(s, kk, t, v, r, q, call):
    """Textbook closed forms (Hull) with scipy.stats.norm."""
    d1 = (np.log(s / kk) + (r - q + 0.5 * v**2) * t) / (v * np.sqrt(t))
    d2 = d1 - v * np.sqrt(t)
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    if call:
        price = s * dq * norm.cdf(d1) - kk * dr * norm.cdf(d2)
        delta = dq * norm.cdf(d1)
        theta = -s * dq * norm.pdf(d1) * v / (2 * np.sqrt(t)) - r * kk * dr * norm.cdf(d2) + q * s * dq * norm.cdf(d1)
        rho = kk * t * dr * norm.cdf(d2)
    else:
        price = kk * dr * norm.cdf(-d2) - s * dq * norm.cdf(-d1)
        delta = -dq * norm.cdf(-d1)
        theta = -s * dq * norm.pdf(d1) * v / (2 * np.sqrt(t)) + r * kk * dr * norm.cdf(-d2) - q * s * dq * norm.cdf(-d1)
        rho = -kk * t * dr * norm.cdf(-d2)
    gamma = dq * norm.pdf(d1) / (s * v * np.sqrt(t))
    vega = s * dq * norm.pdf(d1) * np.sqrt(t)
    return price, delta, gamma, vega, theta, rho


@pytest.fixture(scope="module")
def book():
    rng = np.random.default_rng(5)
    n = 20_000
    s = rng.uniform(20, 200, n)
    kk = s * rng.uniform(0.5, 1.6, n)
    t = rng.uniform(1 / 365, 3.0, n)
    v = rng.uniform(0.05, 1.2, n)
    r = rng.uniform(-0.01, 0.08, n)
    q = rng.uniform(0.0, 0.05, n)
    return s, kk, t, v, r, q


@pytest.mark.parametrize("call", [True, False])
def test_matches_scipy_reference(book, call):
    s, kk, t, v, r, q = book
    got = k.black_scholes(s, kk, t, v, r, q, call)
    want = reference(s, kk, t, v, r, q, call)
    for name, a, b in zip(got._fields, got, want):
        # absolute tolerance relative to the spot: prices and Greeks are money amounts
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11 * s.max(), err_msg=name)


def test_textbook_example():
    # Hull: S=42, K=40, r=10%, sigma=20%, T=0.5 -> call 4.76, put 0.81
    g = k.black_scholes(42.0, 40.0, 0.5, 0.2, 0.1, is_call=True)
    p = k.black_scholes(42.0, 40.0, 0.5, 0.2, 0.1, is_call=False)
    assert g.price == pytest.approx(4.7594, abs=1e-4)
    assert p.price == pytest.approx(0.8086, abs=1e-4)
    assert isinstance(g.price, float)


def test_broadcasting_grid():
    spots = np.linspace(80, 120, 5)[:, None]
    vols = np.array([0.1, 0.2, 0.3])[None, :]
    g = k.black_scholes(spots, 100.0, 1.0, vols, 0.02, 0.0, np.array([True, False, True]))
    assert g.price.shape == (5, 3)
    for i in range(5):
        for j in range(3):
            ref = reference(spots[i, 0], 100.0, 1.0, vols[0, j], 0.02, 0.0, j != 1)
            assert g.price[i, j] == pytest.approx(ref[0], rel=1e-12)
            assert g.rho[i, j] == pytest.approx(ref[5], rel=1e-10)


def test_deep_tails_keep_relative_accuracy():
    # |d| far beyond 3 goes through the erfc path: tiny prices still accurate
    s = np.array([100.0, 100.0, 100.0, 100.0])
    kk = np.array([300.0, 30.0, 300.0, 30.0])
    calls = np.array([True, False, False, True])
    g = k.black_scholes(s, kk, 0.25, 0.2, 0.01, 0.0, calls)
    for i in range(4):
        ref = reference(s[i], kk[i], 0.25, 0.2, 0.01, 0.0, bool(calls[i]))
        assert g.price[i] == pytest.approx(ref[0], rel=1e-8)
        assert g.delta[i] == pytest.approx(ref[1], rel=1e-8)


def test_vega_rho_per_unit_and_theta_per_year():
    base = k.black_scholes(100.0, 100.0, 1.0, 0.25, 0.03, 0.01)
    h = 1e-4
    up_vol = k.black_scholes(100.0, 100.0, 1.0, 0.25 + h, 0.03, 0.01)
    assert (up_vol.price - base.price) / h == pytest.approx(base.vega, rel=1e-3)
    # one day closer to expiry changes the price by about theta / 365
    later = k.black_scholes(100.0, 100.0, 1.0 - 1 / 365, 0.25, 0.03, 0.01)
    assert later.price - base.price == pytest.approx(base.theta / 365, rel=1e-2)


finite_contract = st.tuples(
    st.floats(10, 500), st.floats(0.5, 2.0), st.floats(0.05, 5.0), st.floats(0.05, 1.0),
    st.floats(-0.02, 0.1), st.floats(0.0, 0.08))


@settings(max_examples=300, deadline=None)
@given(finite_contract)
def test_put_call_parity(c):
    s, m, t, v, r, q = c
    kk = s * m
    call = k.black_scholes(s, kk, t, v, r, q, True)
    put = k.black_scholes(s, kk, t, v, r, q, False)
    parity = s * np.exp(-q * t) - kk * np.exp(-r * t)
    assert call.price - put.price == pytest.approx(parity, abs=1e-9 * s)
    assert call.delta - put.delta == pytest.approx(np.exp(-q * t), abs=1e-12)
    assert call.gamma == pytest.approx(put.gamma, rel=1e-12, abs=1e-15)
    assert call.vega == pytest.approx(put.vega, rel=1e-12, abs=1e-12)
    assert call.price >= -1e-12 and put.price >= -1e-12


@settings(max_examples=150, deadline=None)
@given(finite_contract, st.booleans())
def test_greeks_match_central_differences(c, is_call):
    s, m, t, v, r, q = c
    kk = s * m

    def price(**kw):
        args = dict(spot=s, strike=kk, time=t, vol=v, rate=r, dividend_yield=q, is_call=is_call)
        args.update(kw)
        return k.black_scholes(**args).price

    g = k.black_scholes(s, kk, t, v, r, q, is_call)
    # small steps for first derivatives (truncation ~h^2), a larger one for gamma
    spread = s * v * np.sqrt(t)  # gamma is peaked on this scale of spot moves
    hd, hs, hv, hr, ht = 1e-5 * spread, 1e-3 * spread, 1e-5, 1e-5, 1e-5
    fd_delta = (price(spot=s + hd) - price(spot=s - hd)) / (2 * hd)
    fd_gamma = (price(spot=s + hs) - 2 * price() + price(spot=s - hs)) / hs**2
    fd_vega = (price(vol=v + hv) - price(vol=v - hv)) / (2 * hv)
    fd_rho = (price(rate=r + hr) - price(rate=r - hr)) / (2 * hr)
    fd_theta = -(price(time=t + ht) - price(time=t - ht)) / (2 * ht)
    assert g.delta == pytest.approx(fd_delta, rel=1e-5, abs=1e-7)
    roundoff = 1e-14 * (s + kk) / hs**2  # second differences amplify price rounding
    assert g.gamma == pytest.approx(fd_gamma, rel=1e-3, abs=max(1e-6 / s, roundoff))
    assert g.vega == pytest.approx(fd_vega, rel=1e-5, abs=1e-6 * s)
    assert g.rho == pytest.approx(fd_rho, rel=1e-5, abs=1e-6 * s)
    assert g.theta == pytest.approx(fd_theta, rel=1e-4, abs=1e-5 * s)


@pytest.mark.parametrize("field,value", [("spot", -1.0), ("spot", np.nan), ("spot", np.inf), ("strike", 0.0),
                                         ("strike", np.inf), ("time", 0.0), ("time", -1.0), ("vol", np.nan),
                                         ("vol", -0.2), ("vol", 0.0),
                                         ("rate", np.inf), ("dividend_yield", np.nan), ("time", np.inf)])
def test_invalid_contract_raises_naming_it(field, value):
    args = dict(spot=np.full(4, 100.0), strike=100.0, time=1.0, vol=0.2, rate=0.01, dividend_yield=0.0)
    if field in ("spot",):
        args[field] = np.array([100.0, 100.0, value, 100.0])
    else:
        args[field] = value
    with pytest.raises(ValueError, match=r"invalid inputs.*first at index"):
        k.black_scholes(**args)


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match="broadcast"):
        k.black_scholes(np.ones(3), np.ones(2), 1.0, 0.2, 0.0)
    with pytest.raises(ValueError, match="is_call must be a bool"):
        k.black_scholes(100.0, 100.0, 1.0, 0.2, 0.0, 0.0, "call")
    with pytest.raises(ValueError, match="empty"):
        k.black_scholes(np.array([]), 100.0, 1.0, 0.2, 0.0)
    with pytest.raises(ValueError, match="numeric"):
        k.black_scholes("x", 100.0, 1.0, 0.2, 0.0)
