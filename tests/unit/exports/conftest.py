"""A small desk in the store (through the ingest service): the reference data of
tests/support/trading.py, 60 orders across two strategies, two instruments, two venues and four
statuses (one minute apart from T0), and a fill for each filled order."""
from __future__ import annotations

import pytest

from tests.support.trading import REFERENCE, fill, order

STATUSES = ("filled", "new", "canceled", "rejected")
N_ORDERS = 60


def order_item(i: int) -> dict:
    status = STATUSES[i % 4]
    extra = {"strategy": "MOM" if i % 2 == 0 else "MR", "instrument": "AAPL" if i % 3 else "XOM",
             "venue": "XNAS" if i % 5 else "LP1"}
    if status == "filled":
        extra.update(filled_quantity=100, avg_fill_price=190.5)
    if status == "rejected":
        extra["reject_reason"] = "=cmd|' /C calc'!A0"  # a hostile engine string
    return order(f"o{i:03d}", side="buy" if i % 3 else "sell", qty=100, status=status, minutes=i, **extra)


def seed_desk(engine_id: str = "paper-1") -> None:
    from dashapp.services.ingest import ingest_batch

    for kind, items in REFERENCE.items():
        ingest_batch(kind, engine_id, items)
    items = [order_item(i) for i in range(N_ORDERS)]
    ingest_batch("orders", engine_id, items)
    fills = [fill(f"f{i:03d}", item["client_order_id"], 100, 190.5, minutes=i + 0.02, venue=item["venue"])
             for i, item in enumerate(items) if item["status"] == "filled"]
    ingest_batch("fills", engine_id, fills)


@pytest.fixture
def desk(server):
    seed_desk()
    return server
