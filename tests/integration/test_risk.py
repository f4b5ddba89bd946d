"""Risk services on both databases: limits (validated, audited, role-checked), the monitor's breach
actions, VaR by method, the what-if and stress scenarios, on a small book sent through ingest."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dashapp import kernels
from dashapp.extensions import db
from dashapp.services import audit, controls, desk
from dashapp.services.errors import PermissionDenied, ValidationError
from dashapp.services.risk import limits, measures, monitor, stress, whatif
from dashapp.services.risk.book import load_book
from models import Instrument
from tests.support.governance import relax_limit
from tests.support.trading import fill, order


@pytest.fixture
def book(api):
    """AAPL and XOM with 300 days of daily history, a long AAPL and a short XOM position."""
    rng = np.random.default_rng(4)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    bars = []
    for symbol, drift in (("AAPL", 0.0005), ("XOM", 0.0)):
        price = 100.0
        for d in range(300):
            new = price * (1 + drift + rng.normal(0, 0.015))
            bars.append({"instrument": symbol, "interval": "1d", "ts": (start + timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
    assert api("bars", bars).status_code == 200
    now = datetime.now(timezone.utc)
    assert api("quotes", [{"instrument": "AAPL", "ts": now.isoformat(), "bid": 99.9, "ask": 100.1},
                          {"instrument": "XOM", "ts": now.isoformat(), "bid": 49.9, "ask": 50.1}]).status_code == 200
    assert api("orders", [order("b", qty=10_000), order("s", side="sell", qty=4_000, instrument="XOM")]).status_code == 200
    assert api("fills", [fill("f1", "b", 10_000, 100.0), fill("f2", "s", 4_000, 50.0)]).status_code == 200
    return api


def test_var_table_has_every_method_and_cvar_exceeds_var(book):
    table = measures.var_table(load_book())
    total = table[table["scope"] == "TOTAL"].set_index("level")
    assert set(total.index) == {0.95, 0.99}
    for level in (0.95, 0.99):
        row = total.loc[level]
        assert row["historical_cvar"] >= row["historical_var"] > 0
        assert row["parametric_cvar"] >= row["parametric_var"] > 0
        assert row["monte_carlo_var"] > 0 and row["cornish_fisher_var"] > 0
    assert total.loc[0.99, "historical_var"] >= total.loc[0.95, "historical_var"]


def test_limit_edit_is_validated_role_checked_and_audited(book):
    with pytest.raises(PermissionDenied):
        limits.save_limit("vic", "viewer", "gross_exposure", "*", 1e6)
    with pytest.raises(PermissionDenied):
        limits.save_limit("tom", "trader", "gross_exposure", "*", 1e6)
    with pytest.raises(ValidationError) as err:
        limits.save_limit("rita", "risk", "gross_exposure", "*", -5)
    assert err.value.field == "limit_value"
    with pytest.raises(ValidationError) as err:
        limits.save_limit("rita", "risk", "drawdown", "*", 5)  # a fraction, at most 1
    assert err.value.field == "limit_value"
    with pytest.raises(ValidationError) as err:
        limits.save_limit("rita", "risk", "leverage", "*", 2)
    assert err.value.field == "kind"
    row = limits.save_limit("rita", "risk", "gross_exposure", "*", 2e6, 0.5, "alert")
    assert row.limit_value == 2e6 and audit.query(action="risk.limit_save")[0].actor == "rita"


def test_utilisation_follows_the_limit(book):
    limits.ensure_defaults()
    limits.save_limit("rita", "risk", "gross_exposure", "*", 10e6)
    low = [u for u in monitor.evaluate().utilisation if u.kind == "gross_exposure"][0]
    assert low.value == pytest.approx(10_000 * 100 + 4_000 * 50, rel=1e-6)  # delta-one exposure at the mids
    limits.save_limit("rita", "risk", "gross_exposure", "*", 1.5e6)
    high = [u for u in monitor.evaluate().utilisation if u.kind == "gross_exposure"][0]
    assert high.utilisation == pytest.approx(1.2e6 / 1.5e6) and high.status == "WARNING"


def test_breach_with_block_action_blocks_engine_orders_and_clears(book):
    limits.ensure_defaults()
    limits.save_limit("rita", "risk", "gross_exposure", "*", 1e6, 0.8, "block_new_orders")
    monitor.evaluate()
    view = controls.engine_view()
    assert "gross_exposure" in view.block_new_orders_reason
    assert audit.query(action="risk.breach")
    monitor.evaluate()
    assert len(audit.query(action="risk.breach")) == 1, "a breach is recorded once, not every evaluation"
    relax_limit("gross_exposure", 5e6, 0.8, "block_new_orders")  # a relaxation: four-eyes
    monitor.evaluate()
    assert controls.engine_view().block_new_orders_reason == ""
    assert audit.query(action="risk.breach_closed")


def test_breach_with_kill_switch_action_trips_it(book):
    limits.ensure_defaults()
    limits.save_limit("rita", "risk", "net_exposure", "*", 1e5, 0.8, "kill_switch")
    monitor.evaluate()
    assert controls.kill_switch().active
    assert "limit breach" in controls.kill_switch().reason


def test_what_if_shows_var_and_limit_change(book):
    limits.ensure_defaults()
    result = whatif.what_if("AAPL", "buy", 20_000)
    assert result["var99_after"] > result["var99_before"]
    gross = [r for r in result["limits"] if r["limit"].startswith("gross_exposure")][0]
    assert gross["after"] > gross["before"]
    with pytest.raises(ValidationError) as err:
        whatif.what_if("NOPE", "buy", 1)
    assert err.value.field == "instrument"
    with pytest.raises(ValidationError) as err:
        whatif.what_if("AAPL", "hold", 1)
    assert err.value.field == "side"


def test_stress_hypothetical_shock_is_linear_for_stocks(book):
    frame = stress.apply(load_book(), stress.Scenario("x", "hypothetical", "", equity_shock=-0.10))
    by_symbol = frame.groupby("symbol")["pnl"].sum()
    assert by_symbol["AAPL"] == pytest.approx(-0.10 * 10_000 * 100.0)
    assert by_symbol["XOM"] == pytest.approx(0.10 * 4_000 * 50.0)
    result = stress.run_all()
    names = [s["name"] for s in result["scenarios"]]
    assert any(n.startswith("Equity -20%") for n in names)
    assert all(s["result"] in ("PASS", "FAIL") for s in result["scenarios"])


def _instrument_id(symbol: str) -> int:
    return db.session.execute(sa.select(Instrument.id).where(Instrument.symbol == symbol)).scalar_one()


def _two_strategy_book():
    """The fixture's MOM book plus a hypothetical MR position, so there are three VaR scopes."""
    extra = pd.DataFrame([{"strategy": "MR", "instrument_id": _instrument_id("XOM"), "quantity": 6_000.0}])
    return load_book(extra)


