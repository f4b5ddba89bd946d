"""Natural keys -> row ids for a batch, in one query per kind of key."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from models import Account, Fill, Instrument, Order, Strategy, Venue


def _matching(column, keys: list):
    """`column IN keys` as queries: one `= ANY(array)` on PostgreSQL (one bound value however many
    keys: binding thousands of IN parameters costs more than the query), IN chunks on SQLite (whose
    bound-variable limit is a few thousand)."""
    if db.session.get_bind().dialect.name == "postgresql":
        yield column == sa.any_(sa.bindparam(None, keys, type_=postgresql.ARRAY(column.type)))
        return
    for start in range(0, len(keys), 5000):
        yield column.in_(keys[start:start + 5000])


def _rows(columns, key_column, keys, *where, key_share: bool = False):
    keys = [k for k in set(keys) if k is not None]
    out = []
    if keys:
        connection = db.session.connection()  # Core, not ORM execution: plain rows, less overhead
        for condition in _matching(key_column, keys):
            query = sa.select(*columns).where(condition, *where)
            if key_share:  # PostgreSQL: FOR KEY SHARE (SQLite renders nothing: it has one writer)
                query = query.with_for_update(read=True, key_share=True)
            out.extend(connection.execute(query).all())
    return out


def ids_by(column, keys, key_share: bool = False) -> dict:
    return {key: row_id for key, row_id in _rows([column, column.class_.id], column, keys, key_share=key_share)}


def instruments(symbols, key_share: bool = False) -> dict[str, int]:
    """`key_share`: hold the found rows against deletion (and key changes) until the transaction
    ends, as a foreign key check would; for tables that reference instruments without one."""
    return ids_by(Instrument.symbol, symbols, key_share=key_share)


def instruments_held(symbols) -> dict[str, int]:
    return instruments(symbols, key_share=True)


def strategies(codes) -> dict[str, tuple[int, int]]:
    """code -> (strategy id, account id)."""
    return {code: (sid, aid) for code, sid, aid in _rows([Strategy.code, Strategy.id, Strategy.account_id],
                                                         Strategy.code, codes)}


def venues(codes) -> dict[str, int]:
    return ids_by(Venue.code, codes)


def accounts(codes) -> dict[str, int]:
    return ids_by(Account.code, codes)


def orders(engine_id: str, client_ids) -> dict[str, tuple]:
    """client_order_id -> (order id, strategy id, account id, instrument id, side, quantity)."""
    rows = _rows([Order.client_order_id, Order.id, Order.strategy_id, Order.account_id, Order.instrument_id,
                  Order.side, Order.quantity], Order.client_order_id, client_ids, Order.engine_id == engine_id)
    return {row[0]: tuple(row[1:]) for row in rows}


def lock_orders(order_ids) -> None:
    """PostgreSQL: lock the orders a fills batch executes FOR UPDATE, so two batches filling the same
    order take turns and cannot both fit into the same remaining quantity. (SQLite needs nothing: the
    fills insert takes its single write lock before the check reads.)"""
    order_ids = sorted(set(order_ids))
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and order_ids:
        for condition in _matching(Order.id, order_ids):
            connection.execute(sa.select(Order.id).where(condition).order_by(Order.id).with_for_update()).all()


def filled_quantities(order_ids) -> dict[int, float]:
    """order id -> the quantity of its stored fills (this transaction's included)."""
    order_ids = sorted(set(order_ids))
    connection = db.session.connection()
    filled: dict[int, float] = {}
    for condition in (_matching(Fill.order_id, order_ids) if order_ids else ()):
        query = sa.select(Fill.order_id, sa.func.sum(Fill.quantity)).where(condition).group_by(Fill.order_id)
        filled.update(connection.execute(query).all())
    return filled


def refs(items, attr: str, find, what: str, problems: list, optional: bool = False) -> list:
    """What each item's `attr` names (an id or a tuple from `find`, one query for the batch); an
    unknown name is added to `problems` with its item's index and field."""
    keys = [item[attr] for item in items]
    table = find(keys)
    values = [table.get(key) for key in keys]
    if None in values:
        problems.extend({"index": index, "field": attr, "message": f"unknown {what} {key!r}"}
                        for index, (key, value) in enumerate(zip(keys, values))
                        if value is None and not (optional and key is None))
    return values


def refuse(problems: list[dict], why: str = "refer to unknown things") -> None:
    """Refuse the whole batch if any item refers to something unknown, or does not fit what it refers
    to (the caller's transaction rolls back)."""
    if problems:
        raise ValidationError(f"batch refused: {len(problems)} item(s) {why}; nothing was stored",
                              field="items", details=problems[:200])
