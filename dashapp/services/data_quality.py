"""The data-quality check: stored rows outside the desk's domain bounds (`services/bounds.py`).

The write side refuses such rows and the read side hides them from pages (`services/read_bounds.py`),
so a row that got in before the bounds existed, or by direct SQL, would otherwise go unseen. This
check lists them for admins (the Admin page, `dashapp data-quality`): per kind and rule, how many
rows and a few of their ids. Every rule is one query that reads at most COUNT_CAP + 1 ids, so the
check stays bounded however much is wrong; a count at the cap is shown as "COUNT_CAP+".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from dashapp.extensions import db
from dashapp.services.bounds import (MAX_ABS_AMOUNT, MAX_ABS_PRICE, MAX_JSON_BYTES, MAX_QTY, TimeWindow,
                                     time_window)
from models import Bar, EngineEvent, Fill, Order, PnlSnapshot, Position, Quote, RiskDecision, Signal, utcnow

COUNT_CAP = 1000
SAMPLE = 5

# C0/C1 control characters and DEL, as bounds.has_control_characters (NUL cannot be stored in a
# PostgreSQL text column, and SQLite ends a string at it, so the classes start at 0x01).
_PG_CONTROL = r"[\x01-\x1f\x7f-\x9f]"
_SQLITE_CONTROL = "*[\x01-\x1f\x7f-\x9f]*"


@dataclass(frozen=True)
class Finding:
    kind: str  # what was checked: quotes, orders, fills, ...
    rule: str  # which bound the rows break
    count: int  # rows found, at most COUNT_CAP + 1
    sample_ids: list[int]

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def count_text(self) -> str:
        return f"{COUNT_CAP}+" if self.capped else str(self.count)


@dataclass
class Report:
    checked_at: datetime
    window: TimeWindow
    rules_checked: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def rows(self) -> list[dict]:
        """Plain rows for a grid or a CLI table."""
        return [{"kind": f.kind, "rule": f.rule, "rows": f.count_text,
                 "sample_ids": ", ".join(str(i) for i in f.sample_ids)} for f in self.findings]


# ---- predicates -------------------------------------------------------------------------------

def _absurd(column, limit: float):
    """Outside [-limit, limit], or not finite (NULL is "no value", not a finding)."""
    return sa.and_(column.is_not(None), sa.not_(column.between(-limit, limit)))


def _not_positive(column, limit: float):
    """Not in (0, limit]: non-positive, absurd or not finite."""
    return sa.and_(column.is_not(None), sa.not_(sa.and_(column > 0, column <= limit)))


def _negative(column):
    return column < 0


def _control(column, dialect: str):
    if dialect == "postgresql":
        return column.op("~")(_PG_CONTROL)
    return column.op("GLOB")(_SQLITE_CONTROL)


@dataclass(frozen=True)
class Rule:
    kind: str
    name: str
    id_column: object
    # (accepted time window, dialect name) -> the WHERE clause of the rows that break the rule
    where: Callable
    # a full statement of the offending ids instead of `where` (cross-row rules)
    statement: Callable | None = None


def _timestamp_rules(kind: str, id_column, ts_column) -> list[Rule]:
    return [Rule(kind, f"{ts_column.key} in the future", id_column, lambda w, d: ts_column > w.latest),
            Rule(kind, f"{ts_column.key} before the data epoch", id_column, lambda w, d: ts_column < w.earliest)]


def _magnitude_rules(kind: str, id_column, columns: list, check, what: str) -> list[Rule]:
    return [Rule(kind, f"{c.key} {what}", id_column, (lambda col: lambda w, d: check(col))(c)) for c in columns]


def _text_rules(kind: str, id_column, columns: list) -> list[Rule]:
    return [Rule(kind, f"{c.key} has control characters", id_column, (lambda col: lambda w, d: _control(col, d))(c))
            for c in columns]


def _overfilled_orders(w, d):
    """Orders whose bounded fills add up to more than the order's quantity (absurd fills are their
    own finding; leaving them out keeps the sum finite on PostgreSQL)."""
    return (sa.select(Order.id).join(Fill, Fill.order_id == Order.id)
            .where(Fill.quantity > 0, Fill.quantity <= MAX_QTY, Order.quantity > 0, Order.quantity <= MAX_QTY)
            .group_by(Order.id, Order.quantity).having(sa.func.sum(Fill.quantity) > Order.quantity * (1 + 1e-9)))


def _children_above_parent(w, d):
    parent = aliased(Order)
    return (sa.select(Order.id).join(parent, parent.id == Order.parent_id)
            .where(Order.quantity > parent.quantity * (1 + 1e-9)))


RULES: list[Rule] = [
    *_timestamp_rules("quotes", Quote.id, Quote.ts),
    *_magnitude_rules("quotes", Quote.id, [Quote.bid, Quote.ask], lambda c: _not_positive(c, MAX_ABS_PRICE),
                      "not a price in (0, MAX_ABS_PRICE]"),
    *_magnitude_rules("quotes", Quote.id, [Quote.bid_size, Quote.ask_size],
                      lambda c: sa.or_(_negative(c), _absurd(c, MAX_QTY)), "negative, absurd or not finite"),
    *_timestamp_rules("bars", Bar.id, Bar.ts),
    *_magnitude_rules("bars", Bar.id, [Bar.open, Bar.high, Bar.low, Bar.close],
                      lambda c: _not_positive(c, MAX_ABS_PRICE), "not a price in (0, MAX_ABS_PRICE]"),
    *_timestamp_rules("orders", Order.id, Order.created_at),
    *_magnitude_rules("orders", Order.id, [Order.quantity], lambda c: _not_positive(c, MAX_QTY),
                      "not a quantity in (0, MAX_QTY]"),
    *_magnitude_rules("orders", Order.id, [Order.filled_quantity],
                      lambda c: sa.or_(_negative(c), _absurd(c, MAX_QTY)), "negative, absurd or not finite"),
    *_magnitude_rules("orders", Order.id, [Order.limit_price, Order.avg_fill_price, Order.arrival_mid],
                      lambda c: _not_positive(c, MAX_ABS_PRICE), "not a price in (0, MAX_ABS_PRICE]"),
    Rule("orders", "filled_quantity above quantity", Order.id,
         lambda w, d: Order.filled_quantity > Order.quantity * (1 + 1e-9)),
    Rule("orders", "fills add up to more than the order's quantity", Order.id, None, _overfilled_orders),
    Rule("orders", "child quantity above its parent's", Order.id, None, _children_above_parent),
    *_text_rules("orders", Order.id, [Order.client_order_id, Order.reject_reason]),
    *_timestamp_rules("fills", Fill.id, Fill.filled_at),
    *_magnitude_rules("fills", Fill.id, [Fill.quantity], lambda c: _not_positive(c, MAX_QTY),
                      "not a quantity in (0, MAX_QTY]"),
    *_magnitude_rules("fills", Fill.id, [Fill.price, Fill.mid_at_arrival, Fill.mid_at_fill],
                      lambda c: _not_positive(c, MAX_ABS_PRICE), "not a price in (0, MAX_ABS_PRICE]"),
    *_magnitude_rules("fills", Fill.id, [Fill.fee], lambda c: sa.or_(_negative(c), _absurd(c, MAX_ABS_AMOUNT)),
                      "negative, absurd or not finite"),
    *_text_rules("fills", Fill.id, [Fill.exec_id]),
    *_magnitude_rules("positions", Position.id, [Position.quantity], lambda c: _absurd(c, MAX_QTY),
                      "absurd or not finite"),
    *_magnitude_rules("positions", Position.id, [Position.avg_cost],
                      lambda c: sa.or_(_negative(c), _absurd(c, MAX_ABS_PRICE)), "negative, absurd or not finite"),
    *_magnitude_rules("positions", Position.id, [Position.realized_pnl, Position.fees],
                      lambda c: _absurd(c, MAX_ABS_AMOUNT), "absurd or not finite"),
    *_timestamp_rules("engine events", EngineEvent.id, EngineEvent.ts),
    *_text_rules("engine events", EngineEvent.id, [EngineEvent.kind, EngineEvent.message]),
    Rule("engine events", f"data larger than {MAX_JSON_BYTES} bytes", EngineEvent.id,
         lambda w, d: sa.func.length(sa.cast(EngineEvent.data, sa.Text)) > MAX_JSON_BYTES),
    *_timestamp_rules("signals", Signal.id, Signal.ts),
    *_magnitude_rules("signals", Signal.id, [Signal.confidence],
                      lambda c: sa.not_(c.between(0.0, 1.0)), "outside [0, 1] or not finite"),
    *_timestamp_rules("risk decisions", RiskDecision.id, RiskDecision.ts),
    *_magnitude_rules("risk decisions", RiskDecision.id, [RiskDecision.requested_qty, RiskDecision.allowed_qty],
                      lambda c: sa.or_(_negative(c), _absurd(c, MAX_QTY)), "negative, absurd or not finite"),
    *_timestamp_rules("P&L snapshots", PnlSnapshot.id, PnlSnapshot.ts),
    *_magnitude_rules("P&L snapshots", PnlSnapshot.id,
                      [PnlSnapshot.equity, PnlSnapshot.realized_pnl, PnlSnapshot.unrealized_pnl,
                       PnlSnapshot.gross_exposure, PnlSnapshot.net_exposure],
                      lambda c: _absurd(c, MAX_ABS_AMOUNT), "absurd or not finite"),
]


def _offending_ids(rule: Rule, window: TimeWindow, dialect: str) -> list[int]:
    if rule.statement is not None:
        stmt = rule.statement(window, dialect)
    else:
        stmt = sa.select(rule.id_column).where(rule.where(window, dialect))
    return list(db.session.execute(stmt.order_by(rule.id_column).limit(COUNT_CAP + 1)).scalars())


def check(now: datetime | None = None) -> Report:
    """Run every rule against the store (read only)."""
    now = now or utcnow()
    window = time_window(now=now)
    dialect = db.session.get_bind().dialect.name
    report = Report(checked_at=now, window=window, rules_checked=len(RULES))
    for rule in RULES:
        ids = _offending_ids(rule, window, dialect)
        if ids:
            report.findings.append(Finding(rule.kind, rule.name, len(ids), ids[:SAMPLE]))
    return report
