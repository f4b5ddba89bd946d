"""Writers for the high-volume kinds: quotes, bars, signals, risk decisions, events, P&L snapshots
and orders. Each resolves references (one query per kind of key), builds plain tuples straight from
the validated items (no per-row dicts) and hands them to `bulk`. Returns (new rows, updated rows)."""
from __future__ import annotations

import logging
from operator import itemgetter

from dashapp.services.ingest import bulk, resolve
from models import Bar, EngineEvent, Order, PnlSnapshot, Quote, RiskDecision, Signal


def _instruments(items, problems: list) -> list:
    return resolve.refs(items, "instrument", resolve.instruments, "instrument", problems)


def _strategies(items, problems: list) -> list:
    return resolve.refs(items, "strategy", resolve.strategies, "strategy", problems)


_QUOTE = itemgetter("ts", "bid", "ask", "bid_size", "ask_size")
_BAR = itemgetter("interval", "ts", "open", "high", "low", "close", "volume")
_SIGNAL = itemgetter("ts", "direction", "confidence")
_DECISION = itemgetter("ts", "client_order_id", "decision", "rule", "reason", "requested_qty", "allowed_qty")
_EVENT = itemgetter("event_id", "ts", "level", "kind", "message", "order_client_id", "data")
_PNL = itemgetter("ts", "equity", "realized_pnl", "unrealized_pnl", "gross_exposure", "net_exposure")


def write_quotes(engine_id, items):
    problems = []
    # quotes have no foreign key (DECISIONS D21): the instruments they name are held FOR KEY SHARE
    instruments = resolve.refs(items, "instrument", resolve.instruments_held, "instrument", problems)
    resolve.refuse(problems)
    rows = [(inst, *_QUOTE(q)) for q, inst in zip(items, instruments)]
    columns = ["instrument_id", "ts", "bid", "ask", "bid_size", "ask_size"]
    return bulk.insert_rows(Quote.__table__, columns, rows, ["instrument_id", "ts"]), 0


def write_bars(engine_id, items):
    problems = []
    instruments = _instruments(items, problems)
    resolve.refuse(problems)
    rows = [(inst, *_BAR(b)) for b, inst in zip(items, instruments)]
    columns = ["instrument_id", "interval", "ts", "open", "high", "low", "close", "volume"]
    return bulk.insert_rows(Bar.__table__, columns, rows, ["instrument_id", "interval", "ts"]), 0


def write_signals(engine_id, items):
    problems = []
    instruments = _instruments(items, problems)
    strategies = _strategies(items, problems)
    resolve.refuse(problems)
    rows = [(engine_id, s["signal_id"], strat[0], inst, *_SIGNAL(s))
            for s, inst, strat in zip(items, instruments, strategies)]
    columns = ["engine_id", "signal_id", "strategy_id", "instrument_id", "ts", "direction", "confidence"]
    return bulk.insert_rows(Signal.__table__, columns, rows, ["engine_id", "signal_id"]), 0


def write_risk_decisions(engine_id, items):
    problems = []
    instruments = _instruments(items, problems)
    strategies = _strategies(items, problems)
    resolve.refuse(problems)
    rows = [(engine_id, d["decision_id"], strat[0], inst, *_DECISION(d))
            for d, inst, strat in zip(items, instruments, strategies)]
    columns = ["engine_id", "decision_id", "strategy_id", "instrument_id", "ts", "client_order_id", "decision", "rule",
               "reason", "requested_qty", "allowed_qty"]
    return bulk.insert_rows(RiskDecision.__table__, columns, rows, ["engine_id", "decision_id"]), 0


def write_events(engine_id, items):
    rows = [(engine_id, *_EVENT(e)) for e in items]
    columns = ["engine_id", "event_id", "ts", "level", "kind", "message", "order_client_id", "data"]
    return bulk.insert_rows(EngineEvent.__table__, columns, rows, ["engine_id", "event_id"]), 0


def write_pnl_snapshots(engine_id, items):
    problems = []
    strategies = _strategies(items, problems)
    resolve.refuse(problems)
    rows = [(engine_id, strat[0], *_PNL(p)) for p, strat in zip(items, strategies)]
    columns = ["engine_id", "strategy_id", "ts", "equity", "realized_pnl", "unrealized_pnl", "gross_exposure",
               "net_exposure"]
    return bulk.insert_rows(PnlSnapshot.__table__, columns, rows, ["engine_id", "strategy_id", "ts"]), 0


# --- orders: last-writer-wins upserts on the engine's timestamp ---------------------------------

_STAMPS = ("created_at", "acknowledged_at", "partially_filled_at", "filled_at", "canceled_at", "rejected_at",
           "expired_at")
ORDER_COLUMNS = ["engine_id", "client_order_id", "parent_id", "strategy_id", "account_id", "instrument_id", "venue_id",
                 "side", "order_type", "quantity", "limit_price", "filled_quantity", "avg_fill_price", "status",
                 "arrival_mid", "reject_reason", *_STAMPS, "updated_at"]
_PARENT = ORDER_COLUMNS.index("parent_id")
_QUANTITY = ORDER_COLUMNS.index("quantity")
# What a newer report of a stored order may change. Lifecycle timestamps only ever fill in: a late
# duplicate never erases one.
_REPLACE = ["status", "filled_quantity", "avg_fill_price", "reject_reason", "venue_id", "updated_at", "arrival_mid"]
_ORDER = itemgetter("side", "order_type", "quantity", "limit_price", "filled_quantity", "avg_fill_price", "status",
                    "arrival_mid", "reject_reason")
_ORDER_STAMPS = itemgetter(*_STAMPS)


def _order_row(engine_id, o, strat, inst, venue) -> list:
    stamps = _ORDER_STAMPS(o)
    updated = o["updated_at"] or max(s for s in stamps if s is not None)
    return [engine_id, o["client_order_id"], None, strat[0], strat[1], inst, venue, *_ORDER(o), *stamps, updated]


def _upsert_orders(rows: list) -> tuple[int, int]:
    return bulk.upsert_rows(Order.__table__, ORDER_COLUMNS, rows, ["engine_id", "client_order_id"],
                            replace=_REPLACE, fill_in=list(_STAMPS[1:]), newer="updated_at")


_log = logging.getLogger("cockpit.ingest.orders")
_ORDERS_LOGGED = 200  # lines per batch: a bulk back-fill is not logged order by order


def write_orders(engine_id, items):
    problems = []
    strategies = _strategies(items, problems)
    instruments = _instruments(items, problems)
    venues = resolve.refs(items, "venue", resolve.venues, "venue", problems, optional=True)
    resolve.refuse(problems)
    rows = [_order_row(engine_id, o, s, i, v) for o, s, i, v in zip(items, strategies, instruments, venues)]
    # Parents first: a child may name a parent sent in the same batch.
    stored, updated = _upsert_orders([r for r, o in zip(rows, items) if o["parent_client_order_id"] is None])
    children = [(n, o["parent_client_order_id"], row) for n, (o, row) in enumerate(zip(items, rows))
                if o["parent_client_order_id"] is not None]
    if children:
        known = resolve.orders(engine_id, (parent for _, parent, _ in children))
        for index, parent, row in children:
            if parent not in known:
                problems.append({"index": index, "field": "parent_client_order_id",
                                 "message": f"unknown parent order {parent!r}"})
            elif row[_QUANTITY] > known[parent][5] * (1 + 1e-9):  # a child never asks for more than its parent
                problems.append({"index": index, "field": "quantity", "message":
                                 f"child quantity {row[_QUANTITY]:g} exceeds its parent {parent!r}'s "
                                 f"quantity {known[parent][5]:g}"})
            else:
                row[_PARENT] = known[parent][0]
        resolve.refuse(problems, "refer to an unknown parent or do not fit it")
        more = _upsert_orders([row for _, _, row in children])
        stored, updated = stored + more[0], updated + more[1]
    for o in items[:_ORDERS_LOGGED]:  # the log search's correlation by order (log_files: order_id)
        _log.info("order %s reported %s", o["client_order_id"], o["status"],
                  extra={"order_id": o["client_order_id"], "engine_id": engine_id})
    return stored, updated
