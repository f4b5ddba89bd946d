"""The OpenAPI 3.1 document of /api/v1, built from what is really mounted: every route under
/api/ in the Flask URL map (with the permission its view declares) and, for ingest and control
actions, the pydantic models themselves (their JSON Schema, bounds included: minimum/maximum,
maxLength, pattern, is what validation enforces)."""
from __future__ import annotations

import re

from flask import Flask
from pydantic.json_schema import models_json_schema

from dashapp.services.fields import ENGINE_ID_PATTERN
from dashapp.services.ingest.service import KINDS, MAX_ITEMS

_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(ok: str) -> dict:
    json_error = {"content": {"application/json": {"schema": ERROR}}}
    return {"200": {"description": ok}, "401": {"description": "no or bad credentials", **json_error},
            "403": {"description": "the role lacks the permission", **json_error},
            "404": {"description": "not found", **json_error},
            "413": {"description": "the body is larger than COCKPIT_MAX_BODY_BYTES", **json_error},
            "422": {"description": "invalid input: `field` and `details` name what", **json_error}}


def _operation(endpoint: str, view, method: str, path_args: list[str]) -> dict:
    perm = getattr(view, "required_permission", None)
    doc = (view.__doc__ or view.__name__).strip().splitlines()[0]
    return {"summary": doc, "operationId": f"{method}_{endpoint.replace('.', '_')}",
            "x-permission": perm.value if perm is not None else None,
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [{"name": a, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(a, {"type": "string"})}
                           for a in path_args],
            "responses": _responses("success")}


# Path values the views check before any service sees them (a bad one is 422 naming it).
_PATH_SCHEMAS = {"engine_id": {"type": "string", "pattern": ENGINE_ID_PATTERN}}
_CONTROL_BODIES = ("api_v1.engine_action", "api_v1.kill_switch_action")


def _ingest_paths(schema_refs: dict) -> dict:
    paths = {}
    for kind, (model, _writer) in KINDS.items():
        body = {"type": "object", "required": ["engine_id", "items"], "additionalProperties": False,
                "properties": {"engine_id": {"type": "string", "pattern": ENGINE_ID_PATTERN,
                                             "description": "one of the engine ids the API token is bound to"},
                               "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                                         "items": schema_refs[model.__name__]}}}
        paths[f"/api/v1/ingest/{kind}"] = {"post": {
            "summary": f"Store a batch of {kind.replace('_', ' ')} (atomic: all or none; repeats stored once)",
            "description": "Every item is checked against its schema's bounds (and timestamps against the accepted "
                           "window); fills must fit their order's remaining quantity and child orders their "
                           "parent. A refusal is 422 naming each item (`index`) and `field`; nothing is stored. "
                           "A token may report only for the engine ids bound to it (403, field `engine_id`).",
            "operationId": f"ingest_{kind}", "x-permission": "ingest:write", "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {**_responses("counts: received, stored, updated, duplicates"),
                          "200": {"description": "stored", "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/IngestResult"}}}}},
        }}
    return paths


def document(server: Flask) -> dict:
    from dashapp.api.v1 import ControlBody

    models = [(model, "validation") for model, _ in KINDS.values()] + [(ControlBody, "validation")]
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
            operation = _operation(rule.endpoint, view, method.lower(), args)
            if rule.endpoint in _CONTROL_BODIES:
                operation["requestBody"] = {"required": False, "content": {"application/json": {
                    "schema": schema_refs["ControlBody"]}}}
            paths.setdefault(path, {})[method.lower()] = operation
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
