"""The kinds of stored record a retention policy or a legal hold speaks of: which table, which column
dates a record, and which columns a hold's filter (account, instrument, time range) matches.

`held(kind)` is the SQL condition "some unreleased legal hold covers this row"; every deletion
repeats it in its own WHERE, so a hold created while a run is under way still wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa

from models import AuditRecord, EngineEvent, Fill, Job, Order, Quote, ReportRun
from models.retention import RETENTION_KINDS, LegalHold, LegalHoldItem

DEFAULT_DAYS = {"orders": 7 * 365 + 2, "fills": 7 * 365 + 2, "quotes": 30, "engine_events": 365,
                "audit": 7 * 365 + 2, "exports": 365, "report_files": 365}
LABELS = {"orders": "Orders", "fills": "Fills", "quotes": "Quotes", "engine_events": "Engine events",
          "audit": "Audit records", "exports": "Export files", "report_files": "Report files"}
MIN_DAYS = {"orders": 365, "fills": 365, "audit": 365}  # never below a year for the regulated records
MAX_DAYS = 36500
# The order a full run takes: fills before the orders they reference.
RUN_ORDER = ("fills", "orders", "quotes", "engine_events", "exports", "report_files", "audit")


@dataclass(frozen=True)
class KindSpec:
    name: str
    table: sa.Table
    time_col: sa.ColumnElement
    account: Callable[[], sa.ColumnElement] | None = None  # scalar expression of the row's account
    instrument: sa.ColumnElement | None = None
    extra_where: Callable[[], list] = lambda: []  # what else makes a row deletable (no fills left, ...)
    numeric_id: bool = True  # export jobs have uuids: a hold selects them by time range only

    @property
    def id_col(self) -> sa.ColumnElement:
        return self.table.c.id


def _fill_account() -> sa.ColumnElement:
    return sa.select(Order.account_id).where(Order.id == Fill.order_id).correlate_except(Order).scalar_subquery()


def _order_unreferenced() -> list:
    child = sa.orm.aliased(Order)
    return [~sa.exists().where(Fill.order_id == Order.id),
            ~sa.exists().where(child.parent_id == Order.id)]


def _export_finished() -> list:
    return [Job.job_type == "export", Job.state.in_(("succeeded", "failed", "canceled", "timed_out"))]


SPECS: dict[str, KindSpec] = {
    "orders": KindSpec("orders", Order.__table__, Order.created_at, lambda: Order.account_id, Order.instrument_id,
                       _order_unreferenced),
    "fills": KindSpec("fills", Fill.__table__, Fill.filled_at, _fill_account, Fill.instrument_id),
    "quotes": KindSpec("quotes", Quote.__table__, Quote.ts, None, Quote.instrument_id),
    "engine_events": KindSpec("engine_events", EngineEvent.__table__, EngineEvent.ts),
    "audit": KindSpec("audit", AuditRecord.__table__, AuditRecord.created_at),
    "exports": KindSpec("exports", Job.__table__, Job.created_at, extra_where=_export_finished,
                        numeric_id=False),
    "report_files": KindSpec("report_files", ReportRun.__table__, ReportRun.created_at),
}
assert set(SPECS) == set(RETENTION_KINDS) == set(DEFAULT_DAYS) == set(RUN_ORDER)


def supports(kind: str, selector: str) -> bool:
    """Whether a hold item of `kind` may filter on `selector` (account / instrument)."""
    spec = SPECS[kind]
    return {"account": spec.account is not None, "instrument": spec.instrument is not None,
            "record": spec.numeric_id}.get(selector, True)


def _covered(kind: str, record_id, account, instrument, when) -> sa.ColumnElement:
    item, hold = LegalHoldItem, LegalHold
    conditions = [item.kind == kind, hold.released_at.is_(None),
                  sa.or_(item.record_id.is_(None), item.record_id == record_id) if record_id is not None
                  else item.record_id.is_(None),
                  sa.or_(item.time_from.is_(None), when >= item.time_from),
                  sa.or_(item.time_to.is_(None), when <= item.time_to)]
    conditions.append(item.account_id.is_(None) if account is None
                      else sa.or_(item.account_id.is_(None), item.account_id == account))
    conditions.append(item.instrument_id.is_(None) if instrument is None
                      else sa.or_(item.instrument_id.is_(None), item.instrument_id == instrument))
    return sa.exists(sa.select(1).select_from(item).join(hold, hold.id == item.hold_id).where(*conditions)
                     .correlate_except(item, hold))


def held(kind: str) -> sa.ColumnElement:
    """True for a row of `kind` that an unreleased hold covers. A hold on an order covers its fills too."""
    spec = SPECS[kind]
    account = spec.account() if spec.account else None
    clause = _covered(kind, spec.id_col if spec.numeric_id else None, account, spec.instrument, spec.time_col)
    if kind == "fills":
        clause = sa.or_(clause, _covered("orders", Fill.order_id, account, Fill.instrument_id, Fill.filled_at))
    return clause


def older_than(kind: str, cutoff) -> list:
    spec = SPECS[kind]
    return [spec.time_col < cutoff, *spec.extra_where()]
