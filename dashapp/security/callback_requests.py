"""Crafted POSTs to /_dash-update-component: refused with a 4xx before, and contained after, Dash.

Dash trusts the body its renderer sends. A hostile client can send anything: a list instead of an
object, no `output`, `inputs` that belong to another callback or have the wrong shape, a dict where
a click count goes, a megabyte string. Two layers keep every such request out of the 5xx range:

1. `body_problem` (called by the request guard, before Dash parses the body) checks the body
   against the callback it names: the outputs, inputs and state must be the ones that callback was
   registered with, in order, and each value must have the type its property has in the browser
   (`PROP_TYPES`, e.g. `n_clicks` is a whole number >= 0) and stay within size bounds.
2. `contain_dispatch_errors` wraps Dash's dispatch view. A value can pass (1) and still not be what
   a callback expects (a dict where a dropdown sends text). The TypeError/ValueError/KeyError/...
   that follows is answered 400 "malformed callback input", and logged at ERROR with the traceback
   and the callback name, so a real bug is still seen in the logs; tests that drive callbacks
   assert a 200 and browser tests assert an empty console, so a bug cannot hide there either.
   Anything else (a database error, say) stays a 500: that is the server's fault, not the input's.
"""
from __future__ import annotations

import functools
import json
import logging

from flask import current_app, jsonify, request
from sqlalchemy.exc import DataError, InvalidRequestError
from werkzeug.exceptions import HTTPException

from dashapp.services.errors import ServiceError

log = logging.getLogger("cockpit.callbacks")

MAX_OUTPUT_KEY = 4000
MAX_STRING = 64 * 1024  # one text value; an order note or a report's recipient list is far below
MAX_DEPTH = 64  # component trees (a `children` input) nest deep, but not this deep
MAX_EXACT_INT = 2**53

