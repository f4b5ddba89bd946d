"""Resuming the paper engine from the store after a restart (or a first start on an old store).

The store is the engine's memory: `GET /api/v1/engines/<id>/recovery` gives what it holds (the same
call any external engine can make), and `resume` puts it back into the fresh process: positions and
day-start equity per strategy, the id sequence (numbering continues, never reused), the last prices
(the paper market continues from them) and the strategies' price windows.

Orphaned working orders (working in the store, unknown to this process) are CANCELED, not
re-adopted: the simulated venues live inside the engine's process, so a resting order died with it
and re-adopting would pretend a venue still holds it. Each cancel is reported with an event that
names the order and the reason ("engine restart"). A real engine would ask its venues instead.
A restart is itself an event (`engine.restart`), which the equity chart marks."""
from __future__ import annotations

from collections import defaultdict, deque
from datetime import date, datetime, timedelta, timezone

from dashapp.engine import reporting
from dashapp.services.positions import PositionState

RESTART_KIND = "engine.restart"  # services.engine_recovery.RESTART_KIND reads it back
RESTART_REASON = "engine restart"


def resume(engine, view: dict, local_last_seq: int = 0) -> reporting.Batch:
    """Apply the recovery view to a freshly built engine; returns the reports the restart makes
    (orphan cancels and the restart event), for the engine to send through its outbox."""
    engine.router.resume_after(max(int(view.get("last_seq") or 0), local_last_seq))
    reported_before = engine.router.last_seq > 0
    positions = _restore_books(engine, view.get("strategies") or {})
    resumed_prices = _restore_prices(engine, view)
    batch = cancel_orphans(engine, view.get("working_orders") or [])
    previous = view.get("state") or {}
    if not (reported_before or positions or batch.orders):
        return batch  # a first start (nothing numbered, held or working) is not a restart
    now = datetime.now(timezone.utc) + timedelta(milliseconds=2)  # after the cancels' stamps
    summary = {"positions": positions, "orphans_canceled": len(view.get("working_orders") or []),
               "prices_resumed": resumed_prices, "seq_from": engine.router.last_seq + 1,
               "previous_pid": previous.get("pid"), "previous_heartbeat_at": previous.get("heartbeat_at"),
               "sim_date": engine.market.sim_date.isoformat(), "sim_step": engine.market.step,
               "book": book_digest(engine)}
    batch.events.append({"event_id": engine.router.next_id("E"), "ts": now.isoformat(), "level": "warning",
                         "kind": RESTART_KIND, "data": summary,
                         "message": f"engine restarted: {positions} position(s) recovered, "
                                    f"{summary['orphans_canceled']} orphaned working order(s) canceled, "
                                    f"{resumed_prices} price(s) continue from the store"})
    return batch


def book_digest(engine) -> dict:
    """The recovered book in a few numbers per strategy (kept in the restart event, so a checker
    can compare it with the store's state at the kill)."""
    out = {}
    for code, (_, book) in engine.strategies.items():
        out[code] = {"cash": round(book.cash(engine.multipliers), 6),
                     "positions": {s: round(p.quantity, 9) for s, p in sorted(book.positions.items()) if p.quantity}}
    return out


def _restore_books(engine, strategies: dict) -> int:
    count = 0
    for code, (_, book) in engine.strategies.items():
        stored = strategies.get(code)
        if not stored:
            continue
        book.positions = defaultdict(PositionState, {
            symbol: PositionState(float(p["quantity"]), float(p["avg_cost"]), float(p["realized_pnl"]), float(p["fees"]))
            for symbol, p in stored.get("positions", {}).items()})
        if stored.get("day_start_equity") is not None:
            book.day_start_equity = float(stored["day_start_equity"])
        count += sum(1 for p in book.positions.values() if p.quantity)
    return count


def _restore_prices(engine, view: dict) -> int:
    last = {s: float(p["mid"]) for s, p in (view.get("last_prices") or {}).items()}
    if not last:
        return 0
    detail = (view.get("state") or {}).get("detail") or {}
    sim_date = _date(detail.get("sim_date"))
    step = detail.get("sim_step") if isinstance(detail.get("sim_step"), int) else None
    resumed = engine.market.resume(last, sim_date, step)
    for symbol, series in (view.get("price_history") or {}).items():
        window = engine.history.prices[symbol]
        engine.history.prices[symbol] = deque((float(v) for v in series), maxlen=window.maxlen)
    engine.mids = dict(last)
    return resumed


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def cancel_orphans(engine, working: list[dict]) -> reporting.Batch:
    """Cancel every order the store says is working: children first, then each parent with what
    its fills came to (canceled with a partial fill, or canceled)."""
    batch = reporting.Batch()
    if not working:
        return batch
    stamp = (datetime.now(timezone.utc) + timedelta(milliseconds=1)).isoformat()
    for order in sorted(working, key=lambda o: o.get("parent_client_order_id") is None):
        item = {k: v for k, v in order.items() if v is not None}
        item.update(status="canceled", canceled_at=stamp, updated_at=stamp)
        if item.get("filled_quantity") and not item.get("partially_filled_at"):
            item["partially_filled_at"] = stamp
        batch.orders.append(item)
        batch.events.append({"event_id": engine.router.next_id("E"), "ts": stamp, "level": "warning",
                             "kind": "order.canceled", "order_client_id": order["client_order_id"],
                             "message": f"{RESTART_REASON}: working order {order['client_order_id']} canceled "
                                        "(its venue session ended with the previous process)",
                             "data": {"reason": RESTART_REASON}})
    return batch
