"""The ingest entry point shared by the REST API, the paper engine's client and the demo seeder."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from pydantic import ValidationError as PydanticError

from dashapp.services.errors import PermissionDenied, ValidationError
from dashapp.services.fields import ENGINE_ID_PATTERN
from dashapp.services.ingest import schemas, streams, validation, writers
from dashapp.services.unit_of_work import unit_of_work

MAX_ITEMS = 20_000
ENGINE_ID_RE = re.compile(ENGINE_ID_PATTERN)

# kind -> (item schema, writer). Order matters only for people reading it: reference data first.
KINDS = {
    "accounts": (schemas.AccountIn, writers.write_accounts),
    "venues": (schemas.VenueIn, writers.write_venues),
    "strategies": (schemas.StrategyIn, writers.write_strategies),
    "instruments": (schemas.InstrumentIn, writers.write_instruments),
    "quotes": (schemas.QuoteIn, streams.write_quotes),
    "bars": (schemas.BarIn, streams.write_bars),
    "signals": (schemas.SignalIn, streams.write_signals),
    "risk_decisions": (schemas.RiskDecisionIn, streams.write_risk_decisions),
    "orders": (schemas.OrderIn, streams.write_orders),
    "fills": (schemas.FillIn, writers.write_fills),
    "engine_state": (schemas.EngineStateIn, writers.write_engine_state),
    "events": (schemas.EventIn, streams.write_events),
    "pnl_snapshots": (schemas.PnlSnapshotIn, streams.write_pnl_snapshots),
}
# Each kind's batch validator (built once: compiling a pydantic schema takes milliseconds).
_ADAPTERS = {kind: validation.batch_adapter(schema) for kind, (schema, _) in KINDS.items()}
_ENVELOPES = {kind: validation.envelope_adapter(schema, MAX_ITEMS) for kind, (schema, _) in KINDS.items()}
_RULES = {kind: validation.batch_rules(schema) for kind, (schema, _) in KINDS.items()}


@dataclass(frozen=True)
class IngestResult:
    kind: str
    engine_id: str
    received: int
    stored: int
    updated: int

    @property
    def duplicates(self) -> int:
        return self.received - self.stored - self.updated

    def to_dict(self) -> dict:
        return {**asdict(self), "duplicates": self.duplicates}


def parse_items(kind: str, items) -> list[dict]:
    """The batch's items as validated dicts (defaults filled in), or a ValidationError naming each bad one."""
    if kind not in KINDS:
        raise ValidationError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}", field="kind")
    if not isinstance(items, list) or not items:
        raise ValidationError("items must be a non-empty list", field="items")
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"a batch holds at most {MAX_ITEMS} items, not {len(items)}: split it", field="items")
    parsed = validation.validate(_ADAPTERS[kind], items)
    validation.check_batch(_RULES[kind], parsed)
    return parsed


def ingest_batch(kind: str, engine_id: str, items, engines: frozenset[str] | None = None) -> IngestResult:
    """Validate the whole batch, then store it in one transaction (all of it or none).

    `engines`: the engine ids the caller may report for (an API token's binding); None when the
    caller is trusted in-process code (the demo seeder) or a person's session."""
    _check_engine_id(engine_id)
    _check_binding(engine_id, engines)
    return _store(kind, engine_id, parse_items(kind, items))


def ingest_json(kind: str, body: bytes, engines: frozenset[str] | None = None) -> IngestResult:
    """`ingest_batch` for a raw JSON request body `{"engine_id": ..., "items": [...]}`.

    A well-formed body is parsed and validated in one pass of pydantic's core, straight from the
    bytes. Anything that pass refuses is parsed again the ordinary way and goes through
    `ingest_batch`, so a bad request gets exactly the refusal (and wording) it always got."""
    envelope = _ENVELOPES.get(kind)
    if envelope is not None:
        try:
            batch = envelope.validate_json(body)
        except PydanticError:
            pass
        else:
            engine_id = batch["engine_id"]
            if _valid_engine_id(engine_id):
                _check_binding(engine_id, engines)
                validation.check_batch(_RULES[kind], batch["items"])
                return _store(kind, engine_id, batch["items"])
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):  # a nesting bomb exhausts the parser's stack: bad input, not a crash
        decoded = None
    if not isinstance(decoded, dict):
        raise ValidationError("body must be a JSON object with engine_id and items", field="body")
    return ingest_batch(kind, decoded.get("engine_id"), decoded.get("items"), engines)


def _valid_engine_id(engine_id) -> bool:
    return isinstance(engine_id, str) and ENGINE_ID_RE.match(engine_id) is not None


def _check_engine_id(engine_id) -> None:
    if not _valid_engine_id(engine_id):
        raise ValidationError("engine_id must be 1-32 letters, digits, '.', '_' or '-'", field="engine_id")


def _check_binding(engine_id: str, engines: frozenset[str] | None) -> None:
    if engines is not None and engine_id not in engines:
        bound = ", ".join(sorted(engines)) or "no engine"
        raise PermissionDenied(f"this API token may report only for {bound}, not {engine_id!r}", field="engine_id")


def _store(kind: str, engine_id: str, parsed: list[dict]) -> IngestResult:
    writer = KINDS[kind][1]
    with unit_of_work():
        stored, updated = writer(engine_id, parsed)
    return IngestResult(kind, engine_id, len(parsed), stored, updated)
