"""Ingest: validated, atomic, idempotent batches of everything engines report.

`ingest_batch(kind, engine_id, items)` validates every item first (a bad batch is refused whole,
naming each bad item and field), resolves natural keys (symbols, codes, the engine's own ids) to
rows, and writes the batch in one transaction. Re-sending a batch stores it once: every kind has a
natural unique key and writes skip what is stored (or apply a last-writer-wins update for orders
and engine state, whose content legitimately changes). `ingest_json(kind, body)` is the same for a
raw REST request body.

Modules: `schemas` (item models, the documented schema), `validation` (whole-batch validation),
`resolve` (natural keys -> ids), `streams` / `writers` (one writer per kind), `bulk` (COPY and
executemany writes).
"""
from dashapp.services.ingest.service import KINDS, IngestResult, ingest_batch, ingest_json

__all__ = ["KINDS", "IngestResult", "ingest_batch", "ingest_json"]
