"""The datasets an export can hold, read in chunks.

Orders, fills and positions are read by keyset windows over the primary key: one short query per
window of ids (`id > last AND id <= last + window`, plus the filters), each on its own pooled
connection, so a million-row export never holds a result set (or a long read transaction) open and
memory stays at one chunk. The upper bound is the largest matching id when the export starts, so
rows that arrive while it runs do not change it. Risk and TCA are small computed tables (from
dashapp.services.risk and dashapp.services.execution) and are read whole.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from dashapp.exports.params import ExportParams
from dashapp.exports.tables import Chart, Column, ExportData, Table, rows_from_frame
from dashapp.extensions import db
from dashapp.services import read_bounds as rb
from dashapp.services.blotter import SLIPPAGE_BPS
from dashapp.services.errors import ValidationError
from models import Account, Fill, Instrument, Order, Position, Strategy, Venue, utcnow

CHUNK_ROWS = 10_000  # rows per read: ~12 MB of Python objects for an order chunk
TCA_DEFAULT_SPAN = timedelta(hours=24)  # as the Execution page: the last day when no period is given
CHART_TOP = 12

_FILTER_COLUMNS = {"strategy": (Strategy, Strategy.code), "instrument": (Instrument, Instrument.symbol),
                   "venue": (Venue, Venue.code)}


def resolve_filters(params: ExportParams) -> dict[str, int | str]:
    """Filter names -> ids (status stays text). An unknown name is refused, naming the filter."""
    resolved: dict[str, int | str] = {}
    for name, value in params.filters.given().items():
        if name == "status":
            resolved[name] = value
            continue
        model, column = _FILTER_COLUMNS[name]
        found = db.session.execute(sa.select(model.id).where(column == value)).scalar()
        if found is None:
            raise ValidationError(f"there is no {name} {value!r}", field=f"params.filters.{name}")
        resolved[name] = found
    return resolved


def _driver_rows(conn, stmt) -> list[tuple]:
    """Run `stmt` through the driver (as dashapp.services.rawsql does): plain tuples with no
    per-value result processing. Bound parameters still go through their column types."""
    compiled = stmt.compile(conn.engine, compile_kwargs={"render_postcompile": True})
    processors = compiled._bind_processors
    params = {k: (processors[k](v) if k in processors else v) for k, v in compiled.construct_params().items()}
    if conn.engine.dialect.paramstyle in ("qmark", "numeric"):
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _utc(value):
    """A driver's timestamp as an aware UTC datetime: SQLite gives naive UTC text, PostgreSQL an
    aware datetime in the session's time zone."""
    if value is None or isinstance(value, datetime):
        return value if value is None or not value.utcoffset() else value.astimezone(timezone.utc)
    try:
        return datetime.fromisoformat(value + "+00:00")  # one C call; .replace(tzinfo=) costs ten times more
    except ValueError:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _keyset(stmt, id_column, lo: int | None, hi: int | None, chunk_rows: int, times: list[int]):
    """Chunks of `stmt` in id order, one window of `chunk_rows` ids per query, each on a pooled
    connection of its own (no read transaction spans the export). `times` are the positions of
    timestamp columns."""

    def chunks():
        if lo is None:
            return
        last = lo - 1
        while last < hi:
            upper = min(last + chunk_rows, hi)
            with db.engine.connect() as conn:
                rows = list(_driver_rows(conn, stmt.where(id_column > last, id_column <= upper).order_by(id_column)))
            last = upper
            if not rows:
                continue
            if times:
                for i, row in enumerate(rows):  # in place: each raw row is freed as it is replaced
                    rows[i] = _with_times(row, times)
            yield rows

    return chunks


def _newest(stmt, id_column, times: list[int]):
    """The newest `n` rows of `stmt` (highest ids first), for a report that shows only some rows:
    the rows a desk asks about are today's, not the first ever stored."""

    def newest(n: int):
        with db.engine.connect() as conn:
            rows = list(_driver_rows(conn, stmt.order_by(id_column.desc()).limit(n)))
        return [_with_times(row, times) for row in rows] if times else rows

    return newest


def _with_times(row, times):
    row = list(row)
    for i in times:
        row[i] = _utc(row[i])
    return tuple(row)


def _time_positions(fields) -> list[int]:
    return [i for i, (_, kind, _) in enumerate(fields) if kind == "datetime"]


def _bounds(model, where: list) -> tuple[int, int | None, int | None]:
    count, lo, hi = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(model.id), sa.func.max(model.id)).select_from(model).where(*where)).one()
    return int(count or 0), lo, hi


