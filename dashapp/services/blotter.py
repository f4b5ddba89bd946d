"""The order blotter: one page of orders at a time, filtered and sorted in SQL, so a million stored
orders cost the same as a thousand. The request shape is ag-grid's infinite row model
(startRow, endRow, sortModel, filterModel) plus a quick-search string."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from dashapp.extensions import db
from dashapp.services import read_bounds as rb
from dashapp.services.errors import NotFound, ValidationError
from models import EngineEvent, Fill, Instrument, Order, RiskDecision, Strategy, Venue

MAX_PAGE = 1000
_inst, _strat, _venue = aliased(Instrument), aliased(Strategy), aliased(Venue)

# Grid column -> SQL expression. Only these can be sorted or filtered: nothing else reaches SQL.
COLUMNS = {
    "id": Order.id,
    "client_order_id": Order.client_order_id,
    "created_at": Order.created_at,
    "status": Order.status,
    "side": Order.side,
    "instrument": _inst.symbol,
    "strategy": _strat.code,
    "venue": _venue.code,
    "quantity": Order.quantity,
    "limit_price": Order.limit_price,
    "filled_quantity": Order.filled_quantity,
    "avg_fill_price": Order.avg_fill_price,
    "arrival_mid": Order.arrival_mid,
    "parent_id": Order.parent_id,
}
# Signed so that positive is a cost for buys and sells alike. Only from bounded prices: on absurd
# ones the arithmetic overflows in PostgreSQL and would fail the whole page (or export).
SLIPPAGE_BPS = sa.case(
    (sa.and_(rb.price_ok(Order.avg_fill_price), rb.price_ok(Order.arrival_mid)),
     sa.case((Order.side == "buy", 1.0), else_=-1.0) * (Order.avg_fill_price - Order.arrival_mid)
     / Order.arrival_mid * 10_000.0),
    else_=None,
)
LATENCY_MS = sa.case(
    (Order.acknowledged_at.is_not(None),
     (sa.func.julianday(Order.acknowledged_at) - sa.func.julianday(Order.created_at)) * 86_400_000.0),
    else_=None,
)


def _latency_expr(dialect: str):
    if dialect == "postgresql":
        return sa.func.extract("epoch", Order.acknowledged_at - Order.created_at) * 1000.0
    return LATENCY_MS


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    last_row: int | None  # known only when this page reached the end (ag-grid's lastRow)


def _filter_clause(column: str, spec: dict):
    expr = COLUMNS.get(column)
    if expr is None:
        raise ValidationError(f"cannot filter on {column!r}", field="filterModel")
    kind, value = spec.get("type", "equals"), spec.get("filter")
    if spec.get("filterType") == "set":
        values = [v for v in spec.get("values") or [] if isinstance(v, (str, int, float))]
        return expr.in_(values)
    if value is None:
        raise ValidationError(f"filter on {column!r} has no value", field="filterModel")
    if spec.get("filterType") == "number":
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValidationError(f"filter on {column!r} needs a number", field="filterModel") from None
        ops = {"equals": expr == value, "notEqual": expr != value, "greaterThan": expr > value,
               "greaterThanOrEqual": expr >= value, "lessThan": expr < value, "lessThanOrEqual": expr <= value}
    else:
        text = str(value)
        ops = {"equals": expr == text, "notEqual": expr != text, "contains": expr.contains(text, autoescape=True),
               "notContains": ~expr.contains(text, autoescape=True),
               "startsWith": expr.startswith(text, autoescape=True), "endsWith": expr.endswith(text, autoescape=True)}
    if kind not in ops:
        raise ValidationError(f"unsupported filter {kind!r} on {column!r}", field="filterModel")
    return ops[kind]


def query_orders(start: int = 0, end: int = 100, sort_model: list | None = None, filter_model: dict | None = None,
                 search: str = "", parents_only: bool = False, in_window: bool = True) -> Page:
    """A page of orders. `in_window` leaves out orders created outside the accepted time span (a
    future-dated one would head the newest-first blotter for ever); the Admin page's data-quality
    check lists them, and an order's drill-down still shows them."""
    if start < 0 or end <= start:
        raise ValidationError("need 0 <= startRow < endRow", field="startRow")
    end = min(end, start + MAX_PAGE)
    dialect = db.session.get_bind().dialect.name
    stmt = (sa.select(Order.id, Order.client_order_id, Order.created_at, Order.status, Order.side, Order.quantity,
                      Order.limit_price, Order.filled_quantity, Order.avg_fill_price, Order.arrival_mid, Order.parent_id,
                      Order.reject_reason, _inst.symbol.label("instrument"), _strat.code.label("strategy"),
                      _venue.code.label("venue"), SLIPPAGE_BPS.label("slippage_bps"),
                      _latency_expr(dialect).label("latency_ms"))
            .join(_inst, _inst.id == Order.instrument_id).join(_strat, _strat.id == Order.strategy_id)
            .outerjoin(_venue, _venue.id == Order.venue_id))
    for column, spec in (filter_model or {}).items():
        stmt = stmt.where(_filter_clause(column, spec or {}))
    if search:
        like = search.strip()[:64]
        stmt = stmt.where(sa.or_(Order.client_order_id.startswith(like, autoescape=True),
                                 _inst.symbol.startswith(like.upper(), autoescape=True),
                                 _strat.code == like.upper(), Order.status == like.lower()))
    if parents_only:
        stmt = stmt.where(Order.parent_id.is_(None))
    if in_window:
        stmt = stmt.where(rb.in_time(Order.created_at, rb.window()))
    order_by = []
    for sort in sort_model or []:
        expr = COLUMNS.get(sort.get("colId"))
        if expr is None:
            raise ValidationError(f"cannot sort on {sort.get('colId')!r}", field="sortModel")
        order_by.append(expr.desc() if sort.get("sort") == "desc" else expr.asc())
    stmt = stmt.order_by(*order_by, Order.created_at.desc(), Order.id.desc()).offset(start).limit(end - start)
    rows = [dict(r._mapping) for r in db.session.execute(stmt)]
    for row in rows:
        row["created_at"] = row["created_at"].isoformat() if row["created_at"] else None
    last = start + len(rows) if len(rows) < end - start else None
    return Page(rows, last)