def test_monte_carlo_simulates_once_for_every_scope_and_level(book):
    b = _two_strategy_book()
    mc = measures.monte_carlo(b)
    weights = b.exposure_matrix()
    weights["TOTAL"] = weights.sum(axis=1)
    assert list(weights.columns) == ["MOM", "MR", "TOTAL"]
    assert set(mc) == {(scope, level) for scope in weights.columns for level in measures.LEVELS}
    for scope in weights.columns:
        for level in measures.LEVELS:
            alone = kernels.monte_carlo_var(b.returns.to_numpy(), (weights[scope] / b.equity).to_numpy(), level,
                                            n_paths=measures.MC_PATHS, seed=measures.MC_SEED)
            assert mc[(scope, level)] == alone, (scope, level)  # same paths, same numbers
    table = measures.var_table(b).set_index(["scope", "level"])
    for key, value in mc.items():
        assert table.loc[key, "monte_carlo_var"] == pytest.approx(value * b.equity, rel=1e-15)
    assert measures.var_table(b).equals(measures.var_table(b)), "a fixed seed gives the same table every refresh"


def test_book_uses_the_latest_mid_and_option_delta(book):
    now = datetime.now(timezone.utc)
    assert book("quotes", [
        {"instrument": "AAPL", "ts": (now - timedelta(hours=1)).isoformat(), "bid": 89.9, "ask": 90.1},
        {"instrument": "AAPL", "ts": (now + timedelta(seconds=5)).isoformat(), "bid": 109.9, "ask": 110.1},
        {"instrument": "AAPL 2026-06-19 C200", "ts": now.isoformat(), "bid": 1.9, "ask": 2.1}]).status_code == 200
    option = _instrument_id("AAPL 2026-06-19 C200")
    b = load_book(pd.DataFrame([{"strategy": "MR", "instrument_id": option, "quantity": 10.0}]))
    rows = b.positions.set_index("symbol")
    assert rows.loc["AAPL", "exposure"] == pytest.approx(10_000 * 110.0)  # the newest quote's mid
    assert rows.loc["XOM", "exposure"] == pytest.approx(-4_000 * 50.0)
    vol = b.returns[_instrument_id("AAPL")].std() * np.sqrt(252)
    expiry = b.instruments.at[option, "expiry"]
    years = max((expiry - date.today()).days, 1) / 365.0
    delta = float(np.asarray(kernels.black_scholes(110.0, 200.0, years, vol, 0.03, 0.0, True).delta))
    assert rows.loc["AAPL 2026-06-19 C200", "exposure"] == pytest.approx(10 * 100 * delta * 110.0, rel=1e-12)
    assert rows.loc["AAPL 2026-06-19 C200", "notional"] == pytest.approx(10 * 100 * 2.0)
    matrix = b.exposure_matrix()
    assert matrix.loc[_instrument_id("AAPL"), "MOM"] == pytest.approx(1.1e6)
    assert matrix.loc[_instrument_id("AAPL"), "MR"] == pytest.approx(10 * 100 * delta * 110.0, rel=1e-12)
    totals = measures.exposure_totals(b)
    assert totals["by_sector"]["Energy"] == pytest.approx(-2e5)
    assert totals["by_instrument"].to_dict() == pytest.approx(b.positions.groupby("symbol")["exposure"].sum().to_dict())
    assert totals["gross"] == pytest.approx(b.positions["exposure"].abs().sum())