# What each property is in the browser. A property not listed here (value, data, children, ...)
# may legitimately hold several types; only the size bounds apply to it.
_COUNT = "count"
PROP_TYPES = {
    "n_clicks": _COUNT, "n_intervals": _COUNT, "n_submit": _COUNT, "n_blur": _COUNT,
    "submit_n_clicks": _COUNT, "cancel_n_clicks": _COUNT,
    "pathname": "path", "search": str, "hash": str, "href": str,
    "selectedRows": list, "rowData": list, "getRowsRequest": dict, "cellClicked": dict,
    "cellValueChanged": list, "columnDefs": list,
}
# Errors that a malformed value makes a callback raise (see the module doc).
# sqlalchemy's DataError is the database refusing a value (out of range, wrong type): input too.
INPUT_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, DataError)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _bounded(value, where: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise Refused(400, f"{where} is nested too deeply")
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise Refused(400, f"{where} is longer than {MAX_STRING} characters")
        if "\x00" in value:  # never part of real text; PostgreSQL refuses it with an error
            raise Refused(400, f"{where} contains a NUL character")
    elif isinstance(value, int) and not isinstance(value, bool):
        # A browser's numbers are doubles: an integer beyond 2**53 is not exact there, and beyond
        # 2**63 no database column takes it.
        if abs(value) > MAX_EXACT_INT:
            raise Refused(400, f"{where} is beyond ±2**53")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Refused(400, f"{where} is not a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            _bounded(key, where, depth + 1)
            _bounded(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _bounded(item, where, depth + 1)


def _typed(prop: str, value, where: str) -> None:
    expected = PROP_TYPES.get(prop.split("@")[0])
    if expected is None or value is None:
        return
    if expected is _COUNT:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise Refused(400, f"{where} must be a whole number >= 0")
    elif expected == "path":  # a location's pathname always starts at the root
        if not isinstance(value, str) or not value.startswith("/"):
            raise Refused(400, f"{where} must be a path starting with '/'")
    elif not isinstance(value, expected):
        raise Refused(400, f"{where} must be a {expected.__name__}")


def _parse_id(raw: str):
    """A registered id: a plain string, or the JSON of a pattern-matching dict id."""
    if raw.startswith("{"):
        return json.loads(raw)
    return raw


def _matches(spec_id, sent_id) -> bool:
    if isinstance(spec_id, str):
        return sent_id == spec_id
    if not isinstance(sent_id, dict) or set(sent_id) != set(spec_id):
        return False
    # Wildcards are sent as ["ALL"], ["MATCH"], ...: only the fixed keys must agree.
    return all(isinstance(want, list) or sent_id[key] == want for key, want in spec_id.items())


def _check_item(item, spec: dict, where: str) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise Refused(400, f"{where} must be an object with id, property and value")
    if item["property"] != spec["property"] or not _matches(_parse_id(spec["id"]), item.get("id")):
        raise Refused(400, f"{where} is not {spec['id']}.{spec['property']}")
    where = f"{where} ({spec['id'][:80]}.{spec['property']})"
    _bounded(item.get("value"), where)
    _typed(item["property"], item.get("value"), where)


def _check_list(sent, specs: list[dict], field: str) -> None:
    if not isinstance(sent, list) or len(sent) != len(specs):
        raise Refused(400, f"{field} must list the callback's {len(specs)} {field}")
    for index, (item, spec) in enumerate(zip(sent, specs)):
        where = f"{field}[{index}]"
        if isinstance(_parse_id(spec["id"]), dict) and isinstance(item, list):
            for sub, element in enumerate(item):  # ALL / ALLSMALLER: one entry per matching component
                _check_item(element, spec, f"{where}[{sub}]")
        else:
            _check_item(item, spec, where)


def _check_outputs(sent, output_key: str) -> None:
    expected = output_key.strip(".").split("...") if output_key.startswith("..") else [output_key]
    items = sent if isinstance(sent, list) else [sent]
    if len(items) != len(expected):
        raise Refused(400, f"outputs must list the callback's {len(expected)} outputs")
    for index, (item, key) in enumerate(zip(items, expected)):
        if isinstance(item, list):  # pattern-matching outputs: one entry per matching component
            if not all(isinstance(sub, dict) and isinstance(sub.get("property"), str) for sub in item):
                raise Refused(400, f"outputs[{index}] must be objects with id and property")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("property"), str):
            raise Refused(400, f"outputs[{index}] must be an object with id and property")
        # `allow_duplicate` outputs carry an "@<hash>" suffix in the key; compare without it.
        if isinstance(item.get("id"), str) and f"{item['id']}.{item['property']}".split("@")[0] != key.split("@")[0]:
            raise Refused(400, f"outputs[{index}] is not {key.split('@')[0]}")


def named_output(body) -> str | Refused:
    """The callback key the body names, or why it names none."""
    if not isinstance(body, dict):
        return Refused(400, "the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or not output or len(output) > MAX_OUTPUT_KEY:
        return Refused(400, "output must name a callback")
    return output


def body_problem(body: dict, entry: dict) -> Refused | None:
    """Why this body is refused for the registered callback `entry`, or None when it is well formed.
    Called after the permission check, so a role that may not call a callback learns nothing more."""
    output = body["output"]
    try:
        _check_outputs(body.get("outputs"), output)
        _check_list(body.get("inputs"), entry["inputs"], "inputs")
        _check_list(body.get("state", []), entry.get("state") or [], "state")
        changed = body.get("changedPropIds", [])
        if not isinstance(changed, list) or not all(isinstance(c, str) and len(c) < MAX_OUTPUT_KEY for c in changed):
            raise Refused(400, "changedPropIds must be a list of 'id.property' strings")
    except Refused as refused:
        return refused
    return None


def _caused_by_input(err: Exception) -> bool:
    # session.get() with an id of the wrong shape raises the bare InvalidRequestError; its
    # subclasses (a pending rollback, a closed result) are the server's state, not the input.
    return isinstance(err, INPUT_ERRORS) or type(err) is InvalidRequestError


def contain_dispatch_errors(server, endpoint: str = "/_dash-update-component") -> None:
    """Answer errors that malformed input causes inside a callback with a 4xx (see the module doc)."""
    dispatch = server.view_functions[endpoint]

    @functools.wraps(dispatch)
    def contained(*args, **kwargs):
        try:
            return dispatch(*args, **kwargs)
        except HTTPException:
            raise
        except ServiceError as err:  # a callback let a typed service error escape
            return jsonify(err.to_dict()), err.http_status
        except Exception as err:
            if not _caused_by_input(err):
                raise
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            log.error("callback %.200r failed on its input: %s", output, type(err).__name__, exc_info=True)
            current_app.logger.debug("refused callback body %.500r", body)
            return jsonify(error="Bad Request", message="malformed callback input"), 400

    server.view_functions[endpoint] = contained