def _grouped(title: str, label, value, model, where: list, joins=(), unit: str = "") -> Chart:
    """A bar chart of `value` per `label` over the filtered rows (top CHART_TOP), aggregated in SQL."""
    stmt = sa.select(sa.func.coalesce(label, "(none)"), value).select_from(model)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.where(*where).group_by(label).order_by(value.desc()).limit(CHART_TOP)
    rows = db.session.execute(stmt).all()
    return Chart(title, [str(r[0]) for r in rows], [float(r[1] or 0) for r in rows], unit)


# Computed columns and chart sums use bounded inputs only: on absurd stored values (outside
# services/bounds.py) the arithmetic overflows in PostgreSQL and would fail the whole export. The
# row itself is still exported as stored (an export is a record), with the computed cell empty.
_FILL_NOTIONAL = rb.guarded(Fill.quantity * Fill.price * Instrument.multiplier, rb.qty_ok(Fill.quantity),
                            rb.price_ok(Fill.price), rb.in_range(Instrument.multiplier, rb.MAX_QTY))
_COST_VALUE = rb.guarded(Position.quantity * Position.avg_cost * Instrument.multiplier,
                         rb.in_range(Position.quantity, rb.MAX_QTY), rb.in_range(Position.avg_cost, rb.MAX_ABS_PRICE),
                         rb.in_range(Instrument.multiplier, rb.MAX_QTY))


def _where(model, time_column, params: ExportParams, resolved: dict) -> list:
    where = []
    if params.since is not None:
        where.append(time_column >= params.since)
    if params.until is not None:
        where.append(time_column < params.until)
    for name, column in (("strategy", model.strategy_id), ("instrument", model.instrument_id)):
        if name in resolved:
            where.append(column == resolved[name])
    if "venue" in resolved:
        where.append(model.venue_id == resolved["venue"])
    if "status" in resolved:
        where.append(model.status == resolved["status"])
    return where


# --- orders ----------------------------------------------------------------------------------

ORDER_FIELDS = [
    ("id", "int", Order.id), ("created_at", "datetime", Order.created_at), ("engine_id", "str", Order.engine_id),
    ("client_order_id", "str", Order.client_order_id), ("parent_id", "int", Order.parent_id),
    ("strategy", "str", Strategy.code), ("account", "str", Account.code), ("instrument", "str", Instrument.symbol),
    ("venue", "str", Venue.code), ("side", "str", Order.side), ("order_type", "str", Order.order_type),
    ("quantity", "float", Order.quantity), ("limit_price", "price", Order.limit_price),
    ("filled_quantity", "float", Order.filled_quantity), ("avg_fill_price", "price", Order.avg_fill_price),
    ("arrival_mid", "price", Order.arrival_mid), ("slippage_bps", "float", SLIPPAGE_BPS),
    ("status", "str", Order.status), ("reject_reason", "str", Order.reject_reason),
    ("acknowledged_at", "datetime", Order.acknowledged_at), ("filled_at", "datetime", Order.filled_at),
    ("updated_at", "datetime", Order.updated_at),
]
ORDER_PDF = ["id", "created_at", "strategy", "instrument", "venue", "side", "quantity", "filled_quantity",
             "avg_fill_price", "slippage_bps", "status"]


def _orders(params: ExportParams, resolved: dict, chunk_rows: int) -> ExportData:
    where = _where(Order, Order.created_at, params, resolved)
    count, lo, hi = _bounds(Order, where)
    stmt = (sa.select(*[expr.label(name) for name, _, expr in ORDER_FIELDS])
            .join(Strategy, Strategy.id == Order.strategy_id).join(Account, Account.id == Order.account_id)
            .join(Instrument, Instrument.id == Order.instrument_id).outerjoin(Venue, Venue.id == Order.venue_id)
            .where(*where))
    chunks = _keyset(stmt, Order.id, lo, hi, chunk_rows, _time_positions(ORDER_FIELDS))
    table = Table("Orders", [Column(n, k) for n, k, _ in ORDER_FIELDS], chunks, count, ORDER_PDF,
                  newest=_newest(stmt, Order.id, _time_positions(ORDER_FIELDS)))

    def charts():
        return [_grouped("Orders by status", Order.status, sa.func.count(), Order, where),
                _grouped("Orders by venue", Venue.code, sa.func.count(), Order, where,
                         [(Venue, Venue.id == Order.venue_id)])]

    return ExportData("orders", "Orders", [table], charts=charts)