def test_day_pnl_and_drawdown_follow_the_equity_curve(api):
    """Snapshots at uneven times per strategy: each strategy's last equity carries forward."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    points = [("MOM", 40, 1000.0), ("MR", 35, 500.0), ("MOM", 30, 1100.0), ("MOM", 3, 1050.0), ("MR", 2, 450.0),
              ("MOM", 1, 900.0), ("MR", 1, 470.0)]
    assert api("pnl_snapshots", [{"strategy": s, "ts": (now - timedelta(hours=h)).isoformat(), "equity": e}
                                 for s, h, e in points]).status_code == 200
    curve = desk.equity_curve(since_days=2)
    np.testing.assert_allclose(curve["equity"], [1000, 1500, 1600, 1550, 1500, 1370])
    np.testing.assert_allclose(curve["drawdown"].iloc[-1], 1370 / 1600 - 1)
    # reference: the pandas pivot / ffill this replaced, and "today" as the last point's UTC date
    frame = pd.DataFrame([(now - timedelta(hours=h), s, e) for s, h, e in points], columns=["ts", "s", "equity"])
    wide = frame.pivot_table(index="ts", columns="s", values="equity", aggfunc="last").sort_index().ffill()
    total = wide.sum(axis=1, min_count=1)
    today = total[total.index.date == total.index[-1].date()]
    day_pnl, drawdown = monitor.day_pnl_and_drawdown()
    assert day_pnl == pytest.approx(total.iloc[-1] - today.iloc[0])
    assert drawdown == pytest.approx(1370 / 1600 - 1)
    assert list(curve["ts"]) == list(total.index)
