"""The paper engine's pure parts: risk gate, strategies, position arithmetic, routing invariants."""
from __future__ import annotations

from collections import deque
from datetime import datetime, timezone

import numpy as np
import pytest

from dashapp.engine.risk_gate import GateLimits, check
from dashapp.engine.router import Router
from dashapp.engine.strategies import MeanReversion, Momentum, SignalOut, target_quantity
from dashapp.engine.universe import load_daily_closes, reference_data
from dashapp.services.positions import PositionState, apply_fill

LIMITS = GateLimits(max_position_notional=100_000, max_order_notional=50_000, max_orders_per_minute=5,
                    daily_loss_limit=10_000)


def test_gate_allows_small_orders():
    assert check(100, 100.0, 0, 0, 0.0, LIMITS).decision == "allow"


def test_gate_blocks_on_kill_switch_and_cockpit_block_first():
    assert check(1, 1.0, 0, 0, 0.0, LIMITS, kill_switch=True).rule == "kill_switch"
    assert check(1, 1.0, 0, 0, 0.0, LIMITS, blocked_reason="VaR limit breached").rule == "cockpit_block"


def test_gate_scales_order_notional_and_position():
    order_cap = check(1000, 100.0, 0, 0, 0.0, LIMITS)  # 100k notional > 50k cap
    assert order_cap.decision == "scale" and order_cap.quantity == 500
    position_cap = check(400, 100.0, 800, 0, 0.0, LIMITS)  # room for 200 more
    assert position_cap.decision == "scale" and position_cap.quantity == 200 and position_cap.rule == "max_position"
    assert check(-300, 100.0, 800, 0, 0.0, LIMITS).decision == "allow"  # reducing is always fine


def test_gate_blocks_rate_and_daily_loss_but_lets_risk_reduce():
    assert check(1, 1.0, 0, 5, 0.0, LIMITS).rule == "order_rate"
    assert check(10, 1.0, 10, 0, -20_000.0, LIMITS).rule == "daily_loss"
    assert check(-10, 1.0, 10, 0, -20_000.0, LIMITS).decision == "allow"


def test_strategies_signal_directions():
    up = deque(np.linspace(100, 110, 40))
    assert Momentum(lookback=20, threshold=0.002).signal(up).direction == 1
    spike = deque(list(np.full(29, 100.0)) + [110.0])
    assert MeanReversion(window=30, entry_z=1.5).signal(spike).direction == -1
    assert Momentum().signal(deque([1.0, 2.0])) is None


def test_target_quantity_rounds_to_lots():
    assert target_quantity(SignalOut(1, 1.0), 10_000, 3.0, lot=1000) == 3000
    assert target_quantity(SignalOut(-1, 0.5), 10_000, 100.0) == -50
    assert target_quantity(SignalOut(0, 1.0), 10_000, 100.0) == 0


@pytest.mark.parametrize("fills, qty, cost, realized", [
    ([("buy", 10, 100.0), ("buy", 10, 110.0)], 20, 105.0, 0.0),
    ([("buy", 10, 100.0), ("sell", 4, 120.0)], 6, 100.0, 80.0),
    ([("sell", 10, 50.0), ("buy", 10, 40.0)], 0, 0.0, 100.0),
    ([("buy", 5, 10.0), ("sell", 8, 12.0)], -3, 12.0, 10.0),
])
def test_average_cost_accounting(fills, qty, cost, realized):
    pos = PositionState()
    for side, q, p in fills:
        pos = apply_fill(pos, side, q, p)
    assert (pos.quantity, pos.avg_cost, pos.realized_pnl) == (pytest.approx(qty), pytest.approx(cost), pytest.approx(realized))


def test_router_children_add_up_and_fills_never_exceed_orders():
    router = Router(np.random.default_rng(3), "paper-1")
    now = datetime(2026, 1, 5, 15, tzinfo=timezone.utc)
    for n in range(200):
        parent = {"client_order_id": f"P{n}", "strategy": "MOM", "instrument": "AAPL", "side": "buy" if n % 2 else "sell",
                  "order_type": "market", "quantity": 100.0 + n, "created_at": now.isoformat(), "arrival_mid": 100.0,
                  "filled_quantity": 0.0}
        result = router.route(parent, "equity", 100.0, 0.02, now)
        children = result.orders[1:]
        assert sum(c["quantity"] for c in children) == pytest.approx(parent["quantity"])
        for child in children:
            filled = sum(f["quantity"] for f in result.fills if f["client_order_id"] == child["client_order_id"])
            assert filled <= child["quantity"] + 1e-9
        assert parent["status"] in ("filled", "canceled", "expired", "acknowledged", "partially_filled")


def test_bundled_history_and_reference_data():
    closes = load_daily_closes()
    assert closes.shape[1] == 21 and len(closes) > 2500 and np.isfinite(closes.to_numpy()).all()
    ref = reference_data(closes, datetime(2026, 1, 5).date())
    kinds = {i["asset_class"] for i in ref["instruments"]}
    assert kinds == {"equity", "fx", "option", "index"}
    assert len([i for i in ref["instruments"] if i["asset_class"] != "option"]) >= 20
    assert len(ref["venues"]) >= 3