# --- fills -----------------------------------------------------------------------------------

_FILL_SLIPPAGE = sa.case(
    (sa.and_(rb.price_ok(Fill.mid_at_arrival), rb.price_ok(Fill.price)),
     sa.case((Fill.side == "buy", 1.0), else_=-1.0) * (Fill.price - Fill.mid_at_arrival)
     / Fill.mid_at_arrival * 10_000.0), else_=None)
FILL_FIELDS = [
    ("id", "int", Fill.id), ("filled_at", "datetime", Fill.filled_at), ("engine_id", "str", Fill.engine_id),
    ("exec_id", "str", Fill.exec_id), ("order_id", "int", Fill.order_id), ("strategy", "str", Strategy.code),
    ("instrument", "str", Instrument.symbol), ("venue", "str", Venue.code), ("side", "str", Fill.side),
    ("quantity", "float", Fill.quantity), ("price", "price", Fill.price),
    ("notional", "float", _FILL_NOTIONAL), ("fee", "float", Fill.fee),
    ("liquidity", "str", Fill.liquidity), ("mid_at_arrival", "price", Fill.mid_at_arrival),
    ("mid_at_fill", "price", Fill.mid_at_fill), ("slippage_bps", "float", _FILL_SLIPPAGE),
]
FILL_PDF = ["id", "filled_at", "strategy", "instrument", "venue", "side", "quantity", "price", "notional", "fee",
            "slippage_bps"]


def _fills(params: ExportParams, resolved: dict, chunk_rows: int) -> ExportData:
    where = _where(Fill, Fill.filled_at, params, resolved)
    count, lo, hi = _bounds(Fill, where)
    stmt = (sa.select(*[expr.label(name) for name, _, expr in FILL_FIELDS])
            .join(Strategy, Strategy.id == Fill.strategy_id).join(Instrument, Instrument.id == Fill.instrument_id)
            .join(Venue, Venue.id == Fill.venue_id).where(*where))
    chunks = _keyset(stmt, Fill.id, lo, hi, chunk_rows, _time_positions(FILL_FIELDS))
    table = Table("Fills", [Column(n, k) for n, k, _ in FILL_FIELDS], chunks, count, FILL_PDF,
                  newest=_newest(stmt, Fill.id, _time_positions(FILL_FIELDS)))
    notional = sa.func.sum(_FILL_NOTIONAL)
    on_instrument = [(Instrument, Instrument.id == Fill.instrument_id)]

    def charts():
        return [_grouped("Filled notional by venue", Venue.code, notional, Fill, where,
                         on_instrument + [(Venue, Venue.id == Fill.venue_id)], "USD"),
                _grouped("Filled notional by instrument (top 12)", Instrument.symbol, notional, Fill, where,
                         on_instrument, "USD")]

    return ExportData("fills", "Fills", [table], charts=charts)


# --- positions -------------------------------------------------------------------------------

POSITION_FIELDS = [
    ("id", "int", Position.id), ("account", "str", Account.code), ("strategy", "str", Strategy.code),
    ("instrument", "str", Instrument.symbol), ("asset_class", "str", Instrument.asset_class),
    ("sector", "str", Instrument.sector), ("quantity", "float", Position.quantity),
    ("avg_cost", "price", Position.avg_cost),
    ("cost_value", "float", _COST_VALUE),
    ("realized_pnl", "float", Position.realized_pnl), ("fees", "float", Position.fees),
    ("updated_at", "datetime", Position.updated_at),
]


def _positions(params: ExportParams, resolved: dict, chunk_rows: int) -> ExportData:
    where = _where(Position, None, params, resolved)
    count, lo, hi = _bounds(Position, where)
    stmt = (sa.select(*[expr.label(name) for name, _, expr in POSITION_FIELDS])
            .join(Account, Account.id == Position.account_id).join(Strategy, Strategy.id == Position.strategy_id)
            .join(Instrument, Instrument.id == Position.instrument_id).where(*where))
    table = Table("Positions", [Column(n, k) for n, k, _ in POSITION_FIELDS],
                  _keyset(stmt, Position.id, lo, hi, chunk_rows, _time_positions(POSITION_FIELDS)), count)
    gross = sa.func.sum(sa.func.abs(_COST_VALUE))
    on_instrument = [(Instrument, Instrument.id == Position.instrument_id)]

    def charts():
        return [_grouped("Gross cost value by strategy", Strategy.code, gross, Position, where,
                         on_instrument + [(Strategy, Strategy.id == Position.strategy_id)], "USD"),
                _grouped("Gross cost value by instrument (top 12)", Instrument.symbol, gross, Position, where,
                         on_instrument, "USD")]

    return ExportData("positions", "Positions", [table], charts=charts)


