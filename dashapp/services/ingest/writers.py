"""Writers for the low-volume kinds (reference data, fills and the positions they move, engine
state); the high-volume kinds are in `streams.py`. Each resolves references, then writes with one
statement that ignores (or updates) what is already stored, and returns (new rows, updated rows).
Unresolvable references raise before any write of that kind, and the caller's transaction rolls
everything back."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from dashapp.extensions import db
from dashapp.services import positions as pos_math
from dashapp.services.ingest import resolve
from models import Account, EngineState, Fill, Instrument, Position, Strategy, Venue, utcnow


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _without(item: dict, *names: str) -> dict:
    return {k: v for k, v in item.items() if k not in names}


def write_accounts(engine_id, items):
    rows = items
    stmt = _insert(Account)
    stmt = stmt.on_conflict_do_update(index_elements=["code"], set_={"name": stmt.excluded.name,
                                                                     "base_currency": stmt.excluded.base_currency})
    existing = resolve.accounts(r["code"] for r in rows)
    db.session.execute(stmt, rows)
    return len(rows) - len(existing), len(existing)


def write_venues(engine_id, items):
    rows = items
    existing = resolve.venues(r["code"] for r in rows)
    stmt = _insert(Venue)
    stmt = stmt.on_conflict_do_update(index_elements=["code"], set_={"name": stmt.excluded.name,
                                                                     "kind": stmt.excluded.kind})
    db.session.execute(stmt, [{**r, "created_at": utcnow()} for r in rows])
    return len(rows) - len(existing), len(existing)


def write_strategies(engine_id, items):
    problems = []
    account_ids = resolve.refs(items, "account", resolve.accounts, "account", problems)
    resolve.refuse(problems)
    rows = [{**_without(i, "account"), "account_id": a} for i, a in zip(items, account_ids)]
    existing = resolve.ids_by(Strategy.code, (r["code"] for r in rows))
    stmt = _insert(Strategy)
    stmt = stmt.on_conflict_do_update(index_elements=["code"], set_={
        c: stmt.excluded[c] for c in ("name", "kind", "account_id", "allocation", "params", "active")})
    db.session.execute(stmt, rows)
    return len(rows) - len(existing), len(existing)


def write_instruments(engine_id, items):
    problems = []
    underlyings = resolve.instruments(i["underlying"] for i in items if i["underlying"])
    # An underlying may arrive in the same batch, before its options.
    plain = [i for i in items if i["underlying"] is None]
    existing = resolve.instruments(i["symbol"] for i in items)
    if plain:
        db.session.execute(_insert(Instrument).on_conflict_do_nothing(index_elements=["symbol"]),
                           [_without(i, "underlying") for i in plain])
        underlyings.update(resolve.instruments(i["symbol"] for i in plain))
    options = [(n, i) for n, i in enumerate(items) if i["underlying"] is not None]
    rows = []
    for index, item in options:
        underlying = item["underlying"]
        if underlying not in underlyings:
            problems.append({"index": index, "field": "underlying", "message": f"unknown instrument {underlying!r}"})
        rows.append({**_without(item, "underlying"), "underlying_id": underlyings.get(underlying)})
    resolve.refuse(problems)
    if rows:
        db.session.execute(_insert(Instrument).on_conflict_do_nothing(index_elements=["symbol"]), rows)
    return len(items) - len(existing), 0


def write_fills(engine_id, items):
    problems = []
    orders = resolve.refs(items, "client_order_id", lambda ids: resolve.orders(engine_id, ids), "order", problems)
    venues = resolve.refs(items, "venue", resolve.venues, "venue", problems)
    resolve.refuse(problems)
    resolve.lock_orders(o[0] for o in orders)
    rows = []
    for item, order, venue in zip(items, orders, venues):
        order_id, strategy_id, _account, instrument_id, side, _quantity = order
        row = _without(item, "client_order_id", "venue")
        row.update(engine_id=engine_id, order_id=order_id, strategy_id=strategy_id, instrument_id=instrument_id,
                   venue_id=venue, side=side)
        rows.append(row)
    stmt = _insert(Fill).on_conflict_do_nothing(index_elements=["engine_id", "exec_id"]).returning(Fill.exec_id)
    new_ids = set(db.session.execute(stmt, rows).scalars().all()) if rows else set()
    _check_remaining(items, orders, new_ids)  # after the insert: the new fills are counted, under the lock
    # Only fills stored for the first time move positions, so a repeated batch changes nothing (and
    # a fill repeated within the batch moves them once, as it is stored once).
    first = {}
    for row, order in zip(rows, orders):
        if row["exec_id"] in new_ids:
            first.setdefault(row["exec_id"], (row, order))
    _apply_to_positions(list(first.values()))
    return len(new_ids), 0


def _check_remaining(items, orders, new_ids: set) -> None:
    """A fill may not take an order past its quantity: its order's fills stored before this batch,
    plus the new fills before it in the batch (a fill already stored, or repeated in the batch, is a
    duplicate and counts once). Runs after the insert, so a refusal rolls the whole batch back."""
    new = [(index, item, order) for index, (item, order) in enumerate(zip(items, orders))
           if item["exec_id"] in new_ids]
    if not new:
        return
    filled = resolve.filled_quantities(order[0] for _, _, order in new)  # includes this batch's new fills
    seen: set = set()
    for _, item, order in new:
        if item["exec_id"] not in seen:
            seen.add(item["exec_id"])
            filled[order[0]] -= item["quantity"]  # back to what was stored before this batch
    problems, seen = [], set()
    for index, item, order in new:
        if item["exec_id"] in seen:
            continue
        seen.add(item["exec_id"])
        order_id, quantity = order[0], order[5]
        before = filled[order_id]
        if before + item["quantity"] > quantity * (1 + 1e-9):
            problems.append({"index": index, "field": "quantity", "message":
                             f"fill of {item['quantity']:g} exceeds the remaining {max(quantity - before, 0):g} "
                             f"of order {item['client_order_id']!r} (quantity {quantity:g})"})
        filled[order_id] = before + item["quantity"]
    resolve.refuse(problems, "exceed their order's remaining quantity")


def _apply_to_positions(fills: list[tuple[dict, tuple]]) -> None:
    if not fills:
        return
    keys = {(o[2], o[1], o[3]) for _, o in fills}
    multipliers = dict(db.session.execute(sa.select(Instrument.id, Instrument.multiplier)
                                          .where(Instrument.id.in_({k[2] for k in keys}))).all())
    current = {}
    for account_id, strategy_id, instrument_id in keys:
        row = db.session.execute(sa.select(Position).where(
            Position.account_id == account_id, Position.strategy_id == strategy_id,
            Position.instrument_id == instrument_id).with_for_update()).scalar()
        current[(account_id, strategy_id, instrument_id)] = row
    states = {k: pos_math.PositionState(r.quantity, r.avg_cost, r.realized_pnl, r.fees) if r else
              pos_math.PositionState() for k, r in current.items()}
    for row, order in sorted(fills, key=lambda f: f[0]["filled_at"]):
        key = (order[2], order[1], order[3])
        states[key] = pos_math.apply_fill(states[key], row["side"], row["quantity"], row["price"], row["fee"],
                                          multipliers.get(key[2], 1.0))
    now = utcnow()
    for key, state in states.items():
        row = current[key]
        if row is None:
            db.session.add(Position(account_id=key[0], strategy_id=key[1], instrument_id=key[2], updated_at=now,
                                    quantity=state.quantity, avg_cost=state.avg_cost,
                                    realized_pnl=state.realized_pnl, fees=state.fees))
        else:
            row.quantity, row.avg_cost, row.realized_pnl, row.fees = (state.quantity, state.avg_cost,
                                                                      state.realized_pnl, state.fees)
            row.updated_at = now
    db.session.flush()


def write_engine_state(engine_id, items):
    latest = max(items, key=lambda i: i["heartbeat_at"])  # a batch of heartbeats: the newest wins
    row = {**latest, "engine_id": engine_id}
    stmt = _insert(EngineState)
    stmt = stmt.on_conflict_do_update(index_elements=["engine_id"],
                                      set_={c: stmt.excluded[c] for c in row if c != "engine_id"},
                                      where=sa.or_(EngineState.heartbeat_at.is_(None),
                                                   EngineState.heartbeat_at <= stmt.excluded.heartbeat_at))
    existed = db.session.get(EngineState, engine_id) is not None
    db.session.execute(stmt, [row])
    return (0, 1) if existed else (1, 0)
