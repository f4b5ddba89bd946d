"""Pydantic field types that carry the domain bounds (`bounds.py`) to every edge that validates input:
ingest items, API bodies, job and export parameters. Static bounds (magnitudes, lengths, control
characters, integer ranges) live in the type, so pydantic's compiled core checks them and they show
in the JSON Schema / OpenAPI document; the bounds that depend on the clock or on several values of a
batch (timestamp window, subnormals) are checked per batch in `ingest/validation.py`.

Numbers are strict: a quantity is a JSON number, never "10" or true (an int is still a valid float).
"""
from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from dashapp.services import bounds

# The smallest normal float: a positive value below it is subnormal (precision silently lost, and a
# division by it overflows), so positive fields start here.
MIN_NORMAL = sys.float_info.min
# No C0/C1 control characters and no DEL (bounds.has_control_characters), as a pattern pydantic's core
# checks in Rust and the OpenAPI document shows.
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
CONTROL_MESSAGE = "must not contain control characters (C0, C1 or DEL)"
# An engine's id, as ingest batches, API tokens' bindings and control rows carry it (String(32)).
ENGINE_ID_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"


def _number(**bound) -> Field:
    return Field(strict=True, allow_inf_nan=False, **bound)


# Magnitudes: `Price` and friends are > 0 (from the smallest normal float), `Size` may be 0.
Price = Annotated[float, _number(ge=MIN_NORMAL, le=bounds.MAX_ABS_PRICE)]
Quantity = Annotated[float, _number(ge=MIN_NORMAL, le=bounds.MAX_QTY)]
Size = Annotated[float, _number(ge=0, le=bounds.MAX_QTY)]
Fee = Annotated[float, _number(ge=0, le=bounds.MAX_ABS_AMOUNT)]
Amount = Annotated[float, _number(ge=-bounds.MAX_ABS_AMOUNT, le=bounds.MAX_ABS_AMOUNT)]
NonNegativeAmount = Annotated[float, _number(ge=0, le=bounds.MAX_ABS_AMOUNT)]
Fraction = Annotated[float, _number(ge=0, le=1)]
Int32 = Annotated[int, Field(strict=True, ge=-bounds.INT32_MAX - 1, le=bounds.INT32_MAX)]
NonNegativeInt32 = Annotated[int, Field(strict=True, ge=0, le=bounds.INT32_MAX)]


def text(max_length: int = bounds.MAX_TEXT, min_length: int = 0):
    """Free text: bounded length, no control characters."""
    return Annotated[str, Field(min_length=min_length, max_length=min(max_length, bounds.MAX_TEXT),
                                pattern=NO_CONTROL)]


def json_problem(value: Any) -> str | None:
    """Why a nested JSON value (event data, details, params) may not be stored, or None.

    The value is walked without recursion (a deeply nested one cannot exhaust the stack) and gives
    up early on depth or on more values than could fit the size; then control characters in keys and
    strings, and the serialised size."""
    stack = [(value, 1)]
    strings: list[str] = []
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > bounds.MAX_JSON_BYTES // 2:  # every value costs at least 2 bytes serialised ("1,")
            return f"is larger than {bounds.MAX_JSON_BYTES} bytes as JSON"
        if isinstance(node, dict):
            if depth > bounds.MAX_JSON_DEPTH:
                return f"is nested deeper than {bounds.MAX_JSON_DEPTH} levels"
            strings.extend(k for k in node if isinstance(k, str))
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            if depth > bounds.MAX_JSON_DEPTH:
                return f"is nested deeper than {bounds.MAX_JSON_DEPTH} levels"
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            strings.append(node)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > bounds.INT64_MAX:
                return "holds an integer outside the 64-bit range"
        elif isinstance(node, float):
            if not math.isfinite(node):
                return "must not contain NaN or Infinity"
        else:
            return f"holds a value that is not JSON ({type(node).__name__})"
    if any(bounds.has_control_characters(s) for s in strings):
        return CONTROL_MESSAGE
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError):
        return "is not valid JSON"
    if size > bounds.MAX_JSON_BYTES:
        return f"is larger than {bounds.MAX_JSON_BYTES} bytes as JSON ({size})"
    return None


def _bounded_json(value):
    problem = json_problem(value)
    if problem is not None:
        raise PydanticCustomError("json_bounds", "nested JSON {problem}", {"problem": problem})
    return value


# A JSON object field (event data, engine detail, strategy params, job params).
JsonObject = Annotated[dict, AfterValidator(_bounded_json),
                       Field(json_schema_extra={"x-max-depth": bounds.MAX_JSON_DEPTH,
                                                "x-max-bytes": bounds.MAX_JSON_BYTES})]