# --- risk ------------------------------------------------------------------------------------

VAR_COLUMNS = [Column("scope"), Column("level", "pct"), Column("historical_var", "float"),
               Column("historical_cvar", "float"), Column("parametric_var", "float"),
               Column("parametric_cvar", "float"), Column("cornish_fisher_var", "float"),
               Column("monte_carlo_var", "float")]
LIMIT_COLUMNS = [Column("limit_id", "int"), Column("kind"), Column("scope"), Column("value", "float"),
                 Column("limit_value", "float"), Column("utilisation", "pct"), Column("status"),
                 Column("breach_action"), Column("detail")]


def _risk(params: ExportParams, resolved: dict, chunk_rows: int) -> ExportData:
    import pandas as pd

    from dashapp.services.risk import monitor

    evaluation = monitor.evaluate(apply_actions=False)  # measure only: breach actions stay the monitor's job
    var = evaluation.var_table
    limits = pd.DataFrame([u.__dict__ for u in evaluation.utilisation], columns=[c.name for c in LIMIT_COLUMNS])
    tables = [Table("VaR", VAR_COLUMNS, rows_from_frame(var, VAR_COLUMNS), len(var)),
              Table("Limits", LIMIT_COLUMNS, rows_from_frame(limits, LIMIT_COLUMNS), len(limits))]

    def charts():
        out = []
        if not var.empty:
            at99 = var[var["level"] == 0.99]
            out.append(Chart("Historical VaR 99% by scope", list(at99["scope"]),
                             [float(v) for v in at99["historical_var"]], "USD"))
        out.append(Chart("Limit utilisation", [f"{r.kind} {r.scope}" for r in limits.itertuples()],
                         [float(v) * 100 for v in limits["utilisation"]], "%"))
        return out

    meta = {"risk_level": evaluation.level, "equity": round(float(evaluation.equity), 2)}
    return ExportData("risk", "Risk: VaR and limit utilisation", tables, meta=meta, charts=charts)


# --- TCA -------------------------------------------------------------------------------------

TCA_COLUMNS = [Column("venue"), Column("orders", "int"), Column("fill_rate", "pct"), Column("reject_rate", "pct"),
               Column("latency_p50_ms", "float"), Column("latency_p95_ms", "float"),
               Column("latency_p99_ms", "float"), Column("fills", "int"), Column("avg_slippage_bps", "float"),
               Column("price_improvement_bps", "float"), Column("markout_1s_bps", "float"),
               Column("markout_5s_bps", "float"), Column("markout_30s_bps", "float"),
               Column("best_execution_share", "pct")]


def tca_period(params: ExportParams):
    until = params.until or utcnow()
    return params.since or until - TCA_DEFAULT_SPAN, until


def _tca(params: ExportParams, resolved: dict, chunk_rows: int) -> ExportData:
    from dashapp.services import execution

    since, until = tca_period(params)
    filters = params.filters
    cards = execution.scorecards(since, until, filters.strategy, filters.instrument, by="venue")
    if filters.venue and not cards.empty:
        cards = cards[cards["venue"] == filters.venue]
    table = Table("Venues", TCA_COLUMNS, rows_from_frame(cards, TCA_COLUMNS), len(cards))

    def charts():
        if cards.empty:
            return [Chart("Average slippage by venue", [], [], "bps"), Chart("Fill rate by venue", [], [], "%")]
        return [Chart("Average slippage by venue", list(cards["venue"]),
                      [float(v) if v == v else 0.0 for v in cards["avg_slippage_bps"]], "bps"),
                Chart("Fill rate by venue", list(cards["venue"]), [float(v) * 100 for v in cards["fill_rate"]], "%")]

    return ExportData("tca", "TCA: venue scorecards", [table],
                      meta={"since": since, "until": until}, charts=charts)


_BUILDERS = {"orders": _orders, "fills": _fills, "positions": _positions, "risk": _risk, "tca": _tca}


def build(params: ExportParams, chunk_rows: int = CHUNK_ROWS) -> ExportData:
    """The export's tables (lazy: nothing but counts is read until a writer pulls chunks)."""
    resolved = resolve_filters(params)
    return _BUILDERS[params.dataset](params, resolved, chunk_rows)
