"""The OpenAPI 3.1 document of /api/v1, built from what is really mounted: every route under
/api/ in the Flask URL map (with the permission its view declares) and, for ingest, the pydantic
item models themselves (their JSON Schema is what validation enforces)."""
from __future__ import annotations

import re

from flask import Flask
from pydantic.json_schema import models_json_schema

from dashapp.services.ingest.service import KINDS, MAX_ITEMS

_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(ok: str) -> dict:
    json_error = {"content": {"application/json": {"schema": ERROR}}}
    return {"200": {"description": ok}, "401": {"description": "no or bad credentials", **json_error},
            "403": {"description": "the role lacks the permission", **json_error},
            "404": {"description": "not found", **json_error},
            "422": {"description": "invalid input: `field` and `details` name what", **json_error}}


def _operation(endpoint: str, view, method: str, path_args: list[str]) -> dict:
    perm = getattr(view, "required_permission", None)
    doc = (view.__doc__ or view.__name__).strip().splitlines()[0]
    return {"summary": doc, "operationId": f"{method}_{endpoint.replace('.', '_')}",
            "x-permission": perm.value if perm is not None else None,
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}}
                           for a in path_args],
            "responses": _responses("success")}


def _ingest_paths(schema_refs: dict) -> dict:
    paths = {}
    for kind, (model, _writer) in KINDS.items():
        body = {"type": "object", "required": ["engine_id", "items"], "additionalProperties": False,
                "properties": {"engine_id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"},
                               "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                                         "items": schema_refs[model.__name__]}}}
        paths[f"/api/v1/ingest/{kind}"] = {"post": {
            "summary": f"Store a batch of {kind.replace('_', ' ')} (atomic: all or none; repeats stored once)",
            "operationId": f"ingest_{kind}", "x-permission": "ingest:write", "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {**_responses("counts: received, stored, updated, duplicates"),
                          "200": {"description": "stored", "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/IngestResult"}}}}},
        }}
    return paths


def document(server: Flask) -> dict:
    models = [(model, "validation") for model, _ in KINDS.values()]
    refs, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schema_refs = {model.__name__: ref for (model, _mode), ref in refs.items()}
    paths: dict = {}
    for rule in server.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "api_v1.ingest":
            continue
        view = server.view_functions[rule.endpoint]
        path = _ARG.sub(r"{\1}", rule.rule)
        args = _ARG.findall(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.endpoint, view, method.lower(), args)
    paths.update(_ingest_paths(schema_refs))
    schemas = dict(definitions.get("$defs", {}))
    schemas["Error"] = {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": ["integer", "null"]}, "field": {"type": "string"}, "message": {"type": "string"}}}}}}
    schemas["IngestResult"] = {"type": "object", "properties": {k: {"type": "integer"} for k in (
        "received", "stored", "updated", "duplicates")} | {"kind": {"type": "string"}, "engine_id": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Trading Desk Cockpit API", "version": "1",
                 "description": "Every endpoint names the permission it needs (`x-permission`); a bearer token acts "
                                "with its owner's role. Errors are JSON naming the field."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (Admin page)"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }
