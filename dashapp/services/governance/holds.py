"""Legal holds: a case keeps the records it covers from retention until it is released.

A hold has items, each in one kind of record: one record by id, or a filter (account, instrument,
time range). A record may be under several holds; it can be deleted only when none of them is
active (record_kinds.held). Creating and releasing a hold are audited; LEGAL_HOLD_MANAGE at the edges.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit, mfa
from dashapp.services.bounds import has_control_characters
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.governance.record_kinds import LABELS, RUN_ORDER, SPECS, held, supports
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.retention import LegalHold, LegalHoldItem

MAX_ITEMS = 50
MAX_ID = 2**62
_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _text(value, field: str, max_len: int, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise ValidationError(f"{field.replace('_', ' ')} must be text", field=field)
    if required and not text:
        raise ValidationError(f"{field.replace('_', ' ')} is required", field=field)
    if len(text) > max_len:
        raise ValidationError(f"{field.replace('_', ' ')} must be at most {max_len} characters", field=field)
    if has_control_characters(text):
        raise ValidationError(f"{field.replace('_', ' ')} must not contain control characters", field=field)
    return text


def _positive_id(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationError(f"{field.replace('_', ' ')} must be a positive whole number", field=field)
    return value


def _when(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{field.replace('_', ' ')} must be an ISO date or time", field=field) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{field.replace('_', ' ')} must be a date or time", field=field)
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not _EARLIEST <= value <= datetime(2200, 1, 1, tzinfo=timezone.utc):
        raise ValidationError(f"{field.replace('_', ' ')} must lie between 1970 and 2200", field=field)
    return value


def clean_item(raw: dict) -> dict:
    """One item as given at an edge -> validated columns (names the field on error)."""
    if not isinstance(raw, dict):
        raise ValidationError("each item must be an object", field="items")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in SPECS:
        raise ValidationError(f"kind must be one of {', '.join(RUN_ORDER)}", field="kind")
    item = {"kind": kind, "record_id": _positive_id(raw.get("record_id"), "record_id"),
            "account_id": _positive_id(raw.get("account_id"), "account_id"),
            "instrument_id": _positive_id(raw.get("instrument_id"), "instrument_id"),
            "time_from": _when(raw.get("time_from"), "time_from"), "time_to": _when(raw.get("time_to"), "time_to")}
    for selector in ("record", "account", "instrument"):
        if item[f"{selector}_id"] is not None and not supports(kind, selector):
            raise ValidationError(f"{LABELS[kind].lower()} cannot be held by {selector}: choose a time range",
                                  field=f"{selector}_id")
    if not any(v is not None for k, v in item.items() if k != "kind"):
        raise ValidationError("an item needs a record id or a filter (account, instrument, time range)",
                              field="record_id")
    if item["time_from"] and item["time_to"] and item["time_from"] > item["time_to"]:
        raise ValidationError("time from must not be after time to", field="time_from")
    return item


def create_hold(actor: str, case_name, reason, items: list) -> LegalHold:
    case = _text(case_name, "case_name", 120, True)
    why = _text(reason, "reason", 500, True)
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise ValidationError(f"a hold needs between 1 and {MAX_ITEMS} items", field="items")
    cleaned = [clean_item(item) for item in items]
    mfa.require_fresh(actor, "creating a legal hold")
    with unit_of_work() as session:
        hold = LegalHold(case_name=case, reason=why, created_by=actor, created_at=utcnow())
        session.add(hold)
        session.flush()
        for item in cleaned:
            session.add(LegalHoldItem(hold_id=hold.id, **item))
        session.flush()
        audit.record(actor, "legal_hold.create", f"legal_hold:{hold.id}",
                     {"case": case, "reason": why, "items": [_describe(i) for i in cleaned]})
    return hold


def release_hold(actor: str, hold_id: int) -> LegalHold:
    mfa.require_fresh(actor, "releasing a legal hold")
    with unit_of_work() as session:
        hold = session.get(LegalHold, hold_id)
        if hold is None:
            raise NotFound(f"no legal hold {hold_id}", field="hold_id")
        if hold.released_at is not None:
            raise Conflict(f"legal hold {hold_id} ({hold.case_name}) was already released", field="hold_id")
        hold.released_at, hold.released_by = utcnow(), actor
        audit.record(actor, "legal_hold.release", f"legal_hold:{hold.id}", {"case": hold.case_name})
    return hold


def _describe(item: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in item.items() if v is not None}


def describe_item(item: LegalHoldItem) -> str:
    parts = []
    if item.record_id is not None:
        parts.append(f"#{item.record_id}")
    if item.account_id is not None:
        parts.append(f"account {item.account_id}")
    if item.instrument_id is not None:
        parts.append(f"instrument {item.instrument_id}")
    if item.time_from or item.time_to:
        start = f"{item.time_from:%Y-%m-%d %H:%M}" if item.time_from else "…"
        end = f"{item.time_to:%Y-%m-%d %H:%M}" if item.time_to else "…"
        parts.append(f"{start} to {end}")
    return f"{LABELS[item.kind]}: {', '.join(parts)}"


def list_holds(include_released: bool = True) -> list[dict]:
    stmt = sa.select(LegalHold).order_by(LegalHold.released_at.is_not(None), LegalHold.id.desc()).limit(500)
    if not include_released:
        stmt = stmt.where(LegalHold.released_at.is_(None))
    holds = list(db.session.execute(stmt).scalars())
    items: dict[int, list[LegalHoldItem]] = {}
    if holds:
        for item in db.session.execute(sa.select(LegalHoldItem).where(
                LegalHoldItem.hold_id.in_([h.id for h in holds])).order_by(LegalHoldItem.id)).scalars():
            items.setdefault(item.hold_id, []).append(item)
    return [{"id": h.id, "case_name": h.case_name, "reason": h.reason, "created_by": h.created_by,
             "created_at": h.created_at, "released_at": h.released_at, "released_by": h.released_by,
             "items": [describe_item(i) for i in items.get(h.id, [])]} for h in holds]


def held_counts() -> dict[str, int]:
    """How many stored records active holds cover now, per kind (whatever their age)."""
    counts = {}
    for kind in RUN_ORDER:
        spec = SPECS[kind]
        counts[kind] = int(db.session.execute(sa.select(sa.func.count()).select_from(spec.table)
                                              .where(held(kind))).scalar())
    return counts


def preview_items(items: list) -> list[dict]:
    """What a hold with these items would cover now: counts per kind, oldest and newest."""
    cleaned = [clean_item(item) for item in items]
    result = []
    for item in cleaned:
        spec = SPECS[item["kind"]]
        conditions = []
        if item["record_id"] is not None:
            conditions.append(spec.id_col == item["record_id"])
        if item["account_id"] is not None:
            conditions.append(spec.account() == item["account_id"])
        if item["instrument_id"] is not None:
            conditions.append(spec.instrument == item["instrument_id"])
        if item["time_from"] is not None:
            conditions.append(spec.time_col >= item["time_from"])
        if item["time_to"] is not None:
            conditions.append(spec.time_col <= item["time_to"])
        count, oldest, newest = db.session.execute(sa.select(sa.func.count(), sa.func.min(spec.time_col),
                                                             sa.func.max(spec.time_col)).where(*conditions)).one()
        result.append({"item": _describe(item), "label": LABELS[item["kind"]], "count": int(count),
                       "oldest": oldest, "newest": newest})
    return result