def order_detail(order_id: int) -> dict:
    """An order with its child orders, fills, engine events and risk-gate decisions."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order with id {order_id}", field="order_id")
    children = query_orders(0, MAX_PAGE, filter_model={"parent_id": {"filterType": "number", "type": "equals",
                                                                      "filter": order_id}}, in_window=False).rows
    # A parent's fills are its children's fills (and its own, for an order routed directly).
    order_ids = [order_id] + [c["id"] for c in children]
    fills = db.session.execute(
        sa.select(Fill.exec_id, Fill.filled_at, Fill.quantity, Fill.price, Fill.fee, Fill.liquidity,
                  Fill.mid_at_arrival, Fill.mid_at_fill, Venue.code.label("venue"))
        .join(Venue, Venue.id == Fill.venue_id).where(Fill.order_id.in_(order_ids)).order_by(Fill.filled_at)).all()
    client_ids = [order.client_order_id] + [c["client_order_id"] for c in children]
    events = db.session.execute(
        sa.select(EngineEvent.ts, EngineEvent.level, EngineEvent.kind, EngineEvent.message, EngineEvent.order_client_id)
        .where(EngineEvent.engine_id == order.engine_id, EngineEvent.order_client_id.in_(client_ids))
        .order_by(EngineEvent.ts).limit(500)).all()
    decisions = db.session.execute(
        sa.select(RiskDecision.ts, RiskDecision.decision, RiskDecision.rule, RiskDecision.reason,
                  RiskDecision.requested_qty, RiskDecision.allowed_qty)
        .where(RiskDecision.engine_id == order.engine_id, RiskDecision.client_order_id.in_(client_ids))
        .order_by(RiskDecision.ts)).all()
    header = query_orders(0, 1, filter_model={"id": {"filterType": "number", "type": "equals", "filter": order_id}},
                          in_window=False).rows
    return {"order": header[0], "children": children, "fills": [_jsonable(r) for r in fills],
            "events": [_jsonable(r) for r in events], "risk_decisions": [_jsonable(r) for r in decisions]}


def _jsonable(row) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row._mapping.items()}
